// Appraisal policies and reference-value sets as stored by the service. Policy versions are
// immutable rows (name, version) kept forever with their hash; one version is active.
// The active policy (parsed, CEL compiled) and the reference values are kept with the
// configuration epoch they were read at (server/storage/config-epoch.ts): every attestation
// reads that one integer, and the tables only when it moved, which any write to
// active_policy, policy_versions or reference_values does through a trigger, whichever
// connection writes. So a change made by another replica or the CLI applies at once.

import { and, desc, eq, max } from 'drizzle-orm';
import { PolicyValidationError, parseAppraisalPolicy, policyHash, type AppraisalPolicy, type PolicyContext } from '../../verifier/policy/index.ts';
import { appendAudit } from '../audit/log.ts';
import { ApiError } from '../problem.ts';
import { EpochCached } from '../storage/config-epoch.ts';
import type { Db } from '../storage/db.ts';
import { activePolicy, policyVersions } from '../storage/schema/policies.ts';
import { referenceValues } from '../storage/schema/reference-values.ts';

export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export type PolicyFormat = 'yaml' | 'json';

export interface PolicyVersionInfo {
  name: string;
  version: number;
  hash: string;
  format: PolicyFormat;
  createdAt: string;
  createdBy: string;
  active: boolean;
}

export interface PolicyVersionDoc extends PolicyVersionInfo {
  source: string;
  policy: AppraisalPolicy;
}

export interface ActivePolicy {
  name: string;
  version: number;
  hash: string;
  policy: AppraisalPolicy;
}

export interface ReferenceValueSet {
  name: string;
  values: string[];
  updatedAt: string;
  updatedBy: string;
}

type VersionRow = typeof policyVersions.$inferSelect;

export class PolicyStore {
  private readonly activeCache: EpochCached<ActivePolicy>;
  private readonly refsCache: EpochCached<PolicyContext>;

  // Prepared once: runs whenever the configuration epoch moved, and in every listing.
  private readonly activeQuery;

  constructor(private readonly db: Db) {
    this.activeQuery = db.select().from(activePolicy).where(eq(activePolicy.id, 1)).prepare();
    this.activeCache = new EpochCached(db.$client, (previous) => this.loadActive(previous));
    this.refsCache = new EpochCached(db.$client, () => this.loadContext());
  }

  private activeRow() {
    return this.activeQuery.get();
  }

  private info(row: VersionRow, active = this.activeRow()): PolicyVersionInfo {
    return {
      name: row.name,
      version: row.version,
      hash: row.hash,
      format: row.format as PolicyFormat,
      createdAt: new Date(row.createdAt).toISOString(),
      createdBy: row.createdBy,
      active: active?.name === row.name && active.version === row.version,
    };
  }

  /**
   * Validate and store `source` as the next version of `name`. Uploading the same policy
   * (same hash) as the latest version creates nothing and returns that version.
   */
  put(name: string, source: string, format: PolicyFormat, actor: string, clientAddress: string | null): { created: boolean; info: PolicyVersionInfo } {
    const policy = parseAppraisalPolicy(source, format);
    if (policy.name !== undefined && policy.name !== name) {
      throw new PolicyValidationError([{ path: 'name', message: `the document names policy '${policy.name}' but is uploaded as '${name}'` }]);
    }
    const hash = policyHash(policy);
    return this.db.$client
      .transaction(() => {
        const latest = this.db.select().from(policyVersions).where(eq(policyVersions.name, name)).orderBy(desc(policyVersions.version)).limit(1).get();
        if (latest?.hash === hash) return { created: false, info: this.info(latest) };
        const row: VersionRow = { name, version: (latest?.version ?? 0) + 1, hash, source, format, createdAt: Date.now(), createdBy: actor };
        this.db.insert(policyVersions).values(row).run();
        appendAudit(this.db, { action: 'policy.create', outcome: 'success', actor, subject: name, clientAddress, details: { version: row.version, hash } });
        return { created: true, info: this.info(row) };
      })
      .immediate();
  }

  get(name: string, version?: number): PolicyVersionDoc | undefined {
    const row =
      version === undefined
        ? this.db.select().from(policyVersions).where(eq(policyVersions.name, name)).orderBy(desc(policyVersions.version)).limit(1).get()
        : this.db
            .select()
            .from(policyVersions)
            .where(and(eq(policyVersions.name, name), eq(policyVersions.version, version)))
            .get();
    if (!row) return undefined;
    return { ...this.info(row), source: row.source, policy: parseAppraisalPolicy(row.source, row.format as PolicyFormat) };
  }

  versions(name: string): PolicyVersionInfo[] {
    const active = this.activeRow();
    return this.db
      .select()
      .from(policyVersions)
      .where(eq(policyVersions.name, name))
      .orderBy(desc(policyVersions.version))
      .all()
      .map((r) => this.info(r, active));
  }

  /** Every policy name with its latest version. */
  list(): { name: string; latestVersion: number; activeVersion: number | null }[] {
    const active = this.activeRow();
    return this.db
      .select({ name: policyVersions.name, latest: max(policyVersions.version) })
      .from(policyVersions)
      .groupBy(policyVersions.name)
      .orderBy(policyVersions.name)
      .all()
      .map((r) => ({ name: r.name, latestVersion: r.latest ?? 0, activeVersion: active?.name === r.name ? active.version : null }));
  }

  /** Make `name` (at `version`, default its latest) the policy every attestation is appraised with. */
  activate(name: string, version: number | undefined, actor: string, clientAddress: string | null): PolicyVersionInfo {
    return this.db.$client
      .transaction(() => {
        const doc = this.get(name, version);
        if (!doc) {
          throw new ApiError(404, 'policy_not_found', version === undefined ? `There is no policy named '${name}'.` : `Policy '${name}' has no version ${version}.`);
        }
        const now = Date.now();
        this.db
          .insert(activePolicy)
          .values({ id: 1, name, version: doc.version, activatedAt: now })
          .onConflictDoUpdate({ target: activePolicy.id, set: { name, version: doc.version, activatedAt: now } })
          .run();
        appendAudit(this.db, { action: 'policy.activate', outcome: 'success', actor, subject: name, clientAddress, details: { version: doc.version, hash: doc.hash } });
        const { source: _source, policy: _policy, ...info } = doc;
        return { ...info, active: true };
      })
      .immediate();
  }

  /** The active policy, parsed: read again only when the configuration epoch moved. */
  active(): ActivePolicy {
    return this.activeCache.get();
  }

  /** The active policy, parsed again only when another version is active than in `previous` (versions are immutable). */
  private loadActive(previous: ActivePolicy | undefined): ActivePolicy {
    const row = this.activeRow();
    if (!row) throw new ApiError(503, 'no_active_policy', 'No appraisal policy is active; activate one with POST /v1/policies/{name}/activate.');
    if (previous?.name === row.name && previous.version === row.version) return previous;
    const doc = this.get(row.name, row.version);
    if (!doc) throw new Error(`active policy ${row.name} v${row.version} is missing`);
    return { name: doc.name, version: doc.version, hash: doc.hash, policy: doc.policy };
  }

  hasAnyPolicy(): boolean {
    return this.db.select({ n: policyVersions.name }).from(policyVersions).limit(1).get() !== undefined;
  }

  // Reference values ----------------------------------------------------------------------

  putReferenceValues(name: string, values: string[], actor: string, clientAddress: string | null): ReferenceValueSet {
    const normalized = [...new Set(values.map((v) => v.toLowerCase()))];
    return this.db.$client
      .transaction(() => {
        const previous = this.getReferenceValues(name);
        const now = Date.now();
        this.db
          .insert(referenceValues)
          .values({ name, values: JSON.stringify(normalized), updatedAt: now, updatedBy: actor })
          .onConflictDoUpdate({ target: referenceValues.name, set: { values: JSON.stringify(normalized), updatedAt: now, updatedBy: actor } })
          .run();
        const added = normalized.filter((v) => !previous?.values.includes(v));
        const removed = (previous?.values ?? []).filter((v) => !normalized.includes(v));
        appendAudit(this.db, {
          action: 'reference-values.put',
          outcome: 'success',
          actor,
          subject: name,
          clientAddress,
          details: { count: normalized.length, added, removed },
        });
        return { name, values: normalized, updatedAt: new Date(now).toISOString(), updatedBy: actor };
      })
      .immediate();
  }

  getReferenceValues(name: string): ReferenceValueSet | undefined {
    const row = this.db.select().from(referenceValues).where(eq(referenceValues.name, name)).get();
    if (!row) return undefined;
    return { name: row.name, values: JSON.parse(row.values) as string[], updatedAt: new Date(row.updatedAt).toISOString(), updatedBy: row.updatedBy };
  }

  listReferenceValues(): { name: string; count: number; updatedAt: string }[] {
    return this.db
      .select()
      .from(referenceValues)
      .orderBy(referenceValues.name)
      .all()
      .map((r) => ({ name: r.name, count: (JSON.parse(r.values) as string[]).length, updatedAt: new Date(r.updatedAt).toISOString() }));
  }

  /** Every reference-value set, for policy evaluation: read again only when the configuration epoch moved. */
  context(): PolicyContext {
    return this.refsCache.get();
  }

  private loadContext(): PolicyContext {
    const sets: Record<string, string[]> = {};
    for (const r of this.db.select().from(referenceValues).all()) sets[r.name] = JSON.parse(r.values) as string[];
    return { referenceValues: sets };
  }
}
