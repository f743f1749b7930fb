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
