// The hash chain of the audit log, whatever engine stores it. Entry n stores
//   hash_n = SHA-256("tessera-audit-v1\n" || hash_{n-1} || "\n" || canonical JSON of entry n)
// with hash_0 = 64 zeros, so editing, inserting or removing any entry but the newest breaks
// every later link. Engines serialise appends (one writer at the head at a time) and call
// chainEntry() inside that serialised section; verification (log.ts) recomputes the same.

import { createHash } from 'node:crypto';
import { canonicalJson } from '../../verifier/policy/canonical.ts';
import type { AuditInput, AuditPosition, AuditRow } from '../storage/store.ts';

export const GENESIS_HASH = '0'.repeat(64);

export const GENESIS: AuditPosition = { seq: 0, hash: GENESIS_HASH };

/** The canonical form of a row that its hash covers (everything but the hashes). */
export function canonicalRow(row: Omit<AuditRow, 'hash' | 'prevHash' | 'details'>, details: unknown): string {
  return canonicalJson({
    seq: row.seq,
    at: row.at,
    action: row.action,
    outcome: row.outcome,
    actor: row.actor,
    subject: row.subject,
    tee: row.tee,
    clientAddress: row.clientAddress,
    details,
  });
}

export function chainHash(prevHash: string, canonical: string): string {
  return createHash('sha256').update('tessera-audit-v1\n').update(prevHash).update('\n').update(canonical, 'utf8').digest('hex');
}

/** The row that follows `head` for `input` (at `input.at`, else `now`). */
export function chainEntry(head: AuditPosition, input: AuditInput, now: number): AuditRow {
  const details = input.details ?? {};
  const base = {
    seq: head.seq + 1,
    at: input.at ?? now,
    action: input.action,
    outcome: input.outcome,
    actor: input.actor,
    subject: input.subject ?? null,
    tee: input.tee ?? null,
    clientAddress: input.clientAddress ?? null,
  };
  return { ...base, details: canonicalJson(details), prevHash: head.hash, hash: chainHash(head.hash, canonicalRow(base, details)) };
}
