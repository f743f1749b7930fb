// The HTTP layer and the vendor clients against the fake KDS and PCS.

import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { httpGet, parseRetryAfter, UpstreamError } from '../../verifier/collateral/http.ts';
import { KdsClient } from '../../verifier/collateral/kds-client.ts';
import { PcsClient, rootCaCrlDer } from '../../verifier/collateral/pcs-client.ts';
import { VendorCollateralSource } from '../../verifier/collateral/vendor-source.ts';
import { CollateralUnavailableError, EvidenceFormatError } from '../../verifier/errors.ts';
import { fastHttp, snpCase, vcekCases, useFakeVendors } from './fake-vendors.ts';

const { kds, pcs } = useFakeVendors();

describe('httpGet', () => {
  it('retries a 500 and a dropped connection, then succeeds', async () => {
    const path = '/vcek/v1/Milan/cert_chain';
    const before = kds.count(path);
    kds.failNext({ status: 500 }, { reset: true });
    const res = await httpGet(`${kds.url}${path}`, 'test document', fastHttp());
    expect(res.status).toBe(200);
    expect(kds.count(path) - before).toBe(3);
  });

  it('honours Retry-After on 429 and on 503', async () => {
    const waits: number[] = [];
    kds.failNext({ status: 429, retryAfter: '2' }, { status: 503, retryAfter: '1' });
    const res = await httpGet(`${kds.url}/vcek/v1/Genoa/cert_chain`, 'test document', fastHttp(waits));
    expect(res.status).toBe(200);
    expect(waits).toEqual([2000, 1000]);
  });

  it('fails at once when Retry-After asks for longer than it is willing to wait', async () => {
    const waits: number[] = [];
    kds.failNext({ status: 429, retryAfter: '3600' });
    const err = await httpGet(`${kds.url}/vcek/v1/Genoa/cert_chain`, 'AMD Genoa VCEK certificate chain', { ...fastHttp(waits), maxRetryAfterMs: 10_000 }).catch((e) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err.message).toMatch(/HTTP 429.*retry after 3600 s/);
    expect(waits).toEqual([]);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfter('7')).toBe(7000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', new Date('2015-10-21T07:27:30Z'))).toBe(30_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT')).toBeUndefined();
    expect(parseRetryAfter('soon', new Date())).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  it('does not retry a 404, and says which document and URL failed', async () => {
    const path = '/vcek/v1/Milan/crl';
    const before = kds.count(path);
    const err = await httpGet(`${kds.url}${path}`, 'AMD Milan VCEK CRL', fastHttp()).catch((e) => e);
    expect(kds.count(path) - before).toBe(1);
    expect(err).toBeInstanceOf(CollateralUnavailableError);
    expect(err.document).toBe('AMD Milan VCEK CRL');
    expect(err.status).toBe(404);
    expect(err.message).toBe(`Could not fetch the AMD Milan VCEK CRL from ${kds.url}${path}: the server answered HTTP 404 Not Found.`);
  });

  it('gives up after its retries on a lasting outage', async () => {
    kds.outage = { status: 502 };
    try {
      const err = await httpGet(`${kds.url}/vcek/v1/Milan/cert_chain`, 'test document', fastHttp()).catch((e) => e);
      expect(err).toBeInstanceOf(UpstreamError);
      expect(err.attempts).toBe(4);
      expect(err.message).toMatch(/after 4 attempts: the server answered HTTP 502/);
    } finally {
      kds.outage = undefined;
    }
  });

  it('times out a slow answer (and retries it)', async () => {
    kds.failNext({ slowMs: 400 }, { slowMs: 400 });
    const err = await httpGet(`${kds.url}/vcek/v1/Milan/cert_chain`, 'test document', { ...fastHttp(), timeoutMs: 100, retries: 1 }).catch((e) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err.message).toMatch(/after 2 attempts: timed out/);
  });

  it('refuses a truncated body, then takes the whole one', async () => {
    const path = '/vcek/v1/Turin/cert_chain';
    kds.failNext({ truncated: true });
    const res = await httpGet(`${kds.url}${path}`, 'test document', fastHttp());
    expect(Buffer.from(res.body).equals(readFileSync(join(import.meta.dirname, '../fixtures/snp/amd-roots/turin/cert_chain_vcek.pem')))).toBe(true);
    const err = await (async () => {
      kds.failNext({ truncated: true });
      return httpGet(`${kds.url}${path}`, 'test document', { ...fastHttp(), retries: 0 }).catch((e) => e);
    })();
    expect(err).toBeInstanceOf(UpstreamError);
  });

  it('gives up on a body that stalls, within the per-attempt timeout, and tries again', async () => {
    const path = '/vcek/v1/Turin/cert_chain';
    kds.failNext({ stalled: true });
    const started = Date.now();
    const res = await httpGet(`${kds.url}${path}`, 'test document', { ...fastHttp(), timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(Buffer.from(res.body).equals(readFileSync(join(import.meta.dirname, '../fixtures/snp/amd-roots/turin/cert_chain_vcek.pem')))).toBe(true);
    kds.failNext({ stalled: true });
    const err = await httpGet(`${kds.url}${path}`, 'test document', { ...fastHttp(), timeoutMs: 300, retries: 0 }).catch((e) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err.message).toMatch(/after 1 attempt: timed out/);
  });

  it('refuses a body over the size limit', async () => {
    const err = await httpGet(`${kds.url}/vcek/v1/Milan/cert_chain`, 'test document', { ...fastHttp(), retries: 0, maxBytes: 100 }).catch((e) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err.message).toMatch(/exceeds the 100-byte limit/);
  });
});

describe('KdsClient', () => {
  it('fetches the VCEK of every recorded chip by product, hwid and reported TCB', async () => {
    const client = new KdsClient({ baseUrl: kds.url, http: fastHttp() });
    const cases = vcekCases();
    expect(cases.length).toBeGreaterThanOrEqual(10);
    for (const c of cases) {
      const doc = await client.snpVcek({ product: c.product, hwId: c.chipId, tcb: c.tcb });
      expect(Buffer.from(doc.bytes).equals(readFileSync(join(c.dir, 'vcek.der'))), c.name).toBe(true);
      expect(doc.source).toBe('amd-kds');
    }
  });

  it('builds the Turin URL from the 8-byte hwid with fmcSPL first', () => {
    const c = snpCase('turin-v5-mstav');
    const client = new KdsClient({ baseUrl: 'https://kds.example/' });
    expect(client.vcekUrl({ product: 'Turin', hwId: c.chipId, tcb: c.tcb })).toBe(
      'https://kds.example/vcek/v1/Turin/59790fb1c39f35c1?fmcSPL=1&blSPL=1&teeSPL=1&snpSPL=4&ucodeSPL=81',
    );
    expect(() => client.vcekUrl({ product: 'Turin', hwId: c.chipId, tcb: { ...c.tcb, fmc: undefined } })).toThrow(EvidenceFormatError);
    expect(() => client.vcekUrl({ product: 'Milan', hwId: c.chipId.slice(0, 16), tcb: { bootloader: 1, tee: 0, snp: 1, microcode: 1 } })).toThrow(
      /64-byte CHIP_ID/,
    );
    expect(() => client.vcekUrl({ product: 'Milan', hwId: '00'.repeat(64), tcb: { bootloader: 1, tee: 0, snp: 1, microcode: 1 } })).toThrow(/MASK_CHIP_ID/);
  });

  it('fetches the VCEK and VLEK cert chains; VLEK CRL absent from the recording is a clear 404', async () => {
    const client = new KdsClient({ baseUrl: kds.url, http: fastHttp() });
    const vlek = await client.snpCertChain({ product: 'Milan', signer: 'vlek' });
    expect(Buffer.from(vlek.bytes).toString()).toContain('BEGIN CERTIFICATE');
    expect(Buffer.from(vlek.bytes).equals(readFileSync(join(import.meta.dirname, '../fixtures/snp/amd-roots/milan/cert_chain_vlek.pem')))).toBe(true);
    await expect(client.snpCrl({ product: 'Genoa', signer: 'vlek' })).rejects.toThrow(/AMD Genoa VLEK CRL from .*\/vlek\/v1\/Genoa\/crl: the server answered HTTP 404/);
  });
});

describe('PcsClient', () => {
  it('fetches TCB Info, QE Identity and both CRLs with their issuer chains, byte for byte', async () => {
    const client = new PcsClient({ baseUrl: pcs.url, http: fastHttp() });
    for (const name of ['phala-b0c06f-v4-uptodate', 'sgx-phala-00a067110000-v3-config-swhardening']) {
      const c = pcs.serveCase(name);
      const file = (f: string) => readFileSync(join(c.dir, f));
      const tcb = await client.intelTcbInfo({ tee: c.tee, fmspc: c.fmspc.toUpperCase() });
      expect(Buffer.from(tcb.bytes).equals(file('tcb_info.json'))).toBe(true);
      expect(tcb.issuerChain).toBe(file('tcb_info_issuer_chain.pem').toString());
      const qe = await client.intelQeIdentity({ tee: c.tee });
      expect(Buffer.from(qe.bytes).equals(file('qe_identity.json'))).toBe(true);
      expect(qe.issuerChain).toBe(file('qe_identity_issuer_chain.pem').toString());
      const crl = await client.intelPckCrl({ ca: c.ca });
      expect(Buffer.from(crl.bytes).equals(file('pck_crl.der'))).toBe(true);
      expect(crl.issuerChain).toBe(file('pck_crl_issuer_chain.pem').toString());
      const root = await client.intelRootCaCrl();
      expect(Buffer.from(root.bytes).equals(file('root_ca_crl.der'))).toBe(true);
      expect(root.source).toBe('intel-pcs');
    }
  });

  it('uses the PCCS Root CA CRL route for a custom base URL and Intel\'s distribution point by default', () => {
    expect(new PcsClient({ baseUrl: 'https://pccs.local:8081/' }).rootCaCrlUrl).toBe('https://pccs.local:8081/sgx/certification/v4/rootcacrl');
    expect(new PcsClient().rootCaCrlUrl).toBe('https://certificates.trustedservices.intel.com/IntelSGXRootCA.der');
  });

  it('decodes a hex-encoded Root CA CRL (as PCCS serves it) to DER', () => {
    const der = readFileSync(join(import.meta.dirname, '../fixtures/tdx/phala-b0c06f-v4-uptodate/root_ca_crl.der'));
    expect(Buffer.from(rootCaCrlDer(Buffer.from(der.toString('hex')))).equals(der)).toBe(true);
    expect(rootCaCrlDer(der)).toBe(der);
  });

  it('refuses a response without its issuer chain header', async () => {
    const c = pcs.serveCase('phala-near-20a06f-v4-uptodate');
    const route = pcs.routes.get(`/tdx/certification/v4/tcb?fmspc=${c.fmspc}`)!;
    pcs.routes.set(`/tdx/certification/v4/tcb?fmspc=${c.fmspc}`, { body: route.body, headers: { 'content-type': 'application/json' } });
    const client = new PcsClient({ baseUrl: pcs.url, http: fastHttp() });
    await expect(client.intelTcbInfo({ tee: 'tdx', fmspc: c.fmspc })).rejects.toThrow(
      /Intel TDX TCB Info for FMSPC 20a06f000000 from .* came without its TCB-Info-Issuer-Chain header/,
    );
  });
});

describe('VendorCollateralSource', () => {
  it('sends one request for 50 concurrent asks of the same document', async () => {
    const c = snpCase('genoa-v3-mstav');
    const source = new VendorCollateralSource({ kds: { baseUrl: kds.url }, pcs: { baseUrl: pcs.url }, http: fastHttp() });
    const before = kds.count('/vcek/v1/Genoa/');
    kds.failNext({ slowMs: 100 });
    const docs = await Promise.all(Array.from({ length: 50 }, () => source.snpVcek({ product: 'Genoa', hwId: c.chipId, tcb: c.tcb })));
    expect(kds.count('/vcek/v1/Genoa/') - before).toBe(1);
    expect(new Set(docs.map((d) => Buffer.from(d.bytes).toString('hex'))).size).toBe(1);
  });
});
