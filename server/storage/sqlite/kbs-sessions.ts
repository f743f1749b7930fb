// KBS sessions on SQLite: markAttested is one conditional UPDATE (state = 'auth', unexpired),
// so of two /attest requests on one session exactly one wins, whichever process serves them.

import { and, eq, gt, lt } from 'drizzle-orm';
import type { AuditInput, KbsAttested, KbsSessionRow, KbsSessionStorage } from '../store.ts';
import { appendEntries } from './audit.ts';
import type { Db } from './connection.ts';
import { run } from './errors.ts';
import { kbsSessions } from './schema/kbs-sessions.ts';

export class SqliteKbsSessions implements KbsSessionStorage {
  constructor(private readonly db: Db) {}

  create(row: KbsSessionRow, audit?: AuditInput): Promise<void> {
    return run(() =>
      this.db.$client
        .transaction(() => {
          this.db.insert(kbsSessions).values(row).run();
          if (audit) appendEntries(this.db, [audit]);
        })
        .immediate(),
    );
  }

  get(id: string, now: number): Promise<KbsSessionRow | undefined> {
    return run(() => {
      const row = this.db.select().from(kbsSessions).where(and(eq(kbsSessions.id, id), gt(kbsSessions.expiresAt, now))).get();
      return row ? { ...row, state: row.state === 'attested' ? 'attested' : 'auth' } : undefined;
    });
  }

  markAttested(id: string, a: KbsAttested, now: number): Promise<boolean> {
    return run(
      () =>
        this.db
          .update(kbsSessions)
          .set({ state: 'attested', teePubkey: a.teePubkey, token: a.token, attestationId: a.attestationId, expiresAt: a.expiresAt })
          .where(and(eq(kbsSessions.id, id), eq(kbsSessions.state, 'auth'), gt(kbsSessions.expiresAt, now)))
          .run().changes === 1,
    );
  }

  prune(now: number): Promise<number> {
    return run(() => this.db.delete(kbsSessions).where(lt(kbsSessions.expiresAt, now)).run().changes);
  }
}
