// Offline bundles: the collateral cache in one file, to carry into an air-gapped site.
// Export writes every cached document; import believes nothing in the file: each document
// is verified against the pinned roots at the given time (verify-entry.ts), its dates are
// read from the document itself (not from the file), and a document older than the one
// already cached does not replace it. The import report says what was loaded and why
// anything was not.

import type { TrustAnchors } from '../anchors.ts';
import { PRODUCTION_ANCHORS } from '../production-anchors.ts';
import { describeDocument, requestFromKey } from './document.ts';
import { decodeCollateralFile, encodeCollateralFile } from './entry-codec.ts';
import { documentDates } from './next-update.ts';
import type { CollateralEntry, CollateralStore } from './store.ts';
import { verifyCollateralEntry } from './verify-entry.ts';

/** Every document of `store`, as one bundle (UTF-8 JSON). */
export async function exportBundle(store: CollateralStore): Promise<Uint8Array> {
  return new TextEncoder().encode(encodeCollateralFile(await store.list()));
}

export interface ImportedDocument {
  key: string;
  document: string;
}

export interface ImportReport {
  loaded: ImportedDocument[];
  /** Not genuine, not current at `at`, or unreadable. */
  rejected: (ImportedDocument & { reason: string })[];
  /** Genuine, but the cache already holds a newer one. */
  kept: (ImportedDocument & { reason: string })[];
}

export interface ImportOptions {
  /** The instant at which every document must be valid (the CLI passes the current time). */
  at: Date;
  /** Default: the production anchors pinned in the code. */
  anchors?: TrustAnchors;
}

/** Verify each document of a bundle and load the genuine ones into `store`. Throws EvidenceFormatError when the file is not a bundle at all. */
export async function importBundle(store: CollateralStore, bytes: Uint8Array, options: ImportOptions): Promise<ImportReport> {
  const anchors = options.anchors ?? PRODUCTION_ANCHORS;
  const report: ImportReport = { loaded: [], rejected: [], kept: [] };
  for (const decoded of decodeCollateralFile(Buffer.from(bytes).toString('utf8'), 'bundle')) {
    if (!decoded.ok) {
      report.rejected.push({ key: decoded.key, document: decoded.key, reason: decoded.reason });
      continue;
    }
    const request = requestFromKey(decoded.entry.key);
    const document = describeDocument(request);
    const verdict = verifyCollateralEntry(request, decoded.entry, anchors, options.at);
    if (!verdict.ok) {
      report.rejected.push({ key: decoded.entry.key, document, reason: verdict.reason });
      continue;
    }
    const dates = documentDates(request.kind, decoded.entry.bytes);
    const entry: CollateralEntry = {
      key: decoded.entry.key,
      kind: request.kind,
      bytes: decoded.entry.bytes,
      source: 'bundle',
      // Metadata the file asserts, not the document: kept only as far as it is possible. A
      // fetchedAt past the import instant would make the caching source believe the vendor
      // had just answered, and hold off every refresh once the document is due.
      fetchedAt: new Date(Math.min(decoded.entry.fetchedAt.getTime(), options.at.getTime())),
      immutable: request.kind === 'snp-vcek',
    };
    if (decoded.entry.issuerChain !== undefined) entry.issuerChain = decoded.entry.issuerChain;
    if (dates.nextUpdate) entry.nextUpdate = dates.nextUpdate;
    const existing = await store.get(entry.key);
    if (existing?.nextUpdate && entry.nextUpdate && existing.nextUpdate.getTime() > entry.nextUpdate.getTime()) {
      report.kept.push({ key: entry.key, document, reason: `the cache holds a newer one (nextUpdate ${existing.nextUpdate.toISOString()})` });
      continue;
    }
    await store.put(entry);
    report.loaded.push({ key: entry.key, document });
  }
  return report;
}
