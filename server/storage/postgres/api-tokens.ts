// API tokens on PostgreSQL (only the SHA-256 of each token is stored). A revocation is one
// committed row: every replica reads the token on every authenticated request, so it is
// refused everywhere from the next one.

import { and, desc, eq, isNull } from 'drizzle-orm';
import type { ApiTokenRow, ApiTokenStorage, AuditInput, AuditOf } from '../store.ts';
import { appendIn } from './audit.ts';
import type { Database } from './database.ts';
import { apiTokens } from './schema/api-tokens.ts';

export class PostgresApiTokens implements ApiTokenStorage {
  constructor(private readonly pg: Database) {}

  create(row: ApiTokenRow, audit: AuditInput): Promise<void> {
    return this.pg.tx(async ({ client, db }) => {
      await db.insert(apiTokens).values(row);
      await appendIn(client, [audit]);
    });
  }

  createFirst(row: ApiTokenRow, audit: AuditInput): Promise<boolean> {
    return this.pg.tx(async ({ client, db }) => {
      // Replicas starting together on an empty database: one of them makes the first token.
      await client.query('LOCK TABLE api_tokens IN SHARE ROW EXCLUSIVE MODE');
      if ((await db.select({ id: apiTokens.id }).from(apiTokens).limit(1)).length > 0) return false;
      await db.insert(apiTokens).values(row);
      await appendIn(client, [audit]);
      return true;
    });
  }

  async any(): Promise<boolean> {
    return (await this.pg.run((db) => db.select({ id: apiTokens.id }).from(apiTokens).limit(1))).length > 0;
  }

  async get(id: string): Promise<ApiTokenRow | undefined> {
    return (await this.pg.run((db) => db.select().from(apiTokens).where(eq(apiTokens.id, id))))[0];
  }

  list(): Promise<ApiTokenRow[]> {
    return this.pg.run((db) => db.select().from(apiTokens).orderBy(desc(apiTokens.createdAt)));
  }

  revoke(id: string, now: number, audit: AuditOf<ApiTokenRow>): Promise<{ row: ApiTokenRow; changed: boolean } | undefined> {
    return this.pg.tx(async ({ client, db }) => {
      const changed = (
        await db
          .update(apiTokens)
          .set({ revokedAt: now })
          .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)))
          .returning({ id: apiTokens.id })
      ).length;
      const row = (await db.select().from(apiTokens).where(eq(apiTokens.id, id)))[0];
      if (!row) return undefined;
      if (changed === 1) await appendIn(client, [audit(row)]);
      return { row, changed: changed === 1 };
    });
  }
}
