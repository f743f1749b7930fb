// The collateral cache in front of the vendors. Policy (DESIGN.md "Collateral"):
//  - a VCEK is kept for good: it is fixed for its chip and TCB;
//  - other documents are served from the cache until their nextUpdate, and refreshed in
//    the background once a request sees them within `refreshAheadMs` of it;
//  - past nextUpdate the vendor is asked; if it fails, the cached copy is served as
//    `stale: true` for at most `maxStalenessMs` past its nextUpdate, then the document is
//    unavailable (CollateralUnavailableError naming it);
//  - `offline` never calls the vendor; a document that is not cached is an error that
//    says exactly which one is missing.
// The cache is never trusted: documents come back as bytes and the verifiers check each
// one against the pinned roots on every use. The clock is injected.

import { CollateralUnavailableError } from '../errors.ts';
import type { SnpProduct } from '../snp/product.ts';
import type { CollateralDocument, CollateralSource, IntelTee, PckCa, SnpSignerKind, SnpTcbParts } from './source.ts';
import {
  describeDocument,
  documentKey,
  fetchDocument,
  normalizeRequest,
  requestFromKey,
  vendorOf,
  type CollateralRequest,
  type CollateralVendor,
} from './document.ts';
import { documentDates } from './next-update.ts';
import { SingleFlight } from './single-flight.ts';
import { BoundedCache } from '../x509/bounded-cache.ts';
import type { CollateralEntry, CollateralStore } from './store.ts';

export interface CachingSourceOptions {
  store: CollateralStore;
  /** The vendors (VendorCollateralSource). Absent means offline. */
  upstream?: CollateralSource;
  now: () => Date;
  /** Never call upstream. */
  offline?: boolean;
  /** Refresh a document in the background when it is used this close to its nextUpdate. Default 6 h. */
  refreshAheadMs?: number;
  /** How long past its nextUpdate a document may still be served while the vendor fails. Default 24 h. */
  maxStalenessMs?: number;
  /** After the vendor failed for a document, serve the stale copy without asking again for this long. Default 30 s. */
  failureHoldOffMs?: number;
  /** Told about failures of background refreshes (nobody awaits them). */
  onBackgroundError?: (error: unknown, document: string) => void;
  /**
   * Vendor fetches of documents not in the cache at all, per minute (fixed windows); 0 or
   * absent: unlimited. Which VCEK or TCB Info is fetched is chosen by whoever sends evidence
   * (its chip id, TCB or FMSPC), before any signature can be checked: without a bound, a
   * flood of made-up ids turns into a flood of requests to AMD KDS or Intel PCS, which
   * throttle the sender, so the documents real attesters need stop arriving too. Refreshes
   * of cached documents are not counted.
   */
  maxNewDocumentsPerMinute?: number;
}

export interface SourceMetrics {
  /** Requests sent to the vendor (one per document fetch, whatever the HTTP retries). */
  requests: number;
  failures: number;
  cacheHits: number;
  cacheMisses: number;
  staleServes: number;
  refreshes: number;
  /** Fetches of uncached documents refused by maxNewDocumentsPerMinute. */
  newDocumentsRefused: number;
  /** Age of the oldest non-VCEK document served or stored by this process, seconds (0 when none). */
  oldestDocumentAgeSeconds: number;
}

export type CollateralMetrics = Record<CollateralVendor, SourceMetrics>;

export interface RefreshReport {
  refreshed: string[];
  failed: { document: string; reason: string }[];
}

const HOUR = 3_600_000;

function emptyCounters(): Omit<SourceMetrics, 'oldestDocumentAgeSeconds'> {
  return { requests: 0, failures: 0, cacheHits: 0, cacheMisses: 0, staleServes: 0, refreshes: 0, newDocumentsRefused: 0 };
}

/** An error's message without its final period, to be embedded in another sentence. */
function message(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\.+$/, '');
}

export class CachingCollateralSource implements CollateralSource {
  private readonly store: CollateralStore;
  private readonly upstream: CollateralSource | undefined;
  private readonly now: () => Date;
  private readonly offline: boolean;
  private readonly refreshAheadMs: number;
  private readonly maxStalenessMs: number;
  private readonly failureHoldOffMs: number;
  private readonly onBackgroundError: ((error: unknown, document: string) => void) | undefined;
  private readonly maxNewPerMinute: number;
  private newWindow = { start: 0, count: 0 };
  private readonly flights = new SingleFlight<CollateralEntry>();
  private readonly background = new Set<Promise<void>>();
  private readonly memo = new BoundedCache<string, CollateralEntry>(4096);
  /** Last vendor failure per key: within failureHoldOffMs the stale copy is served without asking again. */
  private readonly lastFailure = new Map<string, { at: number; error: unknown }>();
  private readonly counters: Record<CollateralVendor, ReturnType<typeof emptyCounters>> = {
    'amd-kds': emptyCounters(),
    'intel-pcs': emptyCounters(),
  };
  /** fetchedAt of refreshable documents seen, for the oldest-document gauge. */
  private readonly seen = new Map<string, { vendor: CollateralVendor; fetchedAt: number }>();

  constructor(options: CachingSourceOptions) {
    this.store = options.store;
    this.upstream = options.upstream;
    this.now = options.now;
    this.offline = options.offline === true || options.upstream === undefined;
    this.refreshAheadMs = options.refreshAheadMs ?? 6 * HOUR;
    this.maxStalenessMs = options.maxStalenessMs ?? 24 * HOUR;
    this.failureHoldOffMs = options.failureHoldOffMs ?? 30_000;
    this.onBackgroundError = options.onBackgroundError;
    this.maxNewPerMinute = options.maxNewDocumentsPerMinute ?? 0;
  }

  /** Count one fetch of an uncached document; false when this minute's budget is spent. */
  private takeNewDocument(now: number): boolean {
    if (this.maxNewPerMinute <= 0) return true;
    if (now - this.newWindow.start >= 60_000) this.newWindow = { start: now, count: 0 };
    if (this.newWindow.count >= this.maxNewPerMinute) return false;
    this.newWindow.count++;
    return true;
  }

  snpVcek(req: { product: SnpProduct; hwId: string; tcb: SnpTcbParts }): Promise<CollateralDocument> {
    return this.get({ kind: 'snp-vcek', ...req });
  }
  snpCertChain(req: { product: SnpProduct; signer: SnpSignerKind }): Promise<CollateralDocument> {
    return this.get({ kind: 'snp-cert-chain', ...req });
  }
  snpCrl(req: { product: SnpProduct; signer: SnpSignerKind }): Promise<CollateralDocument> {
    return this.get({ kind: 'snp-crl', ...req });
  }
  intelTcbInfo(req: { tee: IntelTee; fmspc: string }): Promise<CollateralDocument> {
    return this.get({ kind: 'intel-tcb-info', ...req });
  }
  intelQeIdentity(req: { tee: IntelTee }): Promise<CollateralDocument> {
    return this.get({ kind: 'intel-qe-identity', ...req });
  }
  intelPckCrl(req: { ca: PckCa }): Promise<CollateralDocument> {
    return this.get({ kind: 'intel-pck-crl', ...req });
  }
  intelRootCaCrl(): Promise<CollateralDocument> {
    return this.get({ kind: 'intel-root-ca-crl' });
  }

  /** Any document by its request: the typed methods above all come here. */
  async get(request: CollateralRequest): Promise<CollateralDocument> {
    const req = normalizeRequest(request);
    const key = documentKey(req);
    const vendor = vendorOf(req.kind);
    const counters = this.counters[vendor];
    const now = this.now().getTime();
    // A fresh document remembered by this process is served without a store read: the
    // request path of a warm cache touches neither the network nor the database.
    let cached = this.memo.get(key);
    if (!cached || !this.isFresh(cached, now)) {
      cached = await this.store.get(key);
      if (cached) this.memo.set(key, cached);
    }

    if (cached && this.isFresh(cached, now)) {
      counters.cacheHits++;
      this.note(cached);
      if (this.dueForRefresh(cached, now)) this.refreshInBackground(req, key);
      return this.serve(cached, false);
    }

    counters.cacheMisses++;
    const document = describeDocument(req);
    if (this.offline) return this.serveStaleOr(cached, now, document, 'offline mode never contacts the vendor');

    // During an outage, do not make every request wait for the vendor's retries again.
    const failure = this.lastFailure.get(key);
    if (failure && now - failure.at < this.failureHoldOffMs) return this.serveStaleOr(cached, now, document, message(failure.error));
    // The vendor itself may have nothing newer than an expired document (it answered a
    // moment ago with this one): serve it, marked stale, rather than ask again at once.
    if (cached && now - cached.fetchedAt.getTime() < this.failureHoldOffMs) {
      return this.serveStaleOr(cached, now, document, 'the vendor has not published a newer one yet');
    }
    let fresh: CollateralEntry;
    try {
      fresh = await this.fetchAndStore(req, key, cached);
    } catch (err) {
      return this.serveStaleOr(cached, now, document, message(err));
    }
    // What the vendor (or a mirror, or whoever answers in its name) serves may itself be
    // past its nextUpdate: it gets the same bound as a cached copy, so an old document
    // replayed from the network is never accepted as merely "stale".
    if (!this.isFresh(fresh, now)) return this.serveStaleOr(fresh, now, document, 'the vendor has not published a newer one', true);
    return this.serve(fresh, false, true);
  }

  /**
   * Refresh, now, every cached document that is within refreshAheadMs of its nextUpdate
   * or past it. For the service to call on a timer, so that documents are renewed even
   * when no request happens to touch them.
   */
  async refreshDue(): Promise<RefreshReport> {
    const report: RefreshReport = { refreshed: [], failed: [] };
    if (this.offline) return report;
    const now = this.now().getTime();
    for (const entry of await this.store.list()) {
      if (!this.dueForRefresh(entry, now)) continue;
      let req: CollateralRequest;
      try {
        req = requestFromKey(entry.key);
      } catch {
        continue;
      }
      try {
        await this.fetchAndStore(req, entry.key, entry);
        report.refreshed.push(describeDocument(req));
      } catch (err) {
        report.failed.push({ document: describeDocument(req), reason: message(err) });
      }
    }
    return report;
  }

  /** A snapshot of the counters per vendor, for the service's /metrics. */
  metrics(): CollateralMetrics {
    const now = this.now().getTime();
    const oldest: Record<CollateralVendor, number> = { 'amd-kds': 0, 'intel-pcs': 0 };
    for (const { vendor, fetchedAt } of this.seen.values()) {
      oldest[vendor] = Math.max(oldest[vendor], Math.max(0, (now - fetchedAt) / 1000));
    }
    return {
      'amd-kds': { ...this.counters['amd-kds'], oldestDocumentAgeSeconds: Math.round(oldest['amd-kds']) },
      'intel-pcs': { ...this.counters['intel-pcs'], oldestDocumentAgeSeconds: Math.round(oldest['intel-pcs']) },
    };
  }

  private isFresh(entry: CollateralEntry, now: number): boolean {
    return entry.immutable || entry.nextUpdate === undefined || now < entry.nextUpdate.getTime();
  }

  private dueForRefresh(entry: CollateralEntry, now: number): boolean {
    return !entry.immutable && entry.nextUpdate !== undefined && now >= entry.nextUpdate.getTime() - this.refreshAheadMs;
  }

  private note(entry: CollateralEntry): void {
    if (entry.immutable) return;
    this.seen.set(entry.key, { vendor: vendorOf(entry.kind), fetchedAt: entry.fetchedAt.getTime() });
  }

  /** `fresh`: just fetched, so its source is the vendor's; otherwise it comes from the cache. */
  private serve(entry: CollateralEntry, stale: boolean, fresh = false): CollateralDocument {
    const doc: CollateralDocument = { bytes: entry.bytes, source: fresh ? entry.source : 'cache' };
    if (entry.issuerChain !== undefined) doc.issuerChain = entry.issuerChain;
    if (stale) doc.stale = true;
    return doc;
  }

  private serveStaleOr(cached: CollateralEntry | undefined, now: number, document: string, why: string, fresh = false): CollateralDocument {
    if (!cached) {
      throw new CollateralUnavailableError(document, `The ${document} is not in the collateral cache and could not be fetched: ${why}.`);
    }
    const nextUpdate = cached.nextUpdate!.getTime();
    if (now - nextUpdate <= this.maxStalenessMs) {
      this.counters[vendorOf(cached.kind)].staleServes++;
      this.note(cached);
      return this.serve(cached, true, fresh);
    }
    throw new CollateralUnavailableError(
      document,
      `The ${fresh ? 'newest' : 'cached'} ${document} expired at ${cached.nextUpdate!.toISOString()}, more than the allowed ${Math.round(this.maxStalenessMs / 60_000)} min ago, and a new one could not be fetched: ${why}.`,
    );
  }

  private refreshInBackground(req: CollateralRequest, key: string): void {
    const failure = this.lastFailure.get(key);
    if (failure && this.now().getTime() - failure.at < this.failureHoldOffMs) return;
    const p = this.store
      .get(key)
      .then((cached) => this.fetchAndStore(req, key, cached))
      .then(
        () => undefined,
        (err: unknown) => this.onBackgroundError?.(err, describeDocument(req)),
      )
      .finally(() => this.background.delete(p));
    this.background.add(p);
  }

  /** Resolves when the background refreshes started so far have finished (tests; orderly shutdown). */
  async idle(): Promise<void> {
    while (this.background.size > 0) await Promise.all([...this.background]);
  }

  /** Fetch from the vendor (one flight per key), check it parses, store it. */
  private fetchAndStore(req: CollateralRequest, key: string, cached: CollateralEntry | undefined): Promise<CollateralEntry> {
    return this.flights.run(key, async () => {
      const vendor = vendorOf(req.kind);
      const counters = this.counters[vendor];
      // Inside the flight: fifty requests for one new document spend one unit, not fifty.
      // Not a vendor failure, so nothing is remembered for the key.
      if (!cached && !this.takeNewDocument(this.now().getTime())) {
        counters.newDocumentsRefused++;
        throw new CollateralUnavailableError(
          describeDocument(req),
          `more than ${this.maxNewPerMinute} uncached documents were asked for this minute (a flood of unknown chip ids or FMSPCs is refused rather than passed on to the vendor); retry in a minute, or send the certificate with the evidence`,
        );
      }
      counters.requests++;
      if (cached) counters.refreshes++;
      const document = describeDocument(req);
      try {
        const doc = await fetchDocument(this.upstream!, req);
        let dates;
        try {
          dates = documentDates(req.kind, doc.bytes);
        } catch (err) {
          throw new CollateralUnavailableError(document, `The vendor's answer for the ${document} cannot be read: ${message(err)}.`);
        }
        if (req.kind !== 'snp-vcek' && !dates.nextUpdate) {
          throw new CollateralUnavailableError(document, `The vendor's ${document} has no nextUpdate, so it cannot be cached safely.`);
        }
        if (cached?.nextUpdate && dates.nextUpdate && dates.nextUpdate.getTime() < cached.nextUpdate.getTime()) {
          // A mirror or a replayed response must not roll the cache back to an older document.
          throw new CollateralUnavailableError(
            document,
            `The vendor's ${document} is older than the cached one (nextUpdate ${dates.nextUpdate.toISOString()} < ${cached.nextUpdate.toISOString()}).`,
          );
        }
        const entry: CollateralEntry = {
          key,
          kind: req.kind,
          bytes: doc.bytes,
          source: doc.source,
          fetchedAt: this.now(),
          immutable: req.kind === 'snp-vcek',
        };
        if (doc.issuerChain !== undefined) entry.issuerChain = doc.issuerChain;
        if (dates.nextUpdate) entry.nextUpdate = dates.nextUpdate;
        await this.store.put(entry);
        this.memo.set(key, entry);
        this.lastFailure.delete(key);
        this.note(entry);
        return entry;
      } catch (err) {
        counters.failures++;
        // Keys can come from evidence (any chip id): keep the map bounded.
        if (this.lastFailure.size >= 4096 && !this.lastFailure.has(key)) {
          const oldest = this.lastFailure.keys().next();
          if (!oldest.done) this.lastFailure.delete(oldest.value);
        }
        this.lastFailure.set(key, { at: this.now().getTime(), error: err });
        throw err;
      }
    });
  }
}
