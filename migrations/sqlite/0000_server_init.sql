CREATE TABLE `api_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`scope` text NOT NULL,
	`hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_tokens_hash_unique` ON `api_tokens` (`hash`);--> statement-breakpoint
CREATE TABLE `attestations` (
	`id` text PRIMARY KEY NOT NULL,
	`created_at` integer NOT NULL,
	`tee` text NOT NULL,
	`status` text NOT NULL,
	`policy_name` text NOT NULL,
	`policy_version` integer NOT NULL,
	`policy_hash` text NOT NULL,
	`claims_digest` text,
	`token_jti` text,
	`client_address` text,
	`result` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `attestations_created_at` ON `attestations` (`created_at`);--> statement-breakpoint
CREATE TABLE `audit_log` (
	`seq` integer PRIMARY KEY NOT NULL,
	`at` integer NOT NULL,
	`action` text NOT NULL,
	`outcome` text NOT NULL,
	`actor` text NOT NULL,
	`subject` text,
	`tee` text,
	`client_address` text,
	`details` text NOT NULL,
	`prev_hash` text NOT NULL,
	`hash` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_log_at` ON `audit_log` (`at`);--> statement-breakpoint
CREATE TABLE `consumed_challenges` (
	`nonce` text PRIMARY KEY NOT NULL,
	`consumed_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `active_policy` (
	`id` integer PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`version` integer NOT NULL,
	`activated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `policy_versions` (
	`name` text NOT NULL,
	`version` integer NOT NULL,
	`hash` text NOT NULL,
	`source` text NOT NULL,
	`format` text NOT NULL,
	`created_at` integer NOT NULL,
	`created_by` text NOT NULL,
	PRIMARY KEY(`name`, `version`)
);
--> statement-breakpoint
CREATE TABLE `reference_values` (
	`name` text PRIMARY KEY NOT NULL,
	`values` text NOT NULL,
	`updated_at` integer NOT NULL,
	`updated_by` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `server_secrets` (
	`name` text PRIMARY KEY NOT NULL,
	`created_at` integer NOT NULL,
	`value` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `signing_keys` (
	`kid` text PRIMARY KEY NOT NULL,
	`created_at` integer NOT NULL,
	`retired_at` integer,
	`publish_until` integer,
	`public_jwk` text NOT NULL,
	`private_key` text NOT NULL
);
