// The cache in front of the fake vendors, with the clock in the test's hands.

import { beforeEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CachingCollateralSource, type CachingSourceOptions } from '../../verifier/collateral/caching-source.ts';
import { MemoryCollateralStore } from '../../verifier/collateral/memory-store.ts';
import { VendorCollateralSource } from '../../verifier/collateral/vendor-source.ts';
import { documentKey } from '../../verifier/collateral/document.ts';
import type { CollateralEntry } from '../../verifier/collateral/store.ts';
import { CollateralUnavailableError } from '../../verifier/errors.ts';
import { fastHttp, intelCase, snpCase, useFakeVendors, vcekCases } from './fake-vendors.ts';

const HOUR = 3_600_000;
const { kds, pcs } = useFakeVendors();
beforeEach(() => {
  kds.outage = undefined;
  pcs.outage = undefined;
});

class Clock {
  constructor(public t: Date) {}
  now = (): Date => new Date(this.t);
  set(iso: string | Date): void {
    this.t = new Date(iso);
  }
  advance(ms: number): void {
    this.t = new Date(this.t.getTime() + ms);
  }
}

function setup(start: Date | string, options: Partial<CachingSourceOptions> = {}) {
  const clock = new Clock(new Date(start));
  const store = new MemoryCollateralStore();
  const puts: string[] = [];
  const put = store.put.bind(store);
  store.put = async (e: CollateralEntry) => {
    puts.push(e.key);
    await put(e);
  };
  const upstream = new VendorCollateralSource({ kds: { baseUrl: kds.url }, pcs: { baseUrl: pcs.url }, http: fastHttp() });
  const errors: string[] = [];
  const source = new CachingCollateralSource({
    store,
    upstream,
    now: clock.now,
    onBackgroundError: (e) => errors.push(String(e)),
    ...options,
  });
  return { clock, store, source, puts, errors };
}

const TCB_90C06F = '/tdx/certification/v4/tcb?fmspc=90c06f000000';

describe('CachingCollateralSource', () => {
  it('serves a second request from the cache without asking the vendor', async () => {
    const c = pcs.serveCase('phala-b0c06f-v4-uptodate');
    const { source, clock } = setup(c.verifyAt);
    const before = pcs.count('/tdx/certification/v4/tcb');
    const first = await source.intelTcbInfo({ tee: 'tdx', fmspc: c.fmspc });
    expect(first.source).toBe('intel-pcs');
    clock.advance(60_000);
    const second = await source.intelTcbInfo({ tee: 'tdx', fmspc: c.fmspc.toUpperCase() });
    expect(second.source).toBe('cache');
    expect(second.stale).toBeUndefined();
    expect(Buffer.from(second.bytes).equals(readFileSync(join(c.dir, 'tcb_info.json')))).toBe(true);
    expect(second.issuerChain).toBe(readFileSync(join(c.dir, 'tcb_info_issuer_chain.pem'), 'utf8'));
    expect(pcs.count('/tdx/certification/v4/tcb') - before).toBe(1);
    const m = source.metrics()['intel-pcs'];
    expect(m).toMatchObject({ requests: 1, failures: 0, cacheHits: 1, cacheMisses: 1, staleServes: 0 });
    expect(m.oldestDocumentAgeSeconds).toBe(60);
  });

  it('keeps a VCEK for good: ten years later it is still served from the cache', async () => {
    const c = snpCase('milan-v3-mstav');
    const { source, clock } = setup(c.validAt);
    const before = kds.count('/vcek/v1/Milan/');
    await source.snpVcek({ product: c.product, hwId: c.chipId, tcb: c.tcb });
    clock.advance(10 * 365 * 24 * HOUR);
    kds.outage = { status: 503 };
    const again = await source.snpVcek({ product: c.product, hwId: c.chipId, tcb: c.tcb });
    expect(again.source).toBe('cache');
    expect(Buffer.from(again.bytes).equals(readFileSync(join(c.dir, 'vcek.der')))).toBe(true);
    expect(kds.count('/vcek/v1/Milan/') - before).toBe(1);
    // A VCEK's age says nothing about freshness: it is left out of the gauge.
    expect(source.metrics()['amd-kds'].oldestDocumentAgeSeconds).toBe(0);
  });

  it('refreshes a document in the background shortly before its nextUpdate', async () => {
    // The vendor first has the TCB Info recorded by go-tdx-guest (nextUpdate 2026-03-03T14:49:26Z),
    // later the one recorded by dcap-qvl for the same FMSPC (nextUpdate 2026-03-20T10:58:51Z).
    const older = pcs.serveCase('gotdx-90c06f-v5-mixed-collateral');
    const { source, clock, store, errors } = setup('2026-02-10T00:00:00Z', { refreshAheadMs: 6 * HOUR });
    await source.intelTcbInfo({ tee: 'tdx', fmspc: older.fmspc });
    const key = documentKey({ kind: 'intel-tcb-info', tee: 'tdx', fmspc: older.fmspc });
    expect((await store.get(key))!.nextUpdate!.toISOString()).toBe('2026-03-03T14:49:26.000Z');
    const newer = pcs.serveCase('phala-90c06f-v5-no-tcb-level');

    // Seven hours before nextUpdate: outside the window, nothing happens.
    clock.set('2026-03-03T07:49:26Z');
    const before = pcs.count(TCB_90C06F);
    await source.intelTcbInfo({ tee: 'tdx', fmspc: older.fmspc });
    await source.idle();
    expect(pcs.count(TCB_90C06F)).toBe(before);

    // Five hours before: served from the cache at once, and refreshed behind the request.
    clock.set('2026-03-03T09:49:26Z');
    const served = await source.intelTcbInfo({ tee: 'tdx', fmspc: older.fmspc });
    expect(served.source).toBe('cache');
    expect(Buffer.from(served.bytes).equals(readFileSync(join(older.dir, 'tcb_info.json')))).toBe(true);
    await source.idle();
    expect(errors).toEqual([]);
    expect(pcs.count(TCB_90C06F)).toBe(before + 1);
    const refreshed = (await store.get(key))!;
    expect(Buffer.from(refreshed.bytes).equals(readFileSync(join(newer.dir, 'tcb_info.json')))).toBe(true);
    expect(refreshed.nextUpdate!.toISOString()).toBe('2026-03-20T10:58:51.000Z');
    expect(source.metrics()['intel-pcs'].refreshes).toBe(1);
  });

  it('serves stale documents during an outage, says so, and stops at maxStaleness', async () => {
    const c = pcs.serveCase('phala-b0c06f-v4-uptodate');
    const { source, clock } = setup(c.verifyAt, { maxStalenessMs: 12 * HOUR, failureHoldOffMs: 30_000 });
    await source.intelQeIdentity({ tee: 'tdx' });
    pcs.outage = { status: 503 };
    // QE Identity nextUpdate is 2025-07-19T10:32:27Z.
    clock.set('2025-07-19T12:00:00Z');
    const before = pcs.count('/tdx/certification/v4/qe/identity');
    const stale = await source.intelQeIdentity({ tee: 'tdx' });
    expect(stale).toMatchObject({ source: 'cache', stale: true });
    expect(Buffer.from(stale.bytes).equals(readFileSync(join(c.dir, 'qe_identity.json')))).toBe(true);
    expect(pcs.count('/tdx/certification/v4/qe/identity') - before).toBe(4); // first try and three retries

    // Within the hold-off the vendor is not asked again: the outage does not slow every request.
    clock.advance(10_000);
    await source.intelQeIdentity({ tee: 'tdx' });
    expect(pcs.count('/tdx/certification/v4/qe/identity') - before).toBe(4);

    // Past nextUpdate + maxStaleness: unavailable, and the error names the document and the bound.
    clock.set('2025-07-19T22:40:00Z');
    const err = await source.intelQeIdentity({ tee: 'tdx' }).catch((e) => e);
    expect(err).toBeInstanceOf(CollateralUnavailableError);
    expect(err.document).toBe('Intel TD_QE Identity');
    expect(err.message).toMatch(/^The cached Intel TD_QE Identity expired at 2025-07-19T10:32:27.000Z, more than the allowed 720 min ago, and a new one could not be fetched: Could not fetch .* HTTP 503/);
    const m = source.metrics()['intel-pcs'];
    expect(m.staleServes).toBe(2);
    expect(m.failures).toBe(2);

    // The vendor comes back, but what it serves (the recording) is itself past its
    // nextUpdate by more than the bound: an old document from the network is refused too.
    pcs.outage = undefined;
    clock.advance(60_000);
    const replayed = await source.intelQeIdentity({ tee: 'tdx' }).catch((e) => e);
    expect(replayed).toBeInstanceOf(CollateralUnavailableError);
    expect(replayed.message).toBe(
      'The newest Intel TD_QE Identity expired at 2025-07-19T10:32:27.000Z, more than the allowed 720 min ago, and a new one could not be fetched: the vendor has not published a newer one.',
    );
    // Within the bound, the same answer is served, marked stale.
    const { source: other } = setup('2025-07-19T20:00:00Z', { maxStalenessMs: 12 * HOUR });
    expect(await other.intelQeIdentity({ tee: 'tdx' })).toMatchObject({ source: 'intel-pcs', stale: true });
  });

  it('a failed background refresh keeps serving the cached copy and is reported; a miss during an outage is not retried at once', async () => {
    const c = pcs.serveCase('phala-near-20a06f-v4-uptodate');
    const { source, clock, errors } = setup(c.verifyAt, { failureHoldOffMs: 60_000 });
    await source.intelPckCrl({ ca: 'platform' });
    pcs.outage = { status: 500 };
    clock.set('2025-10-02T05:00:00Z'); // within 6 h of the CRL's nextUpdate 2025-10-02T07:03:51Z
    const served = await source.intelPckCrl({ ca: 'platform' });
    expect(served).toMatchObject({ source: 'cache' });
    expect(served.stale).toBeUndefined();
    await source.idle();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/Intel SGX PCK Platform CA CRL .* after 4 attempts: the server answered HTTP 500/);

    const before = pcs.requests.length;
    const first = await source.intelTcbInfo({ tee: 'sgx', fmspc: '00606a000000' }).catch((e) => e);
    expect(first).toBeInstanceOf(CollateralUnavailableError);
    expect(pcs.requests.length - before).toBe(4);
    clock.advance(1_000);
    const second = await source.intelTcbInfo({ tee: 'sgx', fmspc: '00606a000000' }).catch((e) => e);
    expect(second.message).toBe(first.message);
    expect(pcs.requests.length - before).toBe(4);
  });

  it('makes one request for 50 concurrent misses of the same document', async () => {
    const c = snpCase('genoa-v3-azure-trustee');
    const { source, puts } = setup(c.validAt);
    const before = kds.count('/vcek/v1/Genoa/');
    kds.failNext({ slowMs: 150 });
    const docs = await Promise.all(Array.from({ length: 50 }, () => source.snpVcek({ product: 'Genoa', hwId: c.chipId, tcb: c.tcb })));
    expect(kds.count('/vcek/v1/Genoa/') - before).toBe(1);
    expect(puts).toHaveLength(1);
    for (const d of docs) expect(Buffer.from(d.bytes).equals(readFileSync(join(c.dir, 'vcek.der')))).toBe(true);
  });

  it('bounds vendor fetches of uncached documents per minute; cached ones, and refreshes, are not counted', async () => {
    const cases = vcekCases().filter((c) => c.signer === 'VCEK').slice(0, 3);
    expect(cases).toHaveLength(3);
    const at = new Date(Math.max(...cases.map((c) => c.validAt.getTime())));
    const { source, clock } = setup(at, { maxNewDocumentsPerMinute: 2 });
    const vcek = (c: (typeof cases)[number]) => source.snpVcek({ product: c.product, hwId: c.chipId, tcb: c.tcb });
    const before = kds.count('/vcek/v1/');
    // Fifty concurrent misses of one new document spend one unit.
    kds.failNext({ slowMs: 100 });
    await Promise.all(Array.from({ length: 50 }, () => vcek(cases[0]!)));
    await vcek(cases[1]!);
    const refused = await vcek(cases[2]!).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CollateralUnavailableError);
    expect((refused as Error).message).toMatch(/more than 2 uncached documents were asked for this minute/);
    expect(kds.count('/vcek/v1/') - before).toBe(2);
    // What is cached is still served; a refusal is not a vendor failure held against the key.
    expect((await vcek(cases[0]!)).source).toBe('cache');
    expect(source.metrics()['amd-kds']).toMatchObject({ requests: 2, failures: 0, newDocumentsRefused: 1 });
    clock.advance(60_000);
    expect((await vcek(cases[2]!)).source).toBe('amd-kds');
    expect(kds.count('/vcek/v1/') - before).toBe(3);
  });

  it('offline with a cold cache fails with a message that names the missing document', async () => {
    const c = snpCase('milan-v2-virtee');
    const { source } = setup(c.validAt, { offline: true });
    const before = kds.requests.length;
    const err = await source.snpVcek({ product: c.product, hwId: c.chipId, tcb: c.tcb }).catch((e) => e);
    expect(err).toBeInstanceOf(CollateralUnavailableError);
    expect(err.document).toBe('AMD Milan VCEK for chip d49554ec717f4e5b… at TCB bl=3,tee=0,snp=8,ucode=115');
    expect(err.message).toBe(
      'The AMD Milan VCEK for chip d49554ec717f4e5b… at TCB bl=3,tee=0,snp=8,ucode=115 is not in the collateral cache and could not be fetched: offline mode never contacts the vendor.',
    );
    const tdx = await source.intelTcbInfo({ tee: 'tdx', fmspc: '90C06F000000' }).catch((e) => e);
    expect(tdx.message).toMatch(/^The Intel TDX TCB Info for FMSPC 90c06f000000 is not in the collateral cache/);
    expect(kds.requests.length).toBe(before);
  });

  it('refuses what the vendor sends when it is not the document (and keeps serving the cached one)', async () => {
    const c = pcs.serveCase('zkdcap-00806f050000-v4-outofdate');
    const { source, clock } = setup(c.verifyAt, { failureHoldOffMs: 0 });
    await source.intelPckCrl({ ca: 'platform' });
    const route = `/sgx/certification/v4/pckcrl?ca=platform&encoding=der`;
    const good = pcs.routes.get(route)!;
    pcs.routes.set(route, { ...good, body: Buffer.from('<html>maintenance</html>') });
    try {
      clock.set('2025-02-20T12:00:00Z'); // past the CRL's nextUpdate (2025-02-20T10:55:28Z)
      const doc = await source.intelPckCrl({ ca: 'platform' });
      expect(doc.stale).toBe(true);
      expect(Buffer.from(doc.bytes).equals(readFileSync(join(c.dir, 'pck_crl.der')))).toBe(true);
      const { source: cold } = setup(c.verifyAt);
      await expect(cold.intelPckCrl({ ca: 'platform' })).rejects.toThrow(
        'The Intel SGX PCK Platform CA CRL is not in the collateral cache and could not be fetched: The vendor\'s answer for the Intel SGX PCK Platform CA CRL cannot be read: The PCK CRL is neither DER nor PEM with a X509 CRL block.',
      );
    } finally {
      pcs.routes.set(route, good);
    }
  });

  it('refreshDue renews what is due and will not roll back to an older document', async () => {
    pcs.serveCase('phala-90c06f-v5-no-tcb-level');
    const { source, clock } = setup('2026-03-01T00:00:00Z');
    await source.intelTcbInfo({ tee: 'tdx', fmspc: '90c06f000000' });
    // A mirror now serves the older recording of the same FMSPC.
    pcs.serveCase('gotdx-90c06f-v5-mixed-collateral');
    clock.set('2026-03-20T08:00:00Z');
    const report = await source.refreshDue();
    expect(report.refreshed).toEqual([]);
    expect(report.failed).toHaveLength(1);
    expect(report.failed[0]!.document).toBe('Intel TDX TCB Info for FMSPC 90c06f000000');
    expect(report.failed[0]!.reason).toMatch(/older than the cached one \(nextUpdate 2026-03-03T14:49:26.000Z < 2026-03-20T10:58:51.000Z\)/);
    const served = await source.intelTcbInfo({ tee: 'tdx', fmspc: '90c06f000000' });
    expect(Buffer.from(served.bytes).equals(readFileSync(join(intelCase('phala-90c06f-v5-no-tcb-level').dir, 'tcb_info.json')))).toBe(true);
  });
});
