// The audit log: append-only and hash-chained (server/audit/chain.ts), whatever engine keeps
// it (AuditStorage, server/storage/store.ts). This file reads it for people: entries as the
// API shows them, queries, and verification of the whole chain from the genesis.

import { canonicalJson } from '../../verifier/policy/canonical.ts';
import type { AuditFilter, AuditRow, AuditStorage } from '../storage/store.ts';
import { canonicalRow, chainHash, GENESIS_HASH } from './chain.ts';

export interface AuditEntry {
  seq: number;
  at: string;
  action: string;
  outcome: string;
  actor: string;
  subject: string | null;
  tee: string | null;
  clientAddress: string | null;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

function toEntry(row: AuditRow): AuditEntry {
  let details: Record<string, unknown>;
  try {
    details = JSON.parse(row.details) as Record<string, unknown>;
  } catch {
    details = { unparseable: row.details };
  }
  return {
    seq: row.seq,
    at: new Date(row.at).toISOString(),
    action: row.action,
    outcome: row.outcome,
    actor: row.actor,
    subject: row.subject,
    tee: row.tee,
    clientAddress: row.clientAddress,
    details,
    prevHash: row.prevHash,
    hash: row.hash,
  };
}

export interface AuditQuery extends Omit<AuditFilter, 'beforeSeq'> {
  limit: number;
  /** Return entries older than this seq (keyset pagination). */
  beforeSeq?: number;
}

/** Newest first; `nextBeforeSeq` is set when more entries match. */
export async function queryAudit(audit: AuditStorage, q: AuditQuery): Promise<{ entries: AuditEntry[]; nextBeforeSeq?: number }> {
  const { limit, ...filter } = q;
  const rows = await audit.query(filter, limit + 1);
  const page = rows.slice(0, limit);
  const more = rows.length > limit;
  return more ? { entries: page.map(toEntry), nextBeforeSeq: page[page.length - 1]!.seq } : { entries: page.map(toEntry) };
}

export interface ChainReport {
  ok: boolean;
  /** Entries checked (all of them when ok). */
  checked: number;
  head?: { seq: number; hash: string };
  /** The first entry whose link does not hold, and why. */
  firstBroken?: { seq: number; reason: 'sequence_gap' | 'previous_hash_mismatch' | 'hash_mismatch' | 'details_not_json'; detail: string };
}

/** Entries read per page while verifying: the log can be far larger than memory allows to load at once. */
const VERIFY_PAGE = 1000;

/** Recompute the whole chain from the genesis, oldest first, and name the first broken link. */
export async function verifyAuditChain(audit: AuditStorage): Promise<ChainReport> {
  let prevHash = GENESIS_HASH;
  let expectedSeq = 1;
  let checked = 0;
  let head: { seq: number; hash: string } | undefined;
  // From below any seq: a row slipped in before entry 1 is a gap too.
  let after = Number.MIN_SAFE_INTEGER;
  for (;;) {
    const rows = await audit.range(after, VERIFY_PAGE);
    for (const row of rows) {
      const broken = (reason: NonNullable<ChainReport['firstBroken']>['reason'], detail: string): ChainReport => ({
        ok: false,
        checked,
        ...(head ? { head } : {}),
        firstBroken: { seq: row.seq, reason, detail },
      });
      if (row.seq !== expectedSeq) return broken('sequence_gap', `expected entry ${expectedSeq}, found ${row.seq}: entries are missing`);
      if (row.prevHash !== prevHash) return broken('previous_hash_mismatch', `entry ${row.seq} links to ${row.prevHash}, but the entry before it hashes to ${prevHash}`);
      let details: unknown;
      try {
        details = JSON.parse(row.details);
      } catch {
        return broken('details_not_json', `entry ${row.seq} has details that are not JSON`);
      }
      const hash = chainHash(prevHash, canonicalRow(row, details));
      if (hash !== row.hash || canonicalJson(details) !== row.details) {
        return broken('hash_mismatch', `entry ${row.seq} was modified: its content hashes to ${hash}, the stored hash is ${row.hash}`);
      }
      prevHash = row.hash;
      head = { seq: row.seq, hash: row.hash };
      expectedSeq += 1;
      checked += 1;
    }
    if (rows.length < VERIFY_PAGE) return { ok: true, checked, ...(head ? { head } : {}) };
    after = rows[rows.length - 1]!.seq;
  }
}
