// Secrets at rest: immutable versions, each value an AES-256-GCM envelope under its own data
// key wrapped by the KEK (server/crypto/envelope.ts). The envelope's context names the secret
// and version, so a ciphertext copied into another row does not open. Listings carry
// metadata and sizes only: never a value, nor a hash of one (a hash of a short secret is
// as good as the secret to anyone who can guess it).

import { compileReleasePolicy, type EarStatus, type ReleasePolicy } from '../../verifier/policy/index.ts';
import { decryptEnvelope, encryptEnvelope, EnvelopeError, parseEnvelope, serializeEnvelope } from '../crypto/envelope.ts';
import { StoreCorruptError } from '../storage/store.ts';
import type { SecretStorage, SecretVersionMeta } from '../storage/store.ts';

/** Names: no slashes, no leading dot, no `..`: safe as a URL segment and as a file name (the agent writes one file per name). */
export const SECRET_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const MAX_SECRET_BYTES = 64 * 1024;

export function isSecretName(name: string): boolean {
  return SECRET_NAME_RE.test(name) && !name.includes('..');
}

export const secretContext = (name: string, version: number) => `secret:${name}:${version}`;

export interface SecretInput {
  value: Buffer;
  releasePolicy?: string;
  acceptPolicies?: string[];
  acceptStatuses?: EarStatus[];
  description?: string;
  labels?: Record<string, string>;
}

export interface SecretVersionInfo {
  name: string;
  version: number;
  createdAt: string;
  createdBy: string;
  description: string | null;
  labels: Record<string, string>;
  releasePolicy: string | null;
  acceptPolicies: string[] | null;
  acceptStatuses: EarStatus[];
  size: number;
  deletedAt: string | null;
}

function toInfo(row: SecretVersionMeta): SecretVersionInfo {
  return {
    name: row.name,
    version: row.version,
    createdAt: new Date(row.createdAt).toISOString(),
    createdBy: row.createdBy,
    description: row.description,
    labels: row.labels,
    releasePolicy: row.releasePolicy,
    acceptPolicies: row.acceptPolicies,
    acceptStatuses: row.acceptStatuses as EarStatus[],
    size: row.size,
    deletedAt: row.deletedAt === null ? null : new Date(row.deletedAt).toISOString(),
  };
}

/** The release gates of one version, compiled (CEL programs are cached by expression in verifier/policy). */
export function releasePolicyOf(info: Pick<SecretVersionInfo, 'releasePolicy' | 'acceptPolicies' | 'acceptStatuses'>): ReleasePolicy {
  // No expression: the status and policy gates alone decide ("true" adds nothing).
  return compileReleasePolicy(info.releasePolicy ?? 'true', {
    acceptedStatuses: info.acceptStatuses,
    ...(info.acceptPolicies ? { appraisalPolicies: info.acceptPolicies } : {}),
  });
}

export class SecretStore {
  constructor(
    private readonly rows: SecretStorage,
    private readonly kek: Buffer,
  ) {}

  /**
   * Store a new version (1 for a new name, else one past the highest ever used, deleted
   * ones included) and audit it, in one transaction. The release policy must compile:
   * compileReleasePolicy throws PolicyValidationError pointing at the CEL error.
   */
  async put(name: string, input: SecretInput, actor: string, clientAddress: string | null, now: number = Date.now()): Promise<SecretVersionInfo> {
    const acceptStatuses = input.acceptStatuses ?? ['affirming'];
    releasePolicyOf({ releasePolicy: input.releasePolicy ?? null, acceptPolicies: input.acceptPolicies ?? null, acceptStatuses });
    const row = await this.rows.put(name, (version) => {
      const row = {
        createdAt: now,
        createdBy: actor,
        description: input.description ?? null,
        labels: input.labels ?? {},
        releasePolicy: input.releasePolicy ?? null,
        acceptPolicies: input.acceptPolicies ?? null,
        acceptStatuses,
        // Sealed here, once the version is known: the envelope's context names it.
        value: serializeEnvelope(encryptEnvelope(this.kek, input.value, secretContext(name, version))),
        size: input.value.length,
        deletedAt: null,
        deletedBy: null,
      };
      return {
        row,
        audit: {
          action: 'secret.put',
          outcome: 'success',
          actor,
          subject: name,
          clientAddress,
          at: now,
          details: { name, version, size: row.size, releasePolicy: row.releasePolicy, acceptPolicies: row.acceptPolicies, acceptStatuses },
        },
      };
    });
    return toInfo(row);
  }

  /** Whether `name` ever had a version (deleted ones included). */
  exists(name: string): Promise<boolean> {
    return this.rows.exists(name);
  }

  /** Live (not deleted) versions, oldest first, of every secret; the listing of GET /v1/secrets. */
  async list(): Promise<{ name: string; latestVersion: number; versions: SecretVersionInfo[] }[]> {
    const byName = new Map<string, SecretVersionInfo[]>();
    for (const r of await this.rows.listLive()) {
      const list = byName.get(r.name) ?? [];
      list.push(toInfo(r));
      byName.set(r.name, list);
    }
    return [...byName].map(([name, versions]) => ({ name, latestVersion: versions[versions.length - 1]!.version, versions }));
  }

  /**
   * A live version (the one asked for, or the newest), read once: its metadata now, its value
   * only when `open()` is called (after the release gates passed). open() throws
   * StoreCorruptError when the KEK does not open it (the row was altered, copied from
   * another row, or sealed under another KEK); the caller wipes the value after use.
   */
  async find(name: string, version?: number): Promise<{ info: SecretVersionInfo; open(): Buffer } | undefined> {
    const row = await this.rows.findLive(name, version);
    if (!row || row.value === null) return undefined;
    const sealed = row.value;
    return {
      info: toInfo(row),
      open: () => {
        try {
          return decryptEnvelope(this.kek, parseEnvelope(sealed), secretContext(row.name, row.version));
        } catch (err) {
          if (err instanceof EnvelopeError) throw new StoreCorruptError(`secret_versions ${row.name} v${row.version}`, `its value does not open under this server's KEK (${err.message})`);
          throw err;
        }
      },
    };
  }

  /**
   * Delete one version, or every live version of `name`: the ciphertext is erased from the
   * database (and its log where the engine can), the row stays as a tombstone. Audited in
   * the same transaction. Returns the versions deleted.
   */
  delete(name: string, version: number | undefined, actor: string, clientAddress: string | null, now: number = Date.now()): Promise<number[]> {
    return this.rows.delete(name, version, now, actor, (versions) => ({ action: 'secret.delete', outcome: 'success', actor, subject: name, clientAddress, at: now, details: { name, versions } }));
  }
}
