// End to end through the real verifiers: evidence without its collateral, fetched from
// the fake KDS/PCS through the cache, verified; tampering caught even once cached;
// the bundle round trip to an offline site; offline with a cold cache.

import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifyEvidence } from '../../verifier/verify-evidence.ts';
import { CachingCollateralSource } from '../../verifier/collateral/caching-source.ts';
import { MemoryCollateralStore } from '../../verifier/collateral/memory-store.ts';
import { VendorCollateralSource } from '../../verifier/collateral/vendor-source.ts';
import { exportBundle, importBundle } from '../../verifier/collateral/bundle.ts';
import { decodeCollateralFile, encodeCollateralFile } from '../../verifier/collateral/entry-codec.ts';
import type { CollateralEntry } from '../../verifier/collateral/store.ts';
import { CollateralUnavailableError } from '../../verifier/errors.ts';
import { fastHttp, intelCase, snpCase, tamper, vcekCases, useFakeVendors } from './fake-vendors.ts';

const { kds, pcs } = useFakeVendors();

function online(store = new MemoryCollateralStore(), at: Date) {
  const upstream = new VendorCollateralSource({ kds: { baseUrl: kds.url }, pcs: { baseUrl: pcs.url }, http: fastHttp() });
  return { store, source: new CachingCollateralSource({ store, upstream, now: () => at }) };
}

function offline(store: MemoryCollateralStore, at: Date) {
  return new CachingCollateralSource({ store, now: () => at, offline: true });
}

const report = (dir: string) => new Uint8Array(readFileSync(join(dir, 'report.bin')));
const quote = (dir: string) => new Uint8Array(readFileSync(join(dir, 'quote.bin')));

// Reports of version 3 and later name their product (CPUID); version 2 reports need the caller to know it.
const snpCases = vcekCases().filter((c) => !c.name.includes('-v2-'));

describe('fetch and verify', () => {
  it('verifies every v3+ SEV-SNP vector with its VCEK fetched from KDS, then from the cache', async () => {
    expect(snpCases.map((c) => c.name)).toContain('turin-v5-mstav');
    for (const c of snpCases) {
      const { source } = online(undefined, c.validAt);
      const first = await verifyEvidence({ tee: 'sev-snp', report: report(c.dir) }, { at: c.validAt, collateral: source });
      expect(first.verified, `${c.name}: ${JSON.stringify(first.checks.filter((x) => !x.ok))}`).toBe(true);
      const vcekUse = first.collateral.find((u) => u.kind === 'vcek');
      expect(vcekUse).toMatchObject({ source: 'amd-kds' });
      // No CRL was ever recorded from AMD KDS: the fake answers 404 and, in prefer mode, the result says so.
      expect(first.warnings.join(' ')).toMatch(/Revocation was not checked/);
      const before = kds.requests.length;
      const second = await verifyEvidence({ tee: 'sev-snp', report: report(c.dir) }, { at: c.validAt, collateral: source });
      expect(second.verified).toBe(true);
      expect(second.collateral.find((u) => u.kind === 'vcek')).toMatchObject({ source: 'cache', sha256: vcekUse!.sha256 });
      // The VCEK came from the cache; the CRL failure is held off, not retried on every request.
      expect(kds.requests.length).toBe(before);
    }
  });

  it('verifies TDX and SGX quotes with TCB Info, QE Identity and CRLs fetched from PCS', async () => {
    for (const [name, status] of [
      ['phala-b0c06f-v4-uptodate', 'UpToDate'],
      ['zkdcap-00806f050000-v4-outofdate', 'OutOfDate'],
      ['sgx-automata-00606a000000-v3-swhardening', 'SWHardeningNeeded'],
    ] as const) {
      const c = pcs.serveCase(name);
      const { source } = online(undefined, c.verifyAt);
      const result = await verifyEvidence({ tee: c.tee, quote: quote(c.dir) }, { at: c.verifyAt, collateral: source, crl: 'require' });
      expect(result.tcb?.status, name).toBe(status);
      expect(result.checks.filter((x) => !x.ok && !/tcb/.test(x.id)), name).toEqual([]);
      const kinds = result.collateral.filter((u) => u.source === 'intel-pcs').map((u) => u.kind);
      expect(kinds, name).toEqual(expect.arrayContaining(['tcb-info', 'qe-identity', 'pck-crl', 'root-ca-crl']));
      const again = await verifyEvidence({ tee: c.tee, quote: quote(c.dir) }, { at: c.verifyAt, collateral: source, crl: 'require' });
      expect(again.collateral.filter((u) => u.source === 'cache').length, name).toBeGreaterThanOrEqual(4);
      expect(again.tcb?.status).toBe(status);
    }
  });
});

describe('tampered collateral', () => {
  it('a tampered TCB Info from the vendor is rejected by the verifier, and still rejected once cached', async () => {
    const c = pcs.serveCase('phala-b0c06f-v4-uptodate');
    const { source } = online(undefined, c.verifyAt);
    pcs.failNext({ tampered: true });
    // The first request of the verification is the TCB Info.
    const first = await verifyEvidence({ tee: 'tdx', quote: quote(c.dir) }, { at: c.verifyAt, collateral: source });
    expect(first.verified).toBe(false);
    const failed = first.checks.filter((x) => !x.ok).map((x) => x.id);
    expect(failed.some((id) => /tcb-info/.test(id))).toBe(true);
    const before = pcs.requests.length;
    const second = await verifyEvidence({ tee: 'tdx', quote: quote(c.dir) }, { at: c.verifyAt, collateral: source });
    expect(pcs.requests.length).toBe(before);
    expect(second.verified).toBe(false);
    expect(second.checks.filter((x) => !x.ok).map((x) => x.id)).toEqual(failed);
  });

  it('a VCEK altered inside the cache (the database) is rejected on use', async () => {
    const c = snpCase('genoa-v3-mstav');
    const { store, source } = online(undefined, c.validAt);
    expect((await verifyEvidence({ tee: 'sev-snp', report: report(c.dir) }, { at: c.validAt, collateral: source })).verified).toBe(true);
    const [entry] = (await store.list()).filter((e) => e.kind === 'snp-vcek');
    await store.put({ ...entry!, bytes: tamper(entry!.bytes) });
    // Another replica (or this one after a restart) reads the altered row.
    const replica = online(store, c.validAt).source;
    const result = await verifyEvidence({ tee: 'sev-snp', report: report(c.dir) }, { at: c.validAt, collateral: replica });
    expect(result.verified).toBe(false);
    expect(result.collateral.find((u) => u.kind === 'vcek')?.source).toBe('cache');
  });
});

describe('offline bundles', () => {
  it('round trip: fetch online, export, import into an empty cache, verify offline', async () => {
    // Two vectors whose certificates are all valid at one instant (the TDX case's time).
    const snp = snpCase('milan-v3-gcp-oak');
    const tdx = pcs.serveCase('phala-near-20a06f-v4-uptodate');
    const connected = new MemoryCollateralStore();
    await verifyEvidence({ tee: 'sev-snp', report: report(snp.dir) }, { at: snp.validAt, collateral: online(connected, snp.validAt).source });
    await verifyEvidence({ tee: 'tdx', quote: quote(tdx.dir) }, { at: tdx.verifyAt, collateral: online(connected, tdx.verifyAt).source });
    expect((await connected.list()).map((e) => e.kind).sort()).toEqual([
      'intel-pck-crl',
      'intel-qe-identity',
      'intel-root-ca-crl',
      'intel-tcb-info',
      'snp-vcek',
    ]);
    const bundle = await exportBundle(connected);

    // The air-gapped site: empty cache, bundle import verified at one instant, then offline verification.
    const site = new MemoryCollateralStore();
    const imported = await importBundle(site, bundle, { at: tdx.verifyAt });
    expect(imported.rejected).toEqual([]);
    expect(imported.loaded.map((l) => l.document)).toEqual([
      'Intel SGX PCK Platform CA CRL',
      'Intel TD_QE Identity',
      'Intel SGX Root CA CRL',
      'Intel TDX TCB Info for FMSPC 20a06f000000',
      'AMD Milan VCEK for chip a3fdc2c64dc299ab… at TCB bl=4,tee=0,snp=24,ucode=219',
    ]);
    expect((await site.list()).every((e) => e.source === 'bundle')).toBe(true);

    const requests = kds.requests.length + pcs.requests.length;
    const t = await verifyEvidence({ tee: 'tdx', quote: quote(tdx.dir) }, { at: tdx.verifyAt, collateral: offline(site, tdx.verifyAt), crl: 'require' });
    expect(t.verified).toBe(true);
    expect(t.collateral.filter((u) => u.source === 'cache').length).toBe(4);
    const s = await verifyEvidence({ tee: 'sev-snp', report: report(snp.dir) }, { at: snp.validAt, collateral: offline(site, snp.validAt) });
    expect(s.verified).toBe(true);
    expect(kds.requests.length + pcs.requests.length).toBe(requests);
  });

  it('import rejects what does not verify against the pinned roots, and says why', async () => {
    const c = intelCase('phala-b0c06f-v4-uptodate');
    const snp = snpCase('genoa-v3-azure-trustee');
    const read = (f: string) => new Uint8Array(readFileSync(join(c.dir, f)));
    const base = { source: 'intel-pcs', fetchedAt: c.verifyAt, immutable: false };
    const entries: CollateralEntry[] = [
      // Genuine.
      { ...base, key: 'intel-root-ca-crl', kind: 'intel-root-ca-crl', bytes: read('root_ca_crl.der') },
      // One digit of the signed body changed.
      { ...base, key: 'intel-tcb-info/tdx/b0c06f000000', kind: 'intel-tcb-info', bytes: tamper(read('tcb_info.json')), issuerChain: Buffer.from(read('tcb_info_issuer_chain.pem')).toString() },
      // Genuine document filed under another FMSPC.
      { ...base, key: 'intel-tcb-info/tdx/00806f050000', kind: 'intel-tcb-info', bytes: read('tcb_info.json'), issuerChain: Buffer.from(read('tcb_info_issuer_chain.pem')).toString() },
      // QE Identity with the PCK CRL's chain as its issuer chain.
      { ...base, key: 'intel-qe-identity/tdx', kind: 'intel-qe-identity', bytes: read('qe_identity.json'), issuerChain: Buffer.from(read('pck_crl_issuer_chain.pem')).toString() },
      // PCK Platform CA CRL filed as the Processor CA's.
      { ...base, key: 'intel-pck-crl/processor', kind: 'intel-pck-crl', bytes: read('pck_crl.der'), issuerChain: Buffer.from(read('pck_crl_issuer_chain.pem')).toString() },
      // A Genoa VCEK filed under another chip.
      {
        key: `snp-vcek/Genoa/${'ab'.repeat(64)}/bl=10,tee=0,snp=23,ucode=84`,
        kind: 'snp-vcek',
        bytes: new Uint8Array(readFileSync(join(snp.dir, 'vcek.der'))),
        source: 'amd-kds',
        fetchedAt: snp.validAt,
        immutable: true,
      },
    ];
    const store = new MemoryCollateralStore();
    const r = await importBundle(store, Buffer.from(encodeCollateralFile(entries)), { at: c.verifyAt });
    expect(r.loaded.map((l) => l.key)).toEqual(['intel-root-ca-crl']);
    const why = Object.fromEntries(r.rejected.map((x) => [x.key, x.reason]));
    expect(why['intel-tcb-info/tdx/b0c06f000000']).toBe('its signature does not verify under the Intel SGX TCB Signing key');
    expect(why['intel-tcb-info/tdx/00806f050000']).toBe('it is for FMSPC b0c06f000000, not 00806f050000');
    expect(why['intel-qe-identity/tdx']).toBe('its issuer chain starts with "Intel SGX PCK Platform CA", not "Intel SGX TCB Signing"');
    expect(why['intel-pck-crl/processor']).toBe('its issuer chain starts with "Intel SGX PCK Platform CA", not "Intel SGX PCK Processor CA"');
    expect(why[`snp-vcek/Genoa/${'ab'.repeat(64)}/bl=10,tee=0,snp=23,ucode=84`]).toMatch(/^its hwID extension \(0506ffba875e939c[0-9a-f]+\) is not the chip abab/);
    expect((await store.list()).map((e) => e.key)).toEqual(['intel-root-ca-crl']);
  });

  it('import rejects expired documents and never rolls the cache back', async () => {
    const current = intelCase('phala-b0c06f-v4-uptodate');
    const tcbInfo: CollateralEntry = {
      key: 'intel-tcb-info/tdx/b0c06f000000',
      kind: 'intel-tcb-info',
      bytes: new Uint8Array(readFileSync(join(current.dir, 'tcb_info.json'))),
      issuerChain: readFileSync(join(current.dir, 'tcb_info_issuer_chain.pem'), 'utf8'),
      source: 'intel-pcs',
      fetchedAt: current.verifyAt,
      immutable: false,
    };
    const store = new MemoryCollateralStore();
    const late = await importBundle(store, Buffer.from(encodeCollateralFile([tcbInfo])), { at: new Date('2025-07-20T00:00:00Z') });
    expect(late.rejected[0]!.reason).toBe('the TCB Info expired at 2025-07-19T10:16:03.000Z');

    // Two genuine Root CA CRLs: nextUpdate 2025-04-03 (zkdcap) and 2026-04-03 (dcap-qvl).
    const older = intelCase('zkdcap-00806f050000-v4-outofdate');
    const rootCrl = (c: typeof older): CollateralEntry => ({
      key: 'intel-root-ca-crl',
      kind: 'intel-root-ca-crl',
      bytes: new Uint8Array(readFileSync(join(c.dir, 'root_ca_crl.der'))),
      source: 'intel-pcs',
      fetchedAt: c.verifyAt,
      immutable: false,
    });
    expect((await importBundle(store, Buffer.from(encodeCollateralFile([rootCrl(current)])), { at: current.verifyAt })).loaded).toHaveLength(1);
    const back = await importBundle(store, Buffer.from(encodeCollateralFile([rootCrl(older)])), { at: older.verifyAt });
    expect(back.loaded).toEqual([]);
    expect(back.kept[0]!.reason).toBe('the cache holds a newer one (nextUpdate 2026-04-03T11:21:57.000Z)');

    // The bundle's own dates are not believed: they are read from the document.
    const lying = JSON.parse(encodeCollateralFile([rootCrl(older)]));
    lying.entries[0].nextUpdate = '2030-01-01T00:00:00.000Z';
    expect(decodeCollateralFile(JSON.stringify(lying))[0]!.ok).toBe(true);
    const store2 = new MemoryCollateralStore();
    await importBundle(store2, Buffer.from(JSON.stringify(lying)), { at: older.verifyAt });
    expect((await store2.get('intel-root-ca-crl'))!.nextUpdate!.toISOString()).toBe('2025-04-03T19:19:30.000Z');
  });
});

describe('offline with a cold cache', () => {
  it('SEV-SNP: fails naming the VCEK that is missing', async () => {
    const c = snpCase('milan-v3-gcp-oak');
    const err = await verifyEvidence({ tee: 'sev-snp', report: report(c.dir) }, { at: c.validAt, collateral: offline(new MemoryCollateralStore(), c.validAt) }).catch((e) => e);
    expect(err).toBeInstanceOf(CollateralUnavailableError);
    expect(err.message).toMatch(/^The AMD Milan VCEK for chip a3fdc2c64dc299ab… at TCB bl=4,tee=0,snp=24,ucode=219 is not in the collateral cache and could not be fetched: offline mode never contacts the vendor\.$/);
  });

  it('TDX: fails naming the TCB Info that is missing', async () => {
    const c = intelCase('phala-b0c06f-v4-uptodate');
    const err = await verifyEvidence({ tee: 'tdx', quote: quote(c.dir) }, { at: c.verifyAt, collateral: offline(new MemoryCollateralStore(), c.verifyAt) }).catch((e) => e);
    expect(err).toBeInstanceOf(CollateralUnavailableError);
    expect(err.message).toMatch(/Intel TDX TCB Info for FMSPC b0c06f000000 is not in the collateral cache/);
  });
});
