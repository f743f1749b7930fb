-- The audit log is append-only: refuse updates and deletes at the database level too, so a
-- bug or a stray admin query cannot rewrite history silently. (Someone with write access to
-- the file can still drop these triggers; the hash chain is what detects that.)
CREATE TRIGGER `audit_log_no_update` BEFORE UPDATE ON `audit_log`
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
--> statement-breakpoint
CREATE TRIGGER `audit_log_no_delete` BEFORE DELETE ON `audit_log`
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
