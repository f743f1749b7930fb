// Consumed challenges on SQLite: the nonce is the primary key, so a second consumption finds
// it taken, whichever process or replica wrote the first.

import { eq, lt, sql } from 'drizzle-orm';
import { challengeExpiredAtCommit, challengeReplayed } from '../../challenge.ts';
import type { ChallengeStorage, ChallengeUse } from '../store.ts';
import type { Db } from './connection.ts';
import { rethrowMapped, run } from './errors.ts';
import type { GroupCommit } from './group-commit.ts';
import { consumedChallenges } from './schema/challenges.ts';

// Prepared once per database: both run on every attestation.
function prepareStatements(db: Db) {
  return {
    lookup: db
      .select({ n: consumedChallenges.nonce })
      .from(consumedChallenges)
      .where(eq(consumedChallenges.nonce, sql.placeholder('nonce')))
      .prepare(),
    consume: db
      .insert(consumedChallenges)
      .values({ nonce: sql.placeholder('nonce'), consumedAt: sql.placeholder('consumedAt'), expiresAt: sql.placeholder('expiresAt') })
      .onConflictDoNothing()
      .prepare(),
  };
}
const statements = new WeakMap<Db, ReturnType<typeof prepareStatements>>();
function prepared(db: Db) {
  let s = statements.get(db);
  if (!s) statements.set(db, (s = prepareStatements(db)));
  return s;
}

/**
 * Mark the challenge used, inside the caller's transaction, judged at `now` (the clock at the
 * commit, not at the request): the prune forgets the nonces of expired challenges, so a
 * request that opened the challenge in time but reaches its commit after a prune would
 * otherwise find no row and use the challenge a second time.
 */
export function consumeIn(db: Db, use: ChallengeUse, now: number): void {
  if (now >= use.expiresAt) throw challengeExpiredAtCommit(use.expiresAt);
  const result = prepared(db).consume.run({ nonce: use.nonce, consumedAt: now, expiresAt: use.expiresAt });
  if (result.changes !== 1) throw challengeReplayed();
}

export class SqliteChallenges implements ChallengeStorage {
  constructor(
    private readonly db: Db,
    private readonly commits: GroupCommit,
  ) {}

  isConsumed(nonce: string): Promise<boolean> {
    return run(() => prepared(this.db).lookup.get({ nonce }) !== undefined);
  }

  consume(use: ChallengeUse): Promise<void> {
    return this.commits.run(() => consumeIn(this.db, use, Date.now())).catch(rethrowMapped);
  }

  prune(now: number): Promise<number> {
    return run(() => this.db.delete(consumedChallenges).where(lt(consumedChallenges.expiresAt, now)).run().changes);
  }
}
