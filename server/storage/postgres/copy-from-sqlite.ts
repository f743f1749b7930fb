// `tessera db copy`: an existing SQLite deployment moved into an empty PostgreSQL database, row
// for row, in one transaction. The audit log is copied as stored (seq, prev_hash, hash), so
// the chain on the copy is the same chain: `audit verify` passes with the same head hash, and
// heads signed before the move still verify. Refuses a target that holds anything.

import type { SQLiteColumn, SQLiteTable } from 'drizzle-orm/sqlite-core';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { SqliteStore } from '../sqlite/index.ts';
import * as lite from '../sqlite/schema/index.ts';
import { secretVersions as liteSecretVersions } from '../sqlite/schema/secrets.ts';
import type { AuditPosition } from '../store.ts';
import type { PostgresStore } from './index.ts';
import { AUDIT_LOCK, LOCK_CLASS } from './locks.ts';
import * as pgs from './schema/index.ts';

/** The tables copied, each with the column(s) it is paged by. The rate-limit windows and config_epoch are not state to move. */
const TABLES: { name: string; from: SQLiteTable; to: PgTable; order: SQLiteColumn[] }[] = [
  { name: 'audit_log', from: lite.auditLog, to: pgs.auditLog, order: [lite.auditLog.seq] },
  { name: 'api_tokens', from: lite.apiTokens, to: pgs.apiTokens, order: [lite.apiTokens.id] },
  { name: 'signing_keys', from: lite.signingKeys, to: pgs.signingKeys, order: [lite.signingKeys.kid] },
  { name: 'server_secrets', from: lite.serverSecrets, to: pgs.serverSecrets, order: [lite.serverSecrets.name] },
  { name: 'policy_versions', from: lite.policyVersions, to: pgs.policyVersions, order: [lite.policyVersions.name, lite.policyVersions.version] },
  { name: 'active_policy', from: lite.activePolicy, to: pgs.activePolicy, order: [lite.activePolicy.id] },
  { name: 'reference_values', from: lite.referenceValues, to: pgs.referenceValues, order: [lite.referenceValues.name] },
  { name: 'secret_versions', from: liteSecretVersions, to: pgs.secretVersions, order: [liteSecretVersions.name, liteSecretVersions.version] },
  { name: 'attestations', from: lite.attestations, to: pgs.attestations, order: [lite.attestations.id] },
  { name: 'consumed_challenges', from: lite.consumedChallenges, to: pgs.consumedChallenges, order: [lite.consumedChallenges.nonce] },
  { name: 'collateral_documents', from: lite.collateralDocuments, to: pgs.collateralDocuments, order: [lite.collateralDocuments.key] },
];

const PAGE = 500;

export class TargetNotEmptyError extends Error {
  constructor(tables: string[]) {
    super(`the target database is not empty (${tables.join(', ')} hold rows): db copy only fills an empty tessera database`);
    this.name = 'TargetNotEmptyError';
  }
}

export interface CopyReport {
  rows: Record<string, number>;
  /** The audit head of the source, which the copy now has too. */
  head: AuditPosition;
}

export async function copySqliteToPostgres(source: SqliteStore, target: PostgresStore): Promise<CopyReport> {
  const head = await source.audit.head();
  return target.database.tx(async ({ client, db }) => {
    // No replica may append while the copy runs (one started on the target too early waits).
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_CLASS, AUDIT_LOCK]);
    const busy: string[] = [];
    for (const t of TABLES) {
      const { rows } = await client.query(`SELECT 1 FROM ${t.name} LIMIT 1`);
      if (rows.length > 0) busy.push(t.name);
    }
    if (busy.length > 0) throw new TargetNotEmptyError(busy);
    const counts: Record<string, number> = {};
    for (const t of TABLES) {
      let n = 0;
      for (let offset = 0; ; offset += PAGE) {
        const rows = source.db
          .select()
          .from(t.from)
          .orderBy(...t.order)
          .limit(PAGE)
          .offset(offset)
          .all() as Record<string, unknown>[];
        if (rows.length === 0) break;
        await db.insert(t.to).values(rows as never);
        n += rows.length;
        if (rows.length < PAGE) break;
      }
      counts[t.name] = n;
    }
    // The copy's head must be the source's: the chain arrived whole.
    const { rows } = await client.query<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    const copied = rows[0] ? { seq: Number(rows[0].seq), hash: rows[0].hash } : { seq: 0, hash: head.hash };
    if (copied.seq !== head.seq || copied.hash !== head.hash) throw new Error(`the copied audit head (${copied.seq} ${copied.hash}) is not the source's (${head.seq} ${head.hash}): nothing was copied`);
    return { rows: counts, head };
  });
}
