-- The row the triggers below count in.
INSERT INTO config_epoch (id, n) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
--> statement-breakpoint
-- Every row written to what an attestation reads (signing keys, active policy, policy
-- versions, reference values) moves the epoch in the same transaction, whichever replica or
-- CLI writes: replicas cache what they decoded until it moves (server/storage/epoch-cached.ts).
-- Row-level, as migrations/sqlite/0004: a statement that changes no row moves nothing.
CREATE FUNCTION config_epoch_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE config_epoch SET n = n + 1 WHERE id = 1;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER config_epoch_signing_keys AFTER INSERT OR UPDATE OR DELETE ON signing_keys
FOR EACH ROW EXECUTE FUNCTION config_epoch_bump();
--> statement-breakpoint
CREATE TRIGGER config_epoch_active_policy AFTER INSERT OR UPDATE OR DELETE ON active_policy
FOR EACH ROW EXECUTE FUNCTION config_epoch_bump();
--> statement-breakpoint
CREATE TRIGGER config_epoch_policy_versions AFTER INSERT OR UPDATE OR DELETE ON policy_versions
FOR EACH ROW EXECUTE FUNCTION config_epoch_bump();
--> statement-breakpoint
CREATE TRIGGER config_epoch_reference_values AFTER INSERT OR UPDATE OR DELETE ON reference_values
FOR EACH ROW EXECUTE FUNCTION config_epoch_bump();
