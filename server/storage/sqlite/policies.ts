// Appraisal policy versions (immutable rows), the active one, and reference-value sets, on
// SQLite. Triggers move the configuration epoch with every write (migrations/sqlite/0004).

import { decodeJson } from '../decode.ts';
import { and, desc, eq, max } from 'drizzle-orm';
import type { ActivePolicyRow, AuditOf, PolicyStorage, PolicyVersionRow, ReferenceValuesRow, ReferenceValueStorage } from '../store.ts';
import { appendEntries } from './audit.ts';
import type { Db } from './connection.ts';
import { lazy, run } from './errors.ts';
import { activePolicy, policyVersions } from './schema/policies.ts';
import { referenceValues } from './schema/reference-values.ts';

export class SqlitePolicies implements PolicyStorage {
  // Prepared once: runs whenever the configuration epoch moved, and in every listing.
  private readonly activeQuery = lazy(() => this.db.select({ name: activePolicy.name, version: activePolicy.version, activatedAt: activePolicy.activatedAt }).from(activePolicy).where(eq(activePolicy.id, 1)).prepare());

  constructor(private readonly db: Db) {}

  private row(name: string, version?: number): PolicyVersionRow | undefined {
    return version === undefined
      ? this.db.select().from(policyVersions).where(eq(policyVersions.name, name)).orderBy(desc(policyVersions.version)).limit(1).get()
      : this.db
          .select()
          .from(policyVersions)
          .where(and(eq(policyVersions.name, name), eq(policyVersions.version, version)))
          .get();
  }

  putVersion(input: Omit<PolicyVersionRow, 'version'>, audit: AuditOf<PolicyVersionRow>): Promise<{ created: boolean; row: PolicyVersionRow }> {
    return run(() =>
      this.db.$client
        .transaction(() => {
          const latest = this.row(input.name);
          if (latest?.hash === input.hash) return { created: false, row: latest };
          const row: PolicyVersionRow = { ...input, version: (latest?.version ?? 0) + 1 };
          this.db.insert(policyVersions).values(row).run();
          appendEntries(this.db, [audit(row)]);
          return { created: true, row };
        })
        .immediate(),
    );
  }

  get(name: string, version?: number): Promise<PolicyVersionRow | undefined> {
    return run(() => this.row(name, version));
  }

  versions(name: string): Promise<PolicyVersionRow[]> {
    return run(() => this.db.select().from(policyVersions).where(eq(policyVersions.name, name)).orderBy(desc(policyVersions.version)).all());
  }

  names(): Promise<{ name: string; latestVersion: number }[]> {
    return run(() =>
      this.db
        .select({ name: policyVersions.name, latest: max(policyVersions.version) })
        .from(policyVersions)
        .groupBy(policyVersions.name)
        .orderBy(policyVersions.name)
        .all()
        .map((r) => ({ name: r.name, latestVersion: r.latest ?? 0 })),
    );
  }

  any(): Promise<boolean> {
    return run(() => this.db.select({ n: policyVersions.name }).from(policyVersions).limit(1).get() !== undefined);
  }

  active(): Promise<ActivePolicyRow | undefined> {
    return run(() => this.activeQuery().get());
  }

  activate(name: string, version: number | undefined, now: number, audit: AuditOf<PolicyVersionRow>): Promise<PolicyVersionRow | undefined> {
    return run(() =>
      this.db.$client
        .transaction(() => {
          const row = this.row(name, version);
          if (!row) return undefined;
          this.db
            .insert(activePolicy)
            .values({ id: 1, name, version: row.version, activatedAt: now })
            .onConflictDoUpdate({ target: activePolicy.id, set: { name, version: row.version, activatedAt: now } })
            .run();
          appendEntries(this.db, [audit(row)]);
          return row;
        })
        .immediate(),
    );
  }
}

type ValuesRow = typeof referenceValues.$inferSelect;
const toValues = (r: ValuesRow): ReferenceValuesRow => ({ name: r.name, values: decodeJson<string[]>(`reference_values ${r.name}`, 'values', r.values), updatedAt: r.updatedAt, updatedBy: r.updatedBy });

export class SqliteReferenceValues implements ReferenceValueStorage {
  constructor(private readonly db: Db) {}

  put(row: ReferenceValuesRow, audit: AuditOf<string[] | undefined>): Promise<void> {
    return run(() =>
      this.db.$client
        .transaction(() => {
          const previous = this.db.select().from(referenceValues).where(eq(referenceValues.name, row.name)).get();
          const values = JSON.stringify(row.values);
          this.db
            .insert(referenceValues)
            .values({ name: row.name, values, updatedAt: row.updatedAt, updatedBy: row.updatedBy })
            .onConflictDoUpdate({ target: referenceValues.name, set: { values, updatedAt: row.updatedAt, updatedBy: row.updatedBy } })
            .run();
          appendEntries(this.db, [audit(previous ? toValues(previous).values : undefined)]);
        })
        .immediate(),
    );
  }

  get(name: string): Promise<ReferenceValuesRow | undefined> {
    return run(() => {
      const r = this.db.select().from(referenceValues).where(eq(referenceValues.name, name)).get();
      return r ? toValues(r) : undefined;
    });
  }

  list(): Promise<ReferenceValuesRow[]> {
    return run(() => this.db.select().from(referenceValues).orderBy(referenceValues.name).all().map(toValues));
  }
}
