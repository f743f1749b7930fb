// Offline bundles: the collateral cache in one file, to carry into an air-gapped site.
// Export writes every cached document; import believes nothing in the file: each document
// is verified against the pinned roots at the given time (verify-entry.ts), its dates are
// read from the document itself (not from the file), and a document older than the one
// already cached (lower Intel TCB evaluation data number, earlier nextUpdate or issue
// date) does not replace it. The import report says what was loaded and why
// anything was not.

import type { TrustAnchors } from '../anchors.ts';
import { EvidenceFormatError } from '../errors.ts';
import { PRODUCTION_ANCHORS } from '../production-anchors.ts';
import { parseQeIdentity } from '../tdx/qe-identity.ts';
import { parseTcbInfo } from '../tdx/tcb-info.ts';
import { describeDocument, requestFromKey, type CollateralKind } from './document.ts';
import { decodeCollateralFile, encodeCollateralFile } from './entry-codec.ts';
import { documentDates } from './next-update.ts';
import type { CollateralEntry, CollateralStore } from './store.ts';
import { verifyCollateralEntry } from './verify-entry.ts';

/**
 * The largest bundle import reads: room for some 50,000 VCEKs (about 2.3 KiB each as an
 * entry) besides the Intel documents of every FMSPC. Past it the file is refused before
 * it is read, so a wrong or hostile file cannot exhaust the memory of the host.
 */
export const MAX_BUNDLE_BYTES = 128 * 1024 * 1024;

export function bundleTooLarge(size: number, what = 'The bundle'): EvidenceFormatError {
  return new EvidenceFormatError('collateral_bundle_too_large', `${what} is ${size} bytes; a bundle is at most ${MAX_BUNDLE_BYTES}.`);
}

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

/** The kinds whose issuer chain verify-entry.ts verifies (Intel PCS serves them with one). */
const CHAIN_VERIFIED: ReadonlySet<CollateralKind> = new Set<CollateralKind>(['intel-tcb-info', 'intel-qe-identity', 'intel-pck-crl']);

/** How recent a document is, read from the document itself. */
interface Freshness {
  nextUpdate?: Date;
  issuedAt?: Date;
  /** Intel tcbEvaluationDataNumber (PCS API v4, TCB Info and Enclave Identity): the TCB recovery it reflects. */
  evaluation?: number;
}

/** Undefined when the bytes are not readable (an unreadable cached copy is replaced). */
function freshness(kind: CollateralKind, bytes: Uint8Array): Freshness | undefined {
  try {
    const f: Freshness = documentDates(kind, bytes);
    if (kind === 'intel-tcb-info') f.evaluation = parseTcbInfo(Buffer.from(bytes).toString('utf8')).body.tcbEvaluationDataNumber;
    if (kind === 'intel-qe-identity') f.evaluation = parseQeIdentity(Buffer.from(bytes).toString('utf8')).body.tcbEvaluationDataNumber;
    return f;
  } catch {
    return undefined;
  }
}

/**
 * Why the cached document is newer than the bundled one, if it is. Both are genuine (the
 * cached one was verified when stored), so this is about replay: an older document that
 * is still within its validity must not replace a newer one. Intel publishes the same
 * FMSPC at two TCB evaluation data numbers at once ("early" and "standard" updates), so a
 * lower number issued later is still older; otherwise a later nextUpdate, then a later
 * issue date (CRL thisUpdate, issueDate) wins.
 */
function newerInCache(cached: Freshness | undefined, incoming: Freshness | undefined): string | undefined {
  if (!cached || !incoming) return undefined;
  if (cached.evaluation !== undefined && incoming.evaluation !== undefined && cached.evaluation !== incoming.evaluation) {
    return cached.evaluation > incoming.evaluation ? `the cache holds a newer one (TCB evaluation data number ${cached.evaluation}, this one ${incoming.evaluation})` : undefined;
  }
  const after = (a: Date | undefined, b: Date | undefined): boolean => a !== undefined && b !== undefined && a.getTime() > b.getTime();
  if (after(cached.nextUpdate, incoming.nextUpdate)) return `the cache holds a newer one (nextUpdate ${cached.nextUpdate!.toISOString()})`;
  if (after(cached.issuedAt, incoming.issuedAt)) return `the cache holds a newer one (issued ${cached.issuedAt!.toISOString()})`;
  return undefined;
}

/** Verify each document of a bundle and load the genuine ones into `store`. Throws EvidenceFormatError when the file is not a bundle at all. */
export async function importBundle(store: CollateralStore, bytes: Uint8Array, options: ImportOptions): Promise<ImportReport> {
  if (bytes.length > MAX_BUNDLE_BYTES) throw bundleTooLarge(bytes.length);
  const anchors = options.anchors ?? PRODUCTION_ANCHORS;
  const report: ImportReport = { loaded: [], rejected: [], kept: [] };
  // Written together at the end (one file rewrite, one transaction); a key the bundle
  // repeats is compared with its earlier copy here, as if that had been stored.
  const pending = new Map<string, CollateralEntry>();
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
    // Only the kinds whose verification checked the issuer chain keep it; for the others
    // it would be a string from the file stored unchecked.
    if (decoded.entry.issuerChain !== undefined && CHAIN_VERIFIED.has(request.kind)) entry.issuerChain = decoded.entry.issuerChain;
    if (dates.nextUpdate) entry.nextUpdate = dates.nextUpdate;
    const existing = pending.get(entry.key) ?? (await store.get(entry.key));
    const newer = existing ? newerInCache(freshness(existing.kind, existing.bytes), freshness(request.kind, entry.bytes)) : undefined;
    if (newer) {
      report.kept.push({ key: entry.key, document, reason: newer });
      continue;
    }
    pending.set(entry.key, entry);
    report.loaded.push({ key: entry.key, document });
  }
  await store.putMany([...pending.values()]);
  return report;
}
