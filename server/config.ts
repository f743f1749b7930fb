// Service configuration: defaults, then a YAML or JSON file, then TESSERA_* environment
// variables, then command-line flags. Validated with zod; an error names the bad key and
// where it came from (file key or environment variable), never echoing secret values.

import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const rateLimitSchema = z.strictObject({
  /** Length of the fixed window, seconds. */
  windowSeconds: z.number().int().min(1).max(3600).default(60),
  /** Requests per window and client address; 0 disables the limit. */
  challenge: z.number().int().min(0).default(600),
  attest: z.number().int().min(0).default(600),
  /**
   * Refused API-token authentications per window and address before further ones get 429
   * and are no longer audited one by one: each refusal is an audit entry, so without a bound
   * anyone who can reach the port could grow the audit log without end. Valid tokens are
   * never limited. 0 disables the limit.
   */
  authFailures: z.number().int().min(0).default(60),
});

const collateralSchema = z.strictObject({
  /** Never contact AMD KDS / Intel PCS: only collateral in the evidence or the cache is used. */
  offline: z.boolean().default(false),
  /** AMD KDS base URL (or a mirror). */
  kdsUrl: z.url().optional(),
  /** Intel PCS base URL, or a PCCS. */
  pcsUrl: z.url().optional(),
  /** How long past its nextUpdate a cached document may be served while the vendor is down. */
  maxStalenessHours: z.number().min(0).max(24 * 30).default(24),
  /**
   * Accept CRLs and TCB documents sent by the attester with its evidence on /v1/attest. Off by
   * default: an attester could replay an older document that has not expired yet (a TCB Info
   * from before a TCB recovery, a CRL from before a revocation). Certificates in the evidence
   * are always accepted: they are checked against the pinned roots and bound to the report.
   */
  acceptFromEvidence: z.boolean().default(false),
  /**
   * Vendor fetches of documents not cached yet, per minute, across all attesters (0: no
   * bound). Evidence names the VCEK or TCB Info to fetch before anything can be verified;
   * see CachingSourceOptions.maxNewDocumentsPerMinute.
   */
  maxNewDocumentsPerMinute: z.number().int().min(0).default(120),
});

const authSchema = z.strictObject({
  /**
   * Accept TESSERA_ADMIN_TOKEN, the bootstrap admin credential that lives only in the
   * environment and cannot be revoked or expire. Set to false in production once a stored,
   * expiring admin token exists (`tessera tokens create --scope admin --expires-in-days N`):
   * the service then refuses to start while the variable is still set, so a forgotten copy
   * of it in a manifest is found at the next deploy instead of staying a working credential.
   */
  allowEnvAdminToken: z.boolean().default(true),
});

const auditHeadsSchema = z.strictObject({
  /** Append each signed head to `<directory>/audit-heads.jsonl` (server/audit/head-export.ts). */
  directory: z.string().min(1).optional(),
  /** POST each signed head, as JSON, to this URL. */
  url: z.url().optional(),
  /** Minutes between exports (the first is at start). Export is on when directory or url is set. */
  intervalMinutes: z.number().positive().max(24 * 60).default(15),
  /** Bound on one POST to `url`, seconds. */
  timeoutSeconds: z.number().int().min(1).max(300).default(10),
});

const consoleSchema = z.strictObject({
  /**
   * Lifetime of an operator console session (server/console/), minutes: the stored API token
   * it is (named console:<parent id>) expires then, or when its parent does if sooner.
   */
  sessionMinutes: z.number().int().min(1).max(24 * 60).default(60),
});

const kbsSchema = z.strictObject({
  /**
   * Serve the Confidential Containers KBS protocol under /kbs/v0 (server/kbs/). Default: on in
   * development mode, off in production (an operator turns it on knowingly); off, /kbs/* is 404.
   */
  enabled: z.boolean().optional(),
  /** How long a KBS session (auth -> attest -> resource) lives, seconds. */
  sessionTtlSeconds: z.number().int().min(10).max(24 * 3600).default(300),
});

function defaultVerifyThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

export const configSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8080),
  dataDir: z.string().min(1).default('./data'),
  /**
   * A PostgreSQL database (postgres://user@host:5432/db) holding the state instead of SQLite
   * in dataDir: what N replicas share. The password may be in the URL or in PGPASSWORD
   * (pg reads the PG* variables); it is never logged.
   */
  database: z
    .string()
    .regex(/^postgres(ql)?:\/\//i, 'expected a postgres:// URL')
    .optional(),
  /** Development mode: trusts the simulator's roots, creates a KEK file. Never in production. */
  dev: z.boolean().default(false),
  /** File holding the base64 32-byte key-encryption key (alternative to TESSERA_KEK). */
  kekFile: z.string().min(1).optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Largest accepted request body, bytes. */
  bodyLimit: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
  /** Open HTTP connections at most; more are closed on arrival. */
  maxConnections: z.number().int().min(1).max(1_000_000).default(4096),
  challengeTtlSeconds: z.number().int().min(5).max(3600).default(300),
  tokenTtlSeconds: z.number().int().min(30).max(7 * 24 * 3600).default(3600),
  /** Take the client address from X-Forwarded-For (only behind a trusted reverse proxy). */
  trustProxy: z.boolean().default(false),
  /** SQLite synchronous pragma: `full` fsyncs every decision; `normal` (WAL) may lose the last ones on power loss. */
  dbSynchronous: z.enum(['normal', 'full']).default('full'),
  /**
   * Worker threads verifying evidence off the event loop (server/verification/pool.ts); 0
   * verifies on the event loop. Default: one per core but one (left to the event loop), 1 to 4.
   */
  verifyThreads: z.number().int().min(0).max(64).default(defaultVerifyThreads()),
  /** CRL handling passed to the verifier. */
  crl: z.enum(['require', 'prefer', 'off']).default('prefer'),
  rateLimit: rateLimitSchema.default({ windowSeconds: 60, challenge: 600, attest: 600, authFailures: 60 }),
  collateral: collateralSchema.default({ offline: false, maxStalenessHours: 24, acceptFromEvidence: false, maxNewDocumentsPerMinute: 120 }),
  auth: authSchema.default({ allowEnvAdminToken: true }),
  /** Exported signed audit heads, the log's witness (off unless directory or url is set). */
  auditHeads: auditHeadsSchema.default({ intervalMinutes: 15, timeoutSeconds: 10 }),
  console: consoleSchema.default({ sessionMinutes: 60 }),
  kbs: kbsSchema.default({ sessionTtlSeconds: 300 }),
});

export type ServiceConfig = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Kind = 'string' | 'int' | 'bool';
/** Environment variable -> config key path, and how to read it. */
export const ENV: Record<string, { path: string[]; kind: Kind }> = {
  TESSERA_HOST: { path: ['host'], kind: 'string' },
  TESSERA_PORT: { path: ['port'], kind: 'int' },
  TESSERA_DATA_DIR: { path: ['dataDir'], kind: 'string' },
  TESSERA_DATABASE_URL: { path: ['database'], kind: 'string' },
  TESSERA_DEV: { path: ['dev'], kind: 'bool' },
  TESSERA_KEK_FILE: { path: ['kekFile'], kind: 'string' },
  TESSERA_LOG_LEVEL: { path: ['logLevel'], kind: 'string' },
  TESSERA_BODY_LIMIT: { path: ['bodyLimit'], kind: 'int' },
  TESSERA_MAX_CONNECTIONS: { path: ['maxConnections'], kind: 'int' },
  TESSERA_CHALLENGE_TTL: { path: ['challengeTtlSeconds'], kind: 'int' },
  TESSERA_TOKEN_TTL: { path: ['tokenTtlSeconds'], kind: 'int' },
  TESSERA_TRUST_PROXY: { path: ['trustProxy'], kind: 'bool' },
  TESSERA_DB_SYNCHRONOUS: { path: ['dbSynchronous'], kind: 'string' },
  TESSERA_CRL: { path: ['crl'], kind: 'string' },
  TESSERA_VERIFY_THREADS: { path: ['verifyThreads'], kind: 'int' },
  TESSERA_RATE_LIMIT_WINDOW: { path: ['rateLimit', 'windowSeconds'], kind: 'int' },
  TESSERA_RATE_LIMIT_CHALLENGE: { path: ['rateLimit', 'challenge'], kind: 'int' },
  TESSERA_RATE_LIMIT_ATTEST: { path: ['rateLimit', 'attest'], kind: 'int' },
  TESSERA_RATE_LIMIT_AUTH_FAILURES: { path: ['rateLimit', 'authFailures'], kind: 'int' },
  TESSERA_COLLATERAL_OFFLINE: { path: ['collateral', 'offline'], kind: 'bool' },
  TESSERA_COLLATERAL_ACCEPT_FROM_EVIDENCE: { path: ['collateral', 'acceptFromEvidence'], kind: 'bool' },
  TESSERA_COLLATERAL_MAX_NEW_PER_MINUTE: { path: ['collateral', 'maxNewDocumentsPerMinute'], kind: 'int' },
  TESSERA_KDS_URL: { path: ['collateral', 'kdsUrl'], kind: 'string' },
  TESSERA_PCS_URL: { path: ['collateral', 'pcsUrl'], kind: 'string' },
  TESSERA_ALLOW_ENV_ADMIN_TOKEN: { path: ['auth', 'allowEnvAdminToken'], kind: 'bool' },
  TESSERA_AUDIT_HEADS_DIR: { path: ['auditHeads', 'directory'], kind: 'string' },
  TESSERA_AUDIT_HEADS_URL: { path: ['auditHeads', 'url'], kind: 'string' },
  TESSERA_AUDIT_HEADS_INTERVAL_MINUTES: { path: ['auditHeads', 'intervalMinutes'], kind: 'int' },
  TESSERA_CONSOLE_SESSION_MINUTES: { path: ['console', 'sessionMinutes'], kind: 'int' },
  TESSERA_KBS_ENABLED: { path: ['kbs', 'enabled'], kind: 'bool' },
  TESSERA_KBS_SESSION_TTL: { path: ['kbs', 'sessionTtlSeconds'], kind: 'int' },
};

/** Whether the KBS endpoints are served: `kbs.enabled`, else development mode. */
export function kbsEnabled(config: ServiceConfig): boolean {
  return config.kbs.enabled ?? config.dev;
}

/** Secrets read from the environment elsewhere (server/crypto/kek.ts, server/service.ts), never configuration. */
export const ENV_SECRETS = ['TESSERA_KEK', 'TESSERA_ADMIN_TOKEN'] as const;

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function readEnvValue(name: string, raw: string, kind: Kind): unknown {
  if (kind === 'string') return raw;
  if (kind === 'int') {
    if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name}: expected a non-negative integer`);
    return Number(raw.trim());
  }
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
  throw new ConfigError(`${name}: expected true or false`);
}

function readFileConfig(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let doc: unknown;
  try {
    // YAML is a superset of JSON, so one parser reads both formats.
    doc = text.trim() === '' ? {} : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`config file ${file}: expected a mapping of keys`);
  return doc as Record<string, unknown>;
}

export interface LoadConfigOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Command-line flags, highest precedence. */
  overrides?: ConfigInput;
}

/** Merge file, environment and flags over the defaults and validate the result. */
export function loadConfig(options: LoadConfigOptions = {}): ServiceConfig {
  const env = options.env ?? process.env;
  const merged: Record<string, unknown> = options.file ? readFileConfig(options.file) : {};
  // Where each key came from, so that an error points at the file key or the variable.
  const origin = new Map<string, string>();

  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('TESSERA_') || raw === undefined) continue;
    const spec = ENV[name];
    // Other TESSERA_* variables belong to other tools (the agent, the simulator) or are
    // secrets read elsewhere (ENV_SECRETS): not configuration keys of the server.
    if (!spec) continue;
    setPath(merged, spec.path, readEnvValue(name, raw, spec.kind));
    origin.set(spec.path.join('.'), name);
  }
  for (const [key, value] of Object.entries(options.overrides ?? {})) {
    if (value === undefined) continue;
    merged[key] = value;
    origin.set(key, `--${key.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`)}`);
  }

  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const messages = parsed.error.issues.map((issue) => {
      const key = issue.path.map(String).join('.');
      const keys = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => (key ? `${key}.${k}` : k)) : [key];
      const where = keys.map((k) => origin.get(k) ?? (options.file ? `${options.file}: ${k}` : k)).join(', ');
      return `${where || '(config)'}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration: ${messages.join('; ')}`);
  }
  return parsed.data;
}
