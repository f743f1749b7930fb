// Where fetched collateral is kept between uses: the service's store (each engine of
// server/storage/ keeps it, e.g. server/storage/sqlite/collateral.ts), a JSON file for the
// CLI (file-store.ts), or memory (memory-store.ts). A store holds bytes, not trust: every document read back from it is
// verified by the verifier on every use, exactly like one fresh from the vendor.

import type { CollateralKind } from './document.ts';

export interface CollateralEntry {
  /** documentKey() of the request that names it. */
  key: string;
  kind: CollateralKind;
  /** The document as served (see CollateralDocument.bytes). */
  bytes: Uint8Array;
  /** Intel PCS issuer chain, PEM. */
  issuerChain?: string;
  /** Where it was first obtained: `amd-kds`, `intel-pcs`, `bundle`... */
  source: string;
  fetchedAt: Date;
  /** When the vendor will publish a newer one (CRL nextUpdate, TCB Info / QE Identity nextUpdate). */
  nextUpdate?: Date;
  /** Never refreshed: a VCEK is fixed for its chip and TCB. */
  immutable: boolean;
}

export interface CollateralStore {
  get(key: string): Promise<CollateralEntry | undefined>;
  /** Insert or replace the entry with the same key. */
  put(entry: CollateralEntry): Promise<void>;
  /** put() for each, written at once: a bundle import, not one write (and fsync) per document. */
  putMany(entries: readonly CollateralEntry[]): Promise<void>;
  /** Every entry, in key order. */
  list(): Promise<CollateralEntry[]>;
  delete(key: string): Promise<void>;
}
