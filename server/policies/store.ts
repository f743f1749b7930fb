// Appraisal policies and reference-value sets as stored by the service. Policy versions are
// immutable rows (name, version) kept forever with their hash; one version is active.
// The active policy (parsed, CEL compiled) and the reference values are kept with the
// configuration epoch they were read at (server/storage/epoch-cached.ts): every attestation
// reads that one integer, and the rows only when it moved, which any write to the policies
// or the reference values does, whoever writes. So a change made by another replica or the
// CLI applies at once.

import { PolicyValidationError, parseAppraisalPolicy, policyHash, type AppraisalPolicy, type PolicyContext } from '../../verifier/policy/index.ts';
import { ApiError } from '../problem.ts';
import { EpochCached, type EpochReading } from '../storage/epoch-cached.ts';
import type { ActivePolicyRow, ConfigEpochStorage, PolicyStorage, PolicyVersionRow, ReferenceValueStorage } from '../storage/store.ts';

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

export class PolicyStore {
  private readonly activeCache: EpochCached<ActivePolicy>;
  private readonly refsCache: EpochCached<PolicyContext>;

  constructor(
    private readonly rows: PolicyStorage,
    private readonly refs: ReferenceValueStorage,
    epoch: ConfigEpochStorage,
  ) {
    this.activeCache = new EpochCached(epoch, (previous) => this.loadActive(previous));
    this.refsCache = new EpochCached(epoch, () => this.loadContext());
  }

  private info(row: PolicyVersionRow, active: ActivePolicyRow | undefined): PolicyVersionInfo {
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
  async put(name: string, source: string, format: PolicyFormat, actor: string, clientAddress: string | null): Promise<{ created: boolean; info: PolicyVersionInfo }> {
    const policy = parseAppraisalPolicy(source, format);
    if (policy.name !== undefined && policy.name !== name) {
      throw new PolicyValidationError([{ path: 'name', message: `the document names policy '${policy.name}' but is uploaded as '${name}'` }]);
    }
    const hash = policyHash(policy);
    const { created, row } = await this.rows.putVersion({ name, hash, source, format, createdAt: Date.now(), createdBy: actor }, (row) => ({
      action: 'policy.create',
      outcome: 'success',
      actor,
      subject: name,
      clientAddress,
      details: { version: row.version, hash },
    }));
    return { created, info: this.info(row, await this.rows.active()) };
  }

  async get(name: string, version?: number): Promise<PolicyVersionDoc | undefined> {
    const row = await this.rows.get(name, version);
    if (!row) return undefined;
    return { ...this.info(row, await this.rows.active()), source: row.source, policy: parseAppraisalPolicy(row.source, row.format as PolicyFormat) };
  }

  async versions(name: string): Promise<PolicyVersionInfo[]> {
    const active = await this.rows.active();
    return (await this.rows.versions(name)).map((r) => this.info(r, active));
  }

  /** Every policy name with its latest version. */
  async list(): Promise<{ name: string; latestVersion: number; activeVersion: number | null }[]> {
    const active = await this.rows.active();
    return (await this.rows.names()).map((r) => ({ name: r.name, latestVersion: r.latestVersion, activeVersion: active?.name === r.name ? active.version : null }));
  }

  /** Make `name` (at `version`, default its latest) the policy every attestation is appraised with. */
  async activate(name: string, version: number | undefined, actor: string, clientAddress: string | null): Promise<PolicyVersionInfo> {
    const notFound = () => new ApiError(404, 'policy_not_found', version === undefined ? `There is no policy named '${name}'.` : `Policy '${name}' has no version ${version}.`);
    // Parsed first (versions are immutable): a stored document that no longer parses is never made active.
    const doc = await this.get(name, version);
    if (!doc) throw notFound();
    const row = await this.rows.activate(name, doc.version, Date.now(), (row) => ({
      action: 'policy.activate',
      outcome: 'success',
      actor,
      subject: name,
      clientAddress,
      details: { version: row.version, hash: row.hash },
    }));
    if (!row) throw notFound();
    return { ...this.info(row, undefined), active: true };
  }

  /** The active policy, parsed: read again only when the configuration epoch (`reading`, or read now) moved. */
  active(reading?: EpochReading): Promise<ActivePolicy> {
    return this.activeCache.get(reading);
  }

  /** The active policy, parsed again only when another version is active than in `previous` (versions are immutable). */
  private async loadActive(previous: ActivePolicy | undefined): Promise<ActivePolicy> {
    const active = await this.rows.active();
    if (!active) throw new ApiError(503, 'no_active_policy', 'No appraisal policy is active; activate one with POST /v1/policies/{name}/activate.');
    if (previous?.name === active.name && previous.version === active.version) return previous;
    const row = await this.rows.get(active.name, active.version);
    if (!row) throw new Error(`active policy ${active.name} v${active.version} is missing`);
    return { name: row.name, version: row.version, hash: row.hash, policy: parseAppraisalPolicy(row.source, row.format as PolicyFormat) };
  }

  hasAnyPolicy(): Promise<boolean> {
    return this.rows.any();
  }

  // Reference values ----------------------------------------------------------------------

  async putReferenceValues(name: string, values: string[], actor: string, clientAddress: string | null): Promise<ReferenceValueSet> {
    const normalized = [...new Set(values.map((v) => v.toLowerCase()))];
    const now = Date.now();
    await this.refs.put({ name, values: normalized, updatedAt: now, updatedBy: actor }, (previous) => ({
      action: 'reference-values.put',
      outcome: 'success',
      actor,
      subject: name,
      clientAddress,
      details: { count: normalized.length, added: normalized.filter((v) => !previous?.includes(v)), removed: (previous ?? []).filter((v) => !normalized.includes(v)) },
    }));
    return { name, values: normalized, updatedAt: new Date(now).toISOString(), updatedBy: actor };
  }

  async getReferenceValues(name: string): Promise<ReferenceValueSet | undefined> {
    const row = await this.refs.get(name);
    if (!row) return undefined;
    return { name: row.name, values: row.values, updatedAt: new Date(row.updatedAt).toISOString(), updatedBy: row.updatedBy };
  }

  async listReferenceValues(): Promise<{ name: string; count: number; updatedAt: string }[]> {
    return (await this.refs.list()).map((r) => ({ name: r.name, count: r.values.length, updatedAt: new Date(r.updatedAt).toISOString() }));
  }

  /** Every reference-value set, for policy evaluation: read again only when the configuration epoch (`reading`, or read now) moved. */
  context(reading?: EpochReading): Promise<PolicyContext> {
    return this.refsCache.get(reading);
  }

  private async loadContext(): Promise<PolicyContext> {
    const sets: Record<string, string[]> = {};
    for (const r of await this.refs.list()) sets[r.name] = r.values;
    return { referenceValues: sets };
  }
}
