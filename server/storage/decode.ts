// Decoding what an engine stored as text. A column that does not hold the JSON this version
// writes was changed behind the service's back: that row is corrupt (StoreCorruptError,
// 503 store_corrupt), not a bug to answer with a 500.

import { StoreCorruptError } from './store.ts';

/** JSON.parse of a stored column, naming the row when it fails. */
export function decodeJson<T>(record: string, column: string, text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new StoreCorruptError(record, `its ${column} column is not JSON`);
  }
}

/** The name of a sealed record in errors, logs and audit entries. */
export function sealedRecordName(r: { kind: 'secret-version'; name: string; version: number } | { kind: 'signing-key'; kid: string } | { kind: 'server-secret'; name: string }): string {
  if (r.kind === 'secret-version') return `secret_versions ${r.name} v${r.version}`;
  if (r.kind === 'signing-key') return `signing_keys ${r.kid}`;
  return `server_secrets ${r.name}`;
}

/**
 * The JSON array of the stored-result values the fleet groups on (AttestationStorage.fleet),
 * in this order, as both engines build it in SQL: one parse of each result per query.
 */
export const FLEET_PATHS = ['verified', 'claims.platform', 'claims.tcb', 'claims.snp.currentVersion', 'platform', 'claims.measurement', 'claims.tdx.rtmr'] as const;

/** The group key's values by name; a key that is not the array both engines build decodes to nothing. */
export function decodeFleetKey(text: string): { verified: boolean; platform: unknown; tcb: unknown; firmware: unknown; intel: unknown; measurement: unknown; rtmr: unknown } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    v = undefined;
  }
  const a = Array.isArray(v) ? v : [];
  const at = (i: number): unknown => (a[i] === null ? undefined : a[i]);
  return { verified: a[0] === true, platform: at(1), tcb: at(2), firmware: at(3), intel: at(4), measurement: at(5), rtmr: at(6) };
}
