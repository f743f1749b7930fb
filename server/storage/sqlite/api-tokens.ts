// API tokens on SQLite (only the SHA-256 of each token is stored).

import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import type { ApiTokenRow, ApiTokenStorage, AuditInput, AuditOf } from '../store.ts';
import { appendEntries } from './audit.ts';
import type { Db } from './connection.ts';
import { lazy, run } from './errors.ts';
import { apiTokens } from './schema/api-tokens.ts';

export class SqliteApiTokens implements ApiTokenStorage {
  // Prepared once: every authenticated request looks its token up.
  private readonly byId = lazy(() =>
    this.db
      .select()
      .from(apiTokens)
      .where(eq(apiTokens.id, sql.placeholder('id')))
      .prepare(),
  );

  constructor(private readonly db: Db) {}

  create(row: ApiTokenRow, audit: AuditInput): Promise<void> {
    return run(() =>
      this.db.$client
        .transaction(() => {
          this.db.insert(apiTokens).values(row).run();
          appendEntries(this.db, [audit]);
        })
        .immediate(),
    );
  }

  createFirst(row: ApiTokenRow, audit: AuditInput): Promise<boolean> {
    return run(() =>
      this.db.$client
        .transaction(() => {
          if (this.hasAny()) return false;
          this.db.insert(apiTokens).values(row).run();
          appendEntries(this.db, [audit]);
          return true;
        })
        .immediate(),
    );
  }

  private hasAny(): boolean {
    return this.db.select({ id: apiTokens.id }).from(apiTokens).limit(1).get() !== undefined;
  }

  any(): Promise<boolean> {
    return run(() => this.hasAny());
  }

  get(id: string): Promise<ApiTokenRow | undefined> {
    return run(() => this.byId().get({ id }));
  }

  list(): Promise<ApiTokenRow[]> {
    return run(() => this.db.select().from(apiTokens).orderBy(desc(apiTokens.createdAt)).all());
  }

  revoke(id: string, now: number, audit: AuditOf<ApiTokenRow>): Promise<{ row: ApiTokenRow; changed: boolean } | undefined> {
    return run(() =>
      this.db.$client
        .transaction(() => {
          const { changes } = this.db
            .update(apiTokens)
            .set({ revokedAt: now })
            .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)))
            .run();
          const row = this.db.select().from(apiTokens).where(eq(apiTokens.id, id)).get();
          if (!row) return undefined;
          if (changes === 1) appendEntries(this.db, [audit(row)]);
          return { row, changed: changes === 1 };
        })
        .immediate(),
    );
  }
}
