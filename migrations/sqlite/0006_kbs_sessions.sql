CREATE TABLE `kbs_sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`nonce` text NOT NULL,
	`tee` text NOT NULL,
	`state` text NOT NULL,
	`hash_alg` text NOT NULL,
	`tee_pubkey` text,
	`token` text,
	`attestation_id` text,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
