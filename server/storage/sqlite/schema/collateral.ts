// The collateral cache shared by every replica (DESIGN.md "Collateral"): VCEKs, AMD cert
// chains and CRLs, Intel TCB Info, QE Identity and CRLs, as fetched. Untrusted bytes:
// the verifiers check every document against the pinned roots on every use.
import { blob, index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const collateralDocuments = sqliteTable(
  'collateral_documents',
  {
    /** verifier/collateral/document.ts documentKey(), e.g. `intel-tcb-info/tdx/b0c06f000000`. */
    key: text('key').primaryKey(),
    /** snp-vcek | snp-cert-chain | snp-crl | intel-tcb-info | intel-qe-identity | intel-pck-crl | intel-root-ca-crl */
    kind: text('kind').notNull(),
    bytes: blob('bytes', { mode: 'buffer' }).notNull(),
    /** Intel PCS issuer chain (PEM). */
    issuerChain: text('issuer_chain'),
    /** amd-kds | intel-pcs | bundle */
    source: text('source').notNull(),
    /** Unix milliseconds. */
    fetchedAt: integer('fetched_at').notNull(),
    /** Unix milliseconds; null for documents without one (VCEKs). */
    nextUpdate: integer('next_update'),
    /** 1 for VCEKs: never refreshed. */
    immutable: integer('immutable', { mode: 'boolean' }).notNull(),
  },
  (t) => [index('collateral_documents_next_update').on(t.nextUpdate)],
);
