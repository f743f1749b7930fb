CREATE TABLE "api_tokens" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"scope" text NOT NULL,
	"hash" text NOT NULL,
	"created_at" bigint NOT NULL,
	"revoked_at" bigint,
	"expires_at" bigint,
	CONSTRAINT "api_tokens_hash_unique" UNIQUE("hash")
);
--> statement-breakpoint
CREATE TABLE "attestations" (
	"id" text PRIMARY KEY NOT NULL,
	"created_at" bigint NOT NULL,
	"tee" text NOT NULL,
	"status" text NOT NULL,
	"policy_name" text NOT NULL,
	"policy_version" integer NOT NULL,
	"policy_hash" text NOT NULL,
	"claims_digest" text,
	"token_jti" text,
	"client_address" text,
	"result" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit_log" (
	"seq" bigint PRIMARY KEY NOT NULL,
	"at" bigint NOT NULL,
	"action" text NOT NULL,
	"outcome" text NOT NULL,
	"actor" text NOT NULL,
	"subject" text,
	"tee" text,
	"client_address" text,
	"details" text NOT NULL,
	"prev_hash" text NOT NULL,
	"hash" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "consumed_challenges" (
	"nonce" text PRIMARY KEY NOT NULL,
	"consumed_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "collateral_documents" (
	"key" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"bytes" "bytea" NOT NULL,
	"issuer_chain" text,
	"source" text NOT NULL,
	"fetched_at" bigint NOT NULL,
	"next_update" bigint,
	"immutable" boolean NOT NULL
);
--> statement-breakpoint
CREATE TABLE "config_epoch" (
	"id" integer PRIMARY KEY NOT NULL,
	"n" bigint NOT NULL,
	CONSTRAINT "config_epoch_single_row" CHECK ("config_epoch"."id" = 1)
);
--> statement-breakpoint
CREATE TABLE "active_policy" (
	"id" integer PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"version" integer NOT NULL,
	"activated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "policy_versions" (
	"name" text NOT NULL,
	"version" integer NOT NULL,
	"hash" text NOT NULL,
	"source" text NOT NULL,
	"format" text NOT NULL,
	"created_at" bigint NOT NULL,
	"created_by" text NOT NULL,
	CONSTRAINT "policy_versions_name_version_pk" PRIMARY KEY("name","version")
);
--> statement-breakpoint
CREATE TABLE "rate_limit_windows" (
	"bucket" text NOT NULL,
	"address" text NOT NULL,
	"window_start" bigint NOT NULL,
	"count" integer NOT NULL,
	CONSTRAINT "rate_limit_windows_bucket_address_pk" PRIMARY KEY("bucket","address")
);
--> statement-breakpoint
CREATE TABLE "reference_values" (
	"name" text PRIMARY KEY NOT NULL,
	"values" text NOT NULL,
	"updated_at" bigint NOT NULL,
	"updated_by" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "secret_versions" (
	"name" text NOT NULL,
	"version" integer NOT NULL,
	"created_at" bigint NOT NULL,
	"created_by" text NOT NULL,
	"description" text,
	"labels" text NOT NULL,
	"release_policy" text,
	"accept_policies" text,
	"accept_statuses" text NOT NULL,
	"value" text,
	"size" integer NOT NULL,
	"deleted_at" bigint,
	"deleted_by" text,
	CONSTRAINT "secret_versions_name_version_pk" PRIMARY KEY("name","version")
);
--> statement-breakpoint
CREATE TABLE "server_secrets" (
	"name" text PRIMARY KEY NOT NULL,
	"created_at" bigint NOT NULL,
	"value" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "signing_keys" (
	"kid" text PRIMARY KEY NOT NULL,
	"created_at" bigint NOT NULL,
	"retired_at" bigint,
	"publish_until" bigint,
	"public_jwk" text NOT NULL,
	"private_key" text NOT NULL
);
--> statement-breakpoint
CREATE INDEX "attestations_created_at" ON "attestations" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "audit_log_at" ON "audit_log" USING btree ("at");--> statement-breakpoint
CREATE INDEX "collateral_documents_next_update" ON "collateral_documents" USING btree ("next_update");