// Attestation records on SQLite: each decision is one savepoint of the group commit of its
// event-loop turn (group-commit.ts), so the decisions of a turn share one commit and one WAL
// sync, and one refused at commit (a challenge consumed meanwhile) rolls back alone.

import { and, asc, gte, lte, sql } from 'drizzle-orm';
import type { AttestationRecord, AttestationRow, AttestationStorage } from '../store.ts';
import { appendEntries } from './audit.ts';
import { consumeIn } from './challenges.ts';
import type { Db } from './connection.ts';
import { lazy, rethrowMapped, run } from './errors.ts';
import type { GroupCommit } from './group-commit.ts';
import { attestations } from './schema/attestations.ts';

// Prepared once per database: one row per attestation.
function prepareInsert(db: Db) {
  const ph = (name: string) => sql.placeholder(name);
  return db
    .insert(attestations)
    .values({
      id: ph('id'),
      createdAt: ph('createdAt'),
      tee: ph('tee'),
      status: ph('status'),
      policyName: ph('policyName'),
      policyVersion: ph('policyVersion'),
      policyHash: ph('policyHash'),
      claimsDigest: ph('claimsDigest'),
      tokenJti: ph('tokenJti'),
      clientAddress: ph('clientAddress'),
      result: ph('result'),
    })
    .prepare();
}

export class SqliteAttestations implements AttestationStorage {
  private readonly insert = lazy(() => prepareInsert(this.db));

  constructor(
    private readonly db: Db,
    private readonly commits: GroupCommit,
  ) {}

  record(rec: AttestationRecord): Promise<void> {
    return this.commits.run(() => {
      const now = Date.now();
      consumeIn(this.db, rec.challenge, now);
      this.insert().run({ ...rec.attestation });
      appendEntries(this.db, rec.audit, now);
    }).catch(rethrowMapped);
  }

  between(since: number, until: number, limit: number): Promise<Pick<AttestationRow, 'status' | 'result'>[]> {
    return run(() =>
      this.db
        .select({ status: attestations.status, result: attestations.result })
        .from(attestations)
        .where(and(gte(attestations.createdAt, since), lte(attestations.createdAt, until)))
        .orderBy(asc(attestations.createdAt))
        .limit(limit)
        .all(),
    );
  }
}
