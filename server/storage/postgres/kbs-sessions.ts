// KBS sessions on PostgreSQL (mirrors sqlite/kbs-sessions.ts): markAttested is one conditional
// UPDATE, so of two replicas attesting one session exactly one changes the row.

import { and, eq, gt, lt } from 'drizzle-orm';
import type { AuditInput, KbsAttested, KbsSessionRow, KbsSessionStorage } from '../store.ts';
import { appendIn } from './audit.ts';
import type { Database } from './database.ts';
import { kbsSessions } from './schema/kbs-sessions.ts';

export class PostgresKbsSessions implements KbsSessionStorage {
  constructor(private readonly pg: Database) {}

  async create(row: KbsSessionRow, audit?: AuditInput): Promise<void> {
    if (!audit) {
      await this.pg.run((db) => db.insert(kbsSessions).values(row));
      return;
    }
    await this.pg.tx(async ({ client, db }) => {
      await db.insert(kbsSessions).values(row);
      await appendIn(client, [audit]);
    });
  }

  async get(id: string, now: number): Promise<KbsSessionRow | undefined> {
    const rows = await this.pg.run((db) => db.select().from(kbsSessions).where(and(eq(kbsSessions.id, id), gt(kbsSessions.expiresAt, now))));
    const row = rows[0];
    return row ? { ...row, state: row.state === 'attested' ? 'attested' : 'auth' } : undefined;
  }

  async markAttested(id: string, a: KbsAttested, now: number): Promise<boolean> {
    const rows = await this.pg.run((db) =>
      db
        .update(kbsSessions)
        .set({ state: 'attested', teePubkey: a.teePubkey, token: a.token, attestationId: a.attestationId, expiresAt: a.expiresAt })
        .where(and(eq(kbsSessions.id, id), eq(kbsSessions.state, 'auth'), gt(kbsSessions.expiresAt, now)))
        .returning({ id: kbsSessions.id }),
    );
    return rows.length === 1;
  }

  async prune(now: number): Promise<number> {
    const rows = await this.pg.run((db) => db.delete(kbsSessions).where(lt(kbsSessions.expiresAt, now)).returning({ id: kbsSessions.id }));
    return rows.length;
  }
}
