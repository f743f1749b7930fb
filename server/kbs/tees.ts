// The TEE names of the KBS protocol (kbs-types `Tee`, serde lower case / kebab case) that
// this server verifies, and the tessera TEE each one is.

import type { Tee } from '../../verifier/result.ts';

export const KBS_TEES = { snp: 'sev-snp', tdx: 'tdx', 'az-snp-vtpm': 'az-snp-vtpm', 'az-tdx-vtpm': 'az-tdx-vtpm' } as const satisfies Record<string, Tee>;
export type KbsTee = keyof typeof KBS_TEES;

export function isKbsTee(value: unknown): value is KbsTee {
  return typeof value === 'string' && Object.hasOwn(KBS_TEES, value);
}
