CREATE TABLE `config_epoch` (
	`id` integer PRIMARY KEY NOT NULL,
	`n` integer NOT NULL,
	CONSTRAINT "config_epoch_single_row" CHECK("config_epoch"."id" = 1)
);
--> statement-breakpoint
-- The row the triggers below count in; a database migrated from 0003 starts at 0 as well.
INSERT OR IGNORE INTO `config_epoch` (`id`, `n`) VALUES (1, 0);
--> statement-breakpoint
-- Every write to what an attestation reads (signing keys, active policy, policy versions,
-- reference values) moves the epoch in the same transaction, whichever connection writes
-- (the service, a replica, the CLI): stores cache what they decoded until it moves.
CREATE TRIGGER `config_epoch_signing_keys_insert` AFTER INSERT ON `signing_keys`
BEGIN UPDATE `config_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `config_epoch_signing_keys_update` AFTER UPDATE ON `signing_keys`
BEGIN UPDATE `config_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `config_epoch_signing_keys_delete` AFTER DELETE ON `signing_keys`
BEGIN UPDATE `config_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `config_epoch_active_policy_insert` AFTER INSERT ON `active_policy`
BEGIN UPDATE `config_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `config_epoch_active_policy_update` AFTER UPDATE ON `active_policy`
BEGIN UPDATE `config_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `config_epoch_active_policy_delete` AFTER DELETE ON `active_policy`
BEGIN UPDATE `config_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `config_epoch_policy_versions_insert` AFTER INSERT ON `policy_versions`
BEGIN UPDATE `config_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `config_epoch_policy_versions_update` AFTER UPDATE ON `policy_versions`
BEGIN UPDATE `config_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `config_epoch_policy_versions_delete` AFTER DELETE ON `policy_versions`
BEGIN UPDATE `config_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `config_epoch_reference_values_insert` AFTER INSERT ON `reference_values`
BEGIN UPDATE `config_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `config_epoch_reference_values_update` AFTER UPDATE ON `reference_values`
BEGIN UPDATE `config_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `config_epoch_reference_values_delete` AFTER DELETE ON `reference_values`
BEGIN UPDATE `config_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;
