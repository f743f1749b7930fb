// Trust anchors: the roots a verification may chain to. Production anchors are pinned in
// the code (verifier/snp/amd-roots.ts, verifier/tdx/intel-root.ts); the development
// simulator's roots are added only by a server started in development mode, and every
// result that chains to one of them carries `simulated: true`.

import type { SnpProduct } from './snp/product.ts';

export interface AmdAnchor {
  product: SnpProduct;
  /** ARK certificate, DER. Pinned: the evidence's own ARK is never trusted. */
  arkDer: Uint8Array;
  /** The product's ASK (VCEK intermediate), DER, used when the evidence supplies none. */
  askDer?: Uint8Array;
  /** The product's ASVK (VLEK intermediate), DER. */
  asvkDer?: Uint8Array;
  simulated?: boolean;
}

export interface IntelAnchor {
  /** Intel SGX Root CA certificate, DER. Trusted by its key, not its name. */
  rootDer: Uint8Array;
  simulated?: boolean;
}

export interface TrustAnchors {
  amd: AmdAnchor[];
  intel: IntelAnchor[];
}
