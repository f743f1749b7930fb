// The vendors as replicas on one PostgreSQL database see them: a cold or expired document is
// fetched from AMD KDS / Intel PCS once across the deployment, and new documents count
// against one deployment-wide `collateral.maxNewDocumentsPerMinute`. Wraps the upstream
// source that CachingCollateralSource (verifier/collateral/caching-source.ts) calls, which
// already makes one flight per document within a process; this adds the flight across
// processes: the fetch runs under the document's advisory lock (collateral.ts), and a replica
// that waited for the lock re-reads the shared cache first, using what the holder stored.

import { describeDocument, documentKey, fetchDocument, normalizeRequest, type CollateralRequest } from '../../../verifier/collateral/document.ts';
import type { CollateralDocument, CollateralSource } from '../../../verifier/collateral/source.ts';
import { CollateralUnavailableError } from '../../../verifier/errors.ts';
import type { RateLimitStorage } from '../store.ts';
import type { PostgresCollateral } from './collateral.ts';

/** How long the document lock outlives a fetch whose answer the caching source did not store (it refused it). */
const HOLD_UNTIL_STORED_MS = 5000;

export interface VendorFlightOptions {
  collateral: PostgresCollateral;
  rateLimits: RateLimitStorage;
  /** New (uncached) documents per minute across the deployment; 0: unbounded. */
  maxNewDocumentsPerMinute: number;
  now?: () => number;
}

/** `upstream`, with each fetch single-flighted across every process on the database. */
export function deploymentVendorFlight(upstream: CollateralSource, options: VendorFlightOptions): CollateralSource {
  const now = options.now ?? Date.now;
  const fetchOnce = async (request: CollateralRequest): Promise<CollateralDocument> => {
    const req = normalizeRequest(request);
    const key = documentKey(req);
    const asked = now();
    const release = await options.collateral.lockDocument(key);
    let doc: CollateralDocument;
    try {
      const stored = await options.collateral.get(key);
      // Stored by another replica while this one waited for the lock: that is the vendor's answer.
      if (stored && stored.fetchedAt.getTime() >= asked) {
        await release();
        const cached: CollateralDocument = { bytes: stored.bytes, source: stored.source };
        if (stored.issuerChain !== undefined) cached.issuerChain = stored.issuerChain;
        return cached;
      }
      if (!stored && options.maxNewDocumentsPerMinute > 0) {
        const d = await options.rateLimits.take('collateral-new-documents', 'deployment', options.maxNewDocumentsPerMinute, 60_000, now());
        if (!d.allowed) {
          throw new CollateralUnavailableError(
            describeDocument(req),
            `more than ${options.maxNewDocumentsPerMinute} uncached documents were asked for this minute across the deployment (a flood of unknown chip ids or FMSPCs is refused rather than passed on to the vendor); retry in a minute, or send the certificate with the evidence`,
          );
        }
      }
      doc = await fetchDocument(upstream, req);
    } catch (err) {
      await release();
      throw err;
    }
    // The caching source checks the answer, then stores it: the lock is held until then, so
    // a replica that waited finds the document stored, not a cache still missing it.
    options.collateral.releaseWhenStored(key, release, HOLD_UNTIL_STORED_MS);
    return doc;
  };
  return {
    snpVcek: (r) => fetchOnce({ kind: 'snp-vcek', ...r }),
    snpCertChain: (r) => fetchOnce({ kind: 'snp-cert-chain', ...r }),
    snpCrl: (r) => fetchOnce({ kind: 'snp-crl', ...r }),
    intelTcbInfo: (r) => fetchOnce({ kind: 'intel-tcb-info', ...r }),
    intelQeIdentity: (r) => fetchOnce({ kind: 'intel-qe-identity', ...r }),
    intelPckCrl: (r) => fetchOnce({ kind: 'intel-pck-crl', ...r }),
    intelRootCaCrl: () => fetchOnce({ kind: 'intel-root-ca-crl' }),
  };
}
