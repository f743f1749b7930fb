// A secret version as both engines store it: the list-valued fields as JSON text. One codec,
// so a row written by one engine (or copied by `tessera db copy`) reads the same on the other.

import { decodeJson } from '../decode.ts';
import type { SecretVersionRow } from '../store.ts';

/** The columns that differ from SecretVersionRow: JSON text in the table. */
export type StoredSecretVersion = Omit<SecretVersionRow, 'labels' | 'acceptPolicies' | 'acceptStatuses'> & {
  labels: string;
  acceptPolicies: string | null;
  acceptStatuses: string;
};

const recordOf = (r: { name: string; version: number }) => `secret_versions ${r.name} v${r.version}`;

export function secretVersionFromRow(r: StoredSecretVersion): SecretVersionRow {
  return {
    ...r,
    labels: decodeJson<Record<string, string>>(recordOf(r), 'labels', r.labels),
    acceptPolicies: r.acceptPolicies === null ? null : decodeJson<string[]>(recordOf(r), 'accept_policies', r.acceptPolicies),
    acceptStatuses: decodeJson<string[]>(recordOf(r), 'accept_statuses', r.acceptStatuses),
  };
}

export function secretVersionToRow(r: SecretVersionRow): StoredSecretVersion {
  return {
    ...r,
    labels: JSON.stringify(r.labels),
    acceptPolicies: r.acceptPolicies === null ? null : JSON.stringify(r.acceptPolicies),
    acceptStatuses: JSON.stringify(r.acceptStatuses),
  };
}
