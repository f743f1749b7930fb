// A cached collateral document as both engines store it (times as Unix milliseconds).

import { requestFromKey } from '../../../verifier/collateral/document.ts';
import type { CollateralEntry } from '../../../verifier/collateral/store.ts';

export interface StoredCollateralDocument {
  key: string;
  kind: string;
  bytes: Uint8Array;
  issuerChain: string | null;
  source: string;
  fetchedAt: number;
  nextUpdate: number | null;
  immutable: boolean;
}

/**
 * The entry a row holds, or undefined for a row whose key is not one this version makes
 * (written by another version, or edited by hand): ignored rather than served under a
 * wrong name, so the document is fetched again.
 */
export function collateralEntryFromRow(row: StoredCollateralDocument): CollateralEntry | undefined {
  let kind: CollateralEntry['kind'];
  try {
    kind = requestFromKey(row.key).kind;
  } catch {
    return undefined;
  }
  if (kind !== row.kind) return undefined;
  const entry: CollateralEntry = { key: row.key, kind, bytes: new Uint8Array(row.bytes), source: row.source, fetchedAt: new Date(row.fetchedAt), immutable: row.immutable };
  if (row.issuerChain !== null) entry.issuerChain = row.issuerChain;
  if (row.nextUpdate !== null) entry.nextUpdate = new Date(row.nextUpdate);
  return entry;
}
