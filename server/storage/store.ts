// The storage boundary: one asynchronous interface per kind of state the service keeps, and
// the engines behind them (server/storage/sqlite/, server/storage/postgres/). Routes,
// services and CLI commands see only these interfaces: no SQL, no drizzle, no engine type.
//
// Plain data in and out: rows are plain objects, instants are ms since the Unix epoch.
// Every write that must commit together with its audit entry takes the entry (or a pure
// function building it from what the engine read inside the transaction: `AuditOf`) and
// appends it in the same transaction; the hash-chain arithmetic is engine-agnostic
// (server/audit/chain.ts), engines only serialise appends (one chain, gap-free seq) and
// insert. Errors: StoreUnavailableError when the database cannot be reached, NotDurableError
// when a commit could not be made durable, ChallengeError (server/challenge.ts) for a
// challenge refused at commit; anything else is a bug.

import type { CollateralStore } from '../../verifier/collateral/store.ts';
import type { RateDecision } from '../rate-limit.ts';

// Errors ----------------------------------------------------------------------------------

/** The database cannot be reached or the connection was lost: temporary, answered 503 store_unavailable with Retry-After. */
export class StoreUnavailableError extends Error {
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'StoreUnavailableError';
  }
}

/** A commit that could not be made durable (a failed sync), or refused after one was: nothing more is accepted until a restart. */
export class NotDurableError extends Error {
  constructor(override readonly cause: unknown) {
    super(`a commit could not be made durable: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'NotDurableError';
  }
}

/**
 * A stored row that no longer decodes or opens (metadata that is not the JSON this version
 * writes, a sealed envelope that is malformed or does not open under the KEK): someone with
 * write access to the database changed it. Answered 503 store_corrupt, naming the record in
 * the log and the audit; the rest of the store keeps serving. `record` names the row
 * (`secret_versions db-password v2`), never its content.
 */
export class StoreCorruptError extends Error {
  constructor(
    readonly record: string,
    detail: string,
  ) {
    super(`stored record ${record} is corrupt: ${detail}`);
    this.name = 'StoreCorruptError';
  }
}

// Audit -----------------------------------------------------------------------------------

/** One audit entry to append; seq, prevHash and hash are computed at the append (server/audit/chain.ts). */
export interface AuditInput {
  action: string;
  outcome: string;
  /** Who: `token:<id>`, `cli`, `system`, or `anonymous`. Never a secret. */
  actor: string;
  subject?: string | null;
  tee?: string | null;
  clientAddress?: string | null;
  details?: Record<string, unknown>;
  /** When it happened (ms); default: the instant of the append. */
  at?: number;
}

/** A pure function (no I/O) building the audit entry of a write from what the engine read inside its transaction. */
export type AuditOf<T> = (value: T) => AuditInput;

/** An audit_log row as stored. `details` is the canonical JSON text the hash covers. */
export interface AuditRow {
  seq: number;
  at: number;
  action: string;
  outcome: string;
  actor: string;
  subject: string | null;
  tee: string | null;
  clientAddress: string | null;
  details: string;
  prevHash: string;
  hash: string;
}

/** A place in the chain: seq 0 with the genesis hash for an empty log. */
export interface AuditPosition {
  seq: number;
  hash: string;
}

export interface AuditFilter {
  /** Inclusive bounds on `at` (ms). */
  from?: number;
  to?: number;
  action?: string;
  outcome?: string;
  tee?: string;
  subject?: string;
  /** Only entries older than this seq (keyset pagination). */
  beforeSeq?: number;
}

export interface AuditStorage {
  /** Append entries in one transaction, in order, as one contiguous stretch of the chain; returns the position of the last. */
  append(entries: readonly AuditInput[]): Promise<AuditPosition>;
  /** The newest entry that is durable (SQLite: read in the group commit, after the batches before it); genesis when empty. */
  head(): Promise<AuditPosition>;
  /** Entries matching `filter`, newest first, at most `limit`. */
  query(filter: AuditFilter, limit: number): Promise<AuditRow[]>;
  /** Entries with seq > `afterSeq`, oldest first, at most `limit`: the chain walked in pages (verify). */
  range(afterSeq: number, limit: number): Promise<AuditRow[]>;
  /** The entry `seq`, if stored. */
  get(seq: number): Promise<AuditRow | undefined>;
  /** How many entries match `filter` (tests, bench). */
  count(filter?: AuditFilter): Promise<number>;
}

// Challenges and attestations -------------------------------------------------------------

/** A challenge being consumed: its nonce (base64url) and when it expires (ms). */
export interface ChallengeUse {
  nonce: string;
  expiresAt: number;
}

export interface ChallengeStorage {
  /** Whether `nonce` was consumed already: the cheap early refusal (consumption at commit stays authoritative). */
  isConsumed(nonce: string): Promise<boolean>;
  /** Consume alone (the floor bench): judged at commit like AttestationStorage.record. Throws ChallengeError expired/replayed. */
  consume(use: ChallengeUse): Promise<void>;
  /** Forget consumed challenges that expired before `now`; returns how many. */
  prune(now: number): Promise<number>;
}

/** An attestations row. `result` is the VerificationResult as JSON text. */
export interface AttestationRow {
  id: string;
  createdAt: number;
  tee: string;
  /** affirming | warning | contraindicated */
  status: string;
  policyName: string;
  policyVersion: number;
  policyHash: string;
  claimsDigest: string | null;
  tokenJti: string | null;
  clientAddress: string | null;
  result: string;
}

/** Everything one attestation decision stores, all or nothing. */
export interface AttestationRecord {
  challenge: ChallengeUse;
  attestation: AttestationRow;
  /** Its audit entries: the decision, then one per secret release decided with it. */
  audit: readonly AuditInput[];
}

export interface AttestationStorage {
  /**
   * Consume the challenge, judged at commit time (the engine's clock then: now >= expiresAt
   * -> ChallengeError challenge_expired; already consumed -> challenge_replayed), insert the
   * attestation and append its audit entries, in one transaction. Resolves once durable
   * (SQLite: a savepoint in the group commit of this event-loop turn).
   */
  record(rec: AttestationRecord): Promise<void>;
  /** The attestations created in [since, until], oldest first, at most `limit` (policy replay, the what-if). */
  between(since: number, until: number, limit: number): Promise<StoredAttestation[]>;
  /**
   * The attestations created in [since, until] grouped by what the fleet view tells apart
   * (server/fleet/), newest group first, at most `limit` groups. Grouped by the engine, so
   * the answer is as large as the fleet, not as the window. A row whose result is not JSON
   * is StoreCorruptError naming it.
   */
  fleet(since: number, until: number, limit: number): Promise<FleetGroupRow[]>;
  /** Attestations matching `filter`, newest first (createdAt, then id, descending), at most `limit`; without `result`. */
  list(filter: AttestationFilter, limit: number): Promise<AttestationSummary[]>;
  /** The attestation `id`, with its result. */
  get(id: string): Promise<AttestationRow | undefined>;
  /** How many attestations of [since, until] per bucket of `bucketMs` (aligned to the epoch), TEE and status. */
  histogram(since: number, until: number, bucketMs: number): Promise<AttestationBucket[]>;
}

/** What replay reads of a stored attestation. */
export type StoredAttestation = Pick<AttestationRow, 'id' | 'createdAt' | 'tee' | 'status' | 'result'>;

/**
 * One group of attestations of a window: same TEE, verified or not, and equal values at each
 * of these paths of the stored result (undefined when absent), as the engine parsed them:
 * plain JSON values of any shape (a stored row is not trusted to have ours). Counts and
 * instants are of the group's rows.
 */
export interface FleetGroupRow {
  tee: string;
  /** `verified`: the evidence verified (the claims may name a platform only then). */
  verified: boolean;
  /** `claims.platform` (SNP product and CHIP_ID, Intel FMSPC; signer). */
  platform: unknown;
  /** `claims.tcb` (SNP reported TCB; Intel status, advisories, SVNs). */
  tcb: unknown;
  /** `claims.snp.currentVersion`: the SNP firmware running. */
  firmware: unknown;
  /** `platform`: Intel's platform and QE identity (verifier/result.ts IntelPlatformResult). */
  intel: unknown;
  /** `claims.measurement`. */
  measurement: unknown;
  /** `claims.tdx.rtmr`. */
  rtmr: unknown;
  /** Rows not contraindicated. */
  accepted: number;
  /** Rows contraindicated. */
  denied: number;
  firstSeen: number;
  lastSeen: number;
}

/** An attestation without its stored result: what a list shows. */
export type AttestationSummary = Omit<AttestationRow, 'result'>;

export interface AttestationFilter {
  /** Inclusive bounds on createdAt (ms). */
  from?: number;
  to?: number;
  status?: string;
  tee?: string;
  policyName?: string;
  /** The attestation id, its token's jti, its claims digest, or the measurement in its claims (lower-case hex). */
  subject?: string;
  /** Only rows after this one in the order (keyset pagination): older, or as old with a smaller id. */
  before?: { createdAt: number; id: string };
}

export interface AttestationBucket {
  /** Start of the bucket (ms). */
  start: number;
  tee: string;
  status: string;
  count: number;
}

// API tokens ------------------------------------------------------------------------------

export interface ApiTokenRow {
  id: string;
  name: string;
  /** admin | auditor */
  scope: string;
  /** SHA-256 (hex) of the whole token. */
  hash: string;
  createdAt: number;
  revokedAt: number | null;
  expiresAt: number | null;
}

export interface ApiTokenStorage {
  /** Insert `row` and append `audit`, in one transaction. */
  create(row: ApiTokenRow, audit: AuditInput): Promise<void>;
  /** create() only when no token exists at all (the first start's admin token); true when it created. */
  createFirst(row: ApiTokenRow, audit: AuditInput): Promise<boolean>;
  /** Whether any token exists. */
  any(): Promise<boolean>;
  /** The token `id`. */
  get(id: string): Promise<ApiTokenRow | undefined>;
  /** Every token, newest first. */
  list(): Promise<ApiTokenRow[]>;
  /** Revoke at `now` unless already revoked; `audit` is appended only when this call revoked it. Undefined: no such token. */
  revoke(id: string, now: number, audit: AuditOf<ApiTokenRow>): Promise<{ row: ApiTokenRow; changed: boolean } | undefined>;
}

// Keys ------------------------------------------------------------------------------------

export interface SigningKeyRow {
  kid: string;
  createdAt: number;
  /** When it stopped signing; null while active. */
  retiredAt: number | null;
  /** Published in the JWKS until this instant. */
  publishUntil: number | null;
  /** The public JWK as JSON text. */
  publicJwk: string;
  /** Envelope (JSON text) of the PKCS#8 private key under the KEK. */
  privateKey: string;
}

export type PublicSigningKeyRow = Omit<SigningKeyRow, 'privateKey'>;

export interface SigningKeyStorage {
  /** The active key (the newest not retired): kid and sealed private key. */
  active(): Promise<Pick<SigningKeyRow, 'kid' | 'privateKey'> | undefined>;
  /** Insert `row` and append `audit` only when no key is active (replicas starting together keep one); true when inserted. */
  createIfNoActive(row: SigningKeyRow, audit: AuditInput): Promise<boolean>;
  /** Retire every active key (retiredAt = row.createdAt, publishUntil as given), insert `row`, append `audit(retired kid)`, in one transaction. */
  rotate(row: SigningKeyRow, publishUntil: number, audit: AuditOf<string | null>): Promise<{ retired: string | null }>;
  /** Keys to publish at `now`: active, or retired with publishUntil > now; newest first. */
  published(now: number): Promise<PublicSigningKeyRow[]>;
  /** Every key ever made, newest first. */
  all(): Promise<PublicSigningKeyRow[]>;
}

export interface ServerSecretStorage {
  /** The sealed value of `name`: `sealed` is stored first if there is none (the first writer wins across replicas). */
  getOrCreate(name: string, sealed: string, now: number): Promise<string>;
}

/** One record sealed under the KEK, named as its envelope context names it. */
export type SealedRecord =
  | { kind: 'secret-version'; name: string; version: number; sealed: string }
  | { kind: 'signing-key'; kid: string; sealed: string }
  | { kind: 'server-secret'; name: string; sealed: string };

export interface SealedRecordStorage {
  /**
   * KEK rotation: replace every sealed record (live secret versions, signing keys, server
   * secrets) by `reseal(record)` and append `audit(counts)`, in one transaction; if reseal
   * throws, nothing changes and the error is rethrown.
   */
  resealAll(reseal: (record: SealedRecord) => string, audit: AuditOf<{ secretVersions: number; signingKeys: number; serverSecrets: number }>): Promise<{ secretVersions: number; signingKeys: number; serverSecrets: number }>;
  /** Every sealed record as stored (live secret versions, signing keys, server secrets), for `tessera db check`. */
  list(): Promise<SealedRecord[]>;
}

// Policies and reference values -----------------------------------------------------------

export interface PolicyVersionRow {
  name: string;
  version: number;
  /** policyHash() of the parsed policy. */
  hash: string;
  /** The document exactly as uploaded. */
  source: string;
  /** yaml | json */
  format: string;
  createdAt: number;
  createdBy: string;
}

export interface ActivePolicyRow {
  name: string;
  version: number;
  activatedAt: number;
}

export interface PolicyStorage {
  /**
   * Store `row` as version latest+1 of its name and append `audit(stored row)`, in one
   * transaction; when the latest version has the same hash, store nothing and return it.
   */
  putVersion(row: Omit<PolicyVersionRow, 'version'>, audit: AuditOf<PolicyVersionRow>): Promise<{ created: boolean; row: PolicyVersionRow }>;
  /** Version `version` of `name`, or its latest when undefined. */
  get(name: string, version?: number): Promise<PolicyVersionRow | undefined>;
  /** Every version of `name`, newest first. */
  versions(name: string): Promise<PolicyVersionRow[]>;
  /** Every policy name with its latest version, by name. */
  names(): Promise<{ name: string; latestVersion: number }[]>;
  /** Whether any policy version exists. */
  any(): Promise<boolean>;
  /** The active policy's row. */
  active(): Promise<ActivePolicyRow | undefined>;
  /** Make `name` at `version` (default latest) active at `now` and append `audit(that version)`, in one transaction; undefined (nothing written) when it does not exist. */
  activate(name: string, version: number | undefined, now: number, audit: AuditOf<PolicyVersionRow>): Promise<PolicyVersionRow | undefined>;
}

export interface ReferenceValuesRow {
  name: string;
  /** Lower-case hex, as stored. */
  values: string[];
  updatedAt: number;
  updatedBy: string;
}

export interface ReferenceValueStorage {
  /** Insert or replace the set and append `audit(the previous values, undefined when new)`, in one transaction. */
  put(row: ReferenceValuesRow, audit: AuditOf<string[] | undefined>): Promise<void>;
  get(name: string): Promise<ReferenceValuesRow | undefined>;
  /** Every set, by name. */
  list(): Promise<ReferenceValuesRow[]>;
}

// Secrets ---------------------------------------------------------------------------------

export interface SecretVersionRow {
  name: string;
  version: number;
  createdAt: number;
  createdBy: string;
  description: string | null;
  labels: Record<string, string>;
  /** CEL release policy; null: the status and policy gates alone decide. */
  releasePolicy: string | null;
  /** Appraisal policy names whose results are accepted; null: any. */
  acceptPolicies: string[] | null;
  acceptStatuses: string[];
  /** Envelope (JSON text) of the value under the KEK; null once deleted (tombstone). */
  value: string | null;
  size: number;
  deletedAt: number | null;
  deletedBy: string | null;
}

export type SecretVersionMeta = Omit<SecretVersionRow, 'value'>;

export interface SecretStorage {
  /**
   * Store a new version of `name`: one past the highest ever used (tombstones included),
   * the row built by `build(version)` (it seals the value: the envelope context names the
   * version), and its audit entry, in one transaction.
   */
  put(name: string, build: (version: number) => { row: Omit<SecretVersionRow, 'name' | 'version'>; audit: AuditInput }): Promise<SecretVersionRow>;
  /** Whether `name` ever had a version (tombstones included). */
  exists(name: string): Promise<boolean>;
  /** Live (not deleted) versions of every secret, by name then version ascending; no values. */
  listLive(): Promise<SecretVersionMeta[]>;
  /** A live version: `version`, or the newest when undefined. */
  findLive(name: string, version?: number): Promise<SecretVersionRow | undefined>;
  /**
   * Tombstone `version` (or every live version when undefined) at `now` by `actor`: the
   * sealed value is erased from the database, and from the engine's log where it can be
   * (SQLite: WAL checkpoint). Appends `audit(versions)` when any was deleted. Returns them, ascending.
   */
  delete(name: string, version: number | undefined, now: number, actor: string, audit: AuditOf<number[]>): Promise<number[]>;
}

// Configuration epoch and rate limits -----------------------------------------------------

export interface ConfigEpochStorage {
  /**
   * The configuration epoch: a counter that moves in the same transaction as any write to
   * signing keys, policy versions, the active policy or reference values, whoever writes.
   * Undefined when the engine has none (then nothing may be cached).
   */
  read(): Promise<number | undefined>;
}

export interface RateLimitStorage {
  /** Count one request of `bucket` from `address` against `limit` per window of `windowMs` (0 = unlimited), at `now`. */
  take(bucket: string, address: string, limit: number, windowMs: number, now: number): Promise<RateDecision>;
}

// KBS sessions (server/kbs/) -----------------------------------------------------------------

/** One KBS protocol session (trustee kbs/src/api_server.rs: auth -> attest -> resource). */
export interface KbsSessionRow {
  id: string;
  nonce: string;
  tee: string;
  state: 'auth' | 'attested';
  hashAlg: string;
  teePubkey: string | null;
  token: string | null;
  attestationId: string | null;
  createdAt: number;
  expiresAt: number;
}

export interface KbsAttested {
  teePubkey: string;
  token: string;
  attestationId: string;
  expiresAt: number;
}

export interface KbsSessionStorage {
  create(row: KbsSessionRow): Promise<void>;
  /** The session unless absent or expired at `now`. */
  get(id: string, now: number): Promise<KbsSessionRow | undefined>;
  /** Move an `auth` session to `attested`; false if it was attested already (the nonce is used once) or expired. */
  markAttested(id: string, attested: KbsAttested, now: number): Promise<boolean>;
  /** Forget sessions expired before `now`; returns how many. */
  prune(now: number): Promise<number>;
}

// The store -------------------------------------------------------------------------------

export interface Store {
  /** `sqlite` or `postgres`: for logs and /metrics, never for branching outside server/storage. */
  readonly engine: string;
  challenges: ChallengeStorage;
  attestations: AttestationStorage;
  audit: AuditStorage;
  apiTokens: ApiTokenStorage;
  signingKeys: SigningKeyStorage;
  serverSecrets: ServerSecretStorage;
  sealedRecords: SealedRecordStorage;
  policies: PolicyStorage;
  referenceValues: ReferenceValueStorage;
  secrets: SecretStorage;
  /** The collateral cache shared by every replica (verifier/collateral/store.ts). */
  collateral: CollateralStore;
  configEpoch: ConfigEpochStorage;
  rateLimits: RateLimitStorage;
  kbsSessions: KbsSessionStorage;
  /** Resolves when the database answers; rejects with StoreUnavailableError, or NotDurableError once a commit could not be made durable. */
  ping(): Promise<void>;
  /** Write what is queued, then release the connection(s). */
  close(): Promise<void>;
}
