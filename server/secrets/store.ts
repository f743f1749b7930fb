// Secrets at rest: immutable versions, each value an AES-256-GCM envelope under its own data
// key wrapped by the KEK (server/crypto/envelope.ts). The envelope's context names the secret
// and version, so a ciphertext copied into another row does not open. Listings carry
// metadata and sizes only: never a value, nor a hash of one (a hash of a short secret is
// as good as the secret to anyone who can guess it).

import { and, asc, desc, eq, isNull, max } from 'drizzle-orm';
import { compileReleasePolicy, type EarStatus, type ReleasePolicy } from '../../verifier/policy/index.ts';
import { appendAudit } from '../audit/log.ts';
import { decryptEnvelope, encryptEnvelope, parseEnvelope, serializeEnvelope } from '../crypto/envelope.ts';
import type { Db } from '../storage/db.ts';
import { secretVersions } from '../storage/schema/secrets.ts';

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

type Row = typeof secretVersions.$inferSelect;

function toInfo(row: Row): SecretVersionInfo {
  return {
    name: row.name,
    version: row.version,
    createdAt: new Date(row.createdAt).toISOString(),
    createdBy: row.createdBy,
    description: row.description,
    labels: JSON.parse(row.labels) as Record<string, string>,
    releasePolicy: row.releasePolicy,
    acceptPolicies: row.acceptPolicies === null ? null : (JSON.parse(row.acceptPolicies) as string[]),
    acceptStatuses: JSON.parse(row.acceptStatuses) as EarStatus[],
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
    private readonly db: Db,
    private readonly kek: Buffer,
  ) {}

  /**
   * Store a new version (1 for a new name, else one past the highest ever used, deleted
   * ones included) and audit it, in one transaction. The release policy must compile:
   * compileReleasePolicy throws PolicyValidationError pointing at the CEL error.
   */
  put(name: string, input: SecretInput, actor: string, clientAddress: string | null, now: number = Date.now()): SecretVersionInfo {
    const acceptStatuses = input.acceptStatuses ?? ['affirming'];
    releasePolicyOf({ releasePolicy: input.releasePolicy ?? null, acceptPolicies: input.acceptPolicies ?? null, acceptStatuses });
    return this.db.$client
      .transaction(() => {
        const last = this.db.select({ v: max(secretVersions.version) }).from(secretVersions).where(eq(secretVersions.name, name)).get();
        const version = (last?.v ?? 0) + 1;
        const row: Row = {
          name,
          version,
          createdAt: now,
          createdBy: actor,
          description: input.description ?? null,
          labels: JSON.stringify(input.labels ?? {}),
          releasePolicy: input.releasePolicy ?? null,
          acceptPolicies: input.acceptPolicies ? JSON.stringify(input.acceptPolicies) : null,
          acceptStatuses: JSON.stringify(acceptStatuses),
          value: serializeEnvelope(encryptEnvelope(this.kek, input.value, secretContext(name, version))),
          size: input.value.length,
          deletedAt: null,
          deletedBy: null,
        };
        this.db.insert(secretVersions).values(row).run();
        const info = toInfo(row);
        appendAudit(
          this.db,
          {
            action: 'secret.put',
            outcome: 'success',
            actor,
            subject: name,
            clientAddress,
            details: { name, version, size: info.size, releasePolicy: info.releasePolicy, acceptPolicies: info.acceptPolicies, acceptStatuses },
          },
          now,
        );
        return info;
      })
      .immediate();
  }

  /** Whether `name` ever had a version (deleted ones included). */
  exists(name: string): boolean {
    return this.db.select({ v: secretVersions.version }).from(secretVersions).where(eq(secretVersions.name, name)).limit(1).get() !== undefined;
  }

  /** Live (not deleted) versions, oldest first, of every secret; the listing of GET /v1/secrets. */
  list(): { name: string; latestVersion: number; versions: SecretVersionInfo[] }[] {
    const rows = this.db
      .select()
      .from(secretVersions)
      .where(isNull(secretVersions.deletedAt))
      .orderBy(asc(secretVersions.name), asc(secretVersions.version))
      .all();
    const byName = new Map<string, SecretVersionInfo[]>();
    for (const r of rows) {
      const list = byName.get(r.name) ?? [];
      list.push(toInfo(r));
      byName.set(r.name, list);
    }
    return [...byName].map(([name, versions]) => ({ name, latestVersion: versions[versions.length - 1]!.version, versions }));
  }

  /** A live version: the one asked for, or the newest. */
  private liveRow(name: string, version?: number): Row | undefined {
    const where = version === undefined ? and(eq(secretVersions.name, name), isNull(secretVersions.deletedAt)) : and(eq(secretVersions.name, name), eq(secretVersions.version, version), isNull(secretVersions.deletedAt));
    return this.db.select().from(secretVersions).where(where).orderBy(desc(secretVersions.version)).limit(1).get();
  }

  /**
   * A live version (the one asked for, or the newest), read once: its metadata now, its value
   * only when `open()` is called (after the release gates passed). open() throws
   * EnvelopeError when the KEK does not open it; the caller wipes the value after use.
   */
  find(name: string, version?: number): { info: SecretVersionInfo; open(): Buffer } | undefined {
    const row = this.liveRow(name, version);
    if (!row || row.value === null) return undefined;
    const sealed = row.value;
    return { info: toInfo(row), open: () => decryptEnvelope(this.kek, parseEnvelope(sealed), secretContext(row.name, row.version)) };
  }

  /**
   * Delete one version, or every live version of `name`: the ciphertext is erased from the
   * database file and its WAL, the row stays as a tombstone. Audited in the same transaction. Returns the versions deleted.
   */
  delete(name: string, version: number | undefined, actor: string, clientAddress: string | null, now: number = Date.now()): number[] {
    const versions = this.db.$client
      .transaction(() => {
        const where = version === undefined ? and(eq(secretVersions.name, name), isNull(secretVersions.deletedAt)) : and(eq(secretVersions.name, name), eq(secretVersions.version, version), isNull(secretVersions.deletedAt));
        const deleted = this.db.update(secretVersions).set({ value: null, deletedAt: now, deletedBy: actor }).where(where).returning({ version: secretVersions.version }).all();
        const versions = deleted.map((d) => d.version).sort((a, b) => a - b);
        if (versions.length > 0) {
          appendAudit(this.db, { action: 'secret.delete', outcome: 'success', actor, subject: name, clientAddress, details: { name, versions } }, now);
        }
        return versions;
      })
      .immediate();
    // secure_delete (server/storage/db.ts) zeroes the freed space in the pages, but the WAL
    // still holds the frames written before the delete: copy the new pages back and truncate
    // it. Another process reading an older snapshot makes this wait (busy_timeout) or leave
    // those frames until a later checkpoint overwrites them.
    if (versions.length > 0) this.db.$client.pragma('wal_checkpoint(TRUNCATE)');
    return versions;
  }
}
