CREATE TABLE `secret_versions` (
	`name` text NOT NULL,
	`version` integer NOT NULL,
	`created_at` integer NOT NULL,
	`created_by` text NOT NULL,
	`description` text,
	`labels` text NOT NULL,
	`release_policy` text,
	`accept_policies` text,
	`accept_statuses` text NOT NULL,
	`value` text,
	`size` integer NOT NULL,
	`deleted_at` integer,
	`deleted_by` text,
	PRIMARY KEY(`name`, `version`)
);
