// Appraisal policy versions (immutable rows), the active one, and reference-value sets, on
// PostgreSQL. Writers lock their table against each other (numbering, "the previous values"
// told to the audit); triggers move the configuration epoch with every row written
// (migrations/postgres/0002), so another replica applies the change from its next request.

import { decodeJson } from '../decode.ts';
import { and, desc, eq, max } from 'drizzle-orm';
import type { ActivePolicyRow, AuditOf, PolicyStorage, PolicyVersionRow, ReferenceValuesRow, ReferenceValueStorage } from '../store.ts';
import { appendIn } from './audit.ts';
import type { Database, Db } from './database.ts';
import { activePolicy, policyVersions } from './schema/policies.ts';
import { referenceValues } from './schema/reference-values.ts';

async function versionRow(db: Db, name: string, version?: number): Promise<PolicyVersionRow | undefined> {
  const rows =
    version === undefined
      ? await db.select().from(policyVersions).where(eq(policyVersions.name, name)).orderBy(desc(policyVersions.version)).limit(1)
      : await db
          .select()
          .from(policyVersions)
          .where(and(eq(policyVersions.name, name), eq(policyVersions.version, version)));
  return rows[0];
}

export class PostgresPolicies implements PolicyStorage {
  constructor(private readonly pg: Database) {}

  putVersion(input: Omit<PolicyVersionRow, 'version'>, audit: AuditOf<PolicyVersionRow>): Promise<{ created: boolean; row: PolicyVersionRow }> {
    return this.pg.tx(async ({ client, db }) => {
      await client.query('LOCK TABLE policy_versions IN SHARE ROW EXCLUSIVE MODE');
      const latest = await versionRow(db, input.name);
      if (latest?.hash === input.hash) return { created: false, row: latest };
      const row: PolicyVersionRow = { ...input, version: (latest?.version ?? 0) + 1 };
      await db.insert(policyVersions).values(row);
      await appendIn(client, [audit(row)]);
      return { created: true, row };
    });
  }

  get(name: string, version?: number): Promise<PolicyVersionRow | undefined> {
    return this.pg.run((db) => versionRow(db, name, version));
  }

  versions(name: string): Promise<PolicyVersionRow[]> {
    return this.pg.run((db) => db.select().from(policyVersions).where(eq(policyVersions.name, name)).orderBy(desc(policyVersions.version)));
  }

  async names(): Promise<{ name: string; latestVersion: number }[]> {
    const rows = await this.pg.run((db) => db.select({ name: policyVersions.name, latest: max(policyVersions.version) }).from(policyVersions).groupBy(policyVersions.name).orderBy(policyVersions.name));
    return rows.map((r) => ({ name: r.name, latestVersion: r.latest ?? 0 }));
  }

  async any(): Promise<boolean> {
    return (await this.pg.run((db) => db.select({ n: policyVersions.name }).from(policyVersions).limit(1))).length > 0;
  }

  async active(): Promise<ActivePolicyRow | undefined> {
    const rows = await this.pg.run((db) => db.select({ name: activePolicy.name, version: activePolicy.version, activatedAt: activePolicy.activatedAt }).from(activePolicy).where(eq(activePolicy.id, 1)));
    return rows[0];
  }

  activate(name: string, version: number | undefined, now: number, audit: AuditOf<PolicyVersionRow>): Promise<PolicyVersionRow | undefined> {
    return this.pg.tx(async ({ client, db }) => {
      const row = await versionRow(db, name, version);
      if (!row) return undefined;
      await db
        .insert(activePolicy)
        .values({ id: 1, name, version: row.version, activatedAt: now })
        .onConflictDoUpdate({ target: activePolicy.id, set: { name, version: row.version, activatedAt: now } });
      await appendIn(client, [audit(row)]);
      return row;
    });
  }
}

type ValuesRow = typeof referenceValues.$inferSelect;
const toValues = (r: ValuesRow): ReferenceValuesRow => ({ name: r.name, values: decodeJson<string[]>(`reference_values ${r.name}`, 'values', r.values), updatedAt: r.updatedAt, updatedBy: r.updatedBy });

export class PostgresReferenceValues implements ReferenceValueStorage {
  constructor(private readonly pg: Database) {}

  put(row: ReferenceValuesRow, audit: AuditOf<string[] | undefined>): Promise<void> {
    return this.pg.tx(async ({ client, db }) => {
      await client.query('LOCK TABLE reference_values IN SHARE ROW EXCLUSIVE MODE');
      const previous = (await db.select().from(referenceValues).where(eq(referenceValues.name, row.name)))[0];
      const values = JSON.stringify(row.values);
      await db
        .insert(referenceValues)
        .values({ name: row.name, values, updatedAt: row.updatedAt, updatedBy: row.updatedBy })
        .onConflictDoUpdate({ target: referenceValues.name, set: { values, updatedAt: row.updatedAt, updatedBy: row.updatedBy } });
      await appendIn(client, [audit(previous ? toValues(previous).values : undefined)]);
    });
  }

  async get(name: string): Promise<ReferenceValuesRow | undefined> {
    const r = (await this.pg.run((db) => db.select().from(referenceValues).where(eq(referenceValues.name, name))))[0];
    return r ? toValues(r) : undefined;
  }

  async list(): Promise<ReferenceValuesRow[]> {
    return (await this.pg.run((db) => db.select().from(referenceValues).orderBy(referenceValues.name))).map(toValues);
  }
}
