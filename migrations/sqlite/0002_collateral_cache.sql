CREATE TABLE `collateral_documents` (
	`key` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`bytes` blob NOT NULL,
	`issuer_chain` text,
	`source` text NOT NULL,
	`fetched_at` integer NOT NULL,
	`next_update` integer,
	`immutable` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `collateral_documents_next_update` ON `collateral_documents` (`next_update`);