// Trust domains: a set of roots together with the collateral source that belongs to them.
// Production mode has one, the pinned vendor roots with the collateral cache in front of
// AMD KDS and Intel PCS. Development mode adds the simulator's roots with the simulator's
// collateral (and tests add their own). Keeping them apart matters: the SEV-SNP verifier
// takes the first AMD root of the evidence's product, and the simulator serves a Milan CRL
// that real Milan evidence must never be checked against.

import type { TrustAnchors } from '../verifier/anchors.ts';
import type { CollateralSource } from '../verifier/collateral/source.ts';

export interface TrustDomain {
  /** `production`, `simulator`, or a test's name: for logs. */
  name: string;
  anchors: TrustAnchors;
  collateral: CollateralSource | undefined;
}
