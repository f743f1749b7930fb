// Revocation and the async entry point, on a locally generated RSA-PSS AMD-shaped chain
// (the development simulator's: verifier/testing/simulated-chain.ts), passed as a
// non-production, simulated AmdAnchor. CRLs are made here with @peculiar/x509, signed by
// the simulated ARK (or, for the negative case, by the ASK).

import { webcrypto, type KeyObject } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { CollateralUnavailableError } from '../../verifier/errors.ts';
import type { CollateralSource } from '../../verifier/collateral/source.ts';
import type { CrlMode } from '../../verifier/evidence.ts';
import { PRODUCTION_ANCHORS } from '../../verifier/production-anchors.ts';
import { verifyEvidence } from '../../verifier/verify-evidence.ts';
import { verifySnpReport } from '../../verifier/snp/verify-evidence.ts';
import { createSimulatorChain, type SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { simulatorAnchors, simulatorCollateralSource } from '../../verifier/testing/simulator-anchors.ts';
import { buildSnpReport } from '../../verifier/testing/snp-report-builder.ts';
import { parseCertificateDer } from '../../verifier/x509/certificate.ts';
import { x509 } from '../../verifier/x509/peculiar.ts';

const NOW = new Date('2026-03-01T00:00:00Z');
const DAY = 86_400_000;
let chain: SimulatorChain;
let report: Uint8Array;

beforeAll(async () => {
  chain = await createSimulatorChain({ now: NOW, rsaBits: 2048 });
  report = buildSnpReport(chain).report;
});

async function pssKey(key: KeyObject): Promise<webcrypto.CryptoKey> {
  const alg = { name: 'RSA-PSS', hash: 'SHA-384' };
  return webcrypto.subtle.importKey('pkcs8', key.export({ format: 'der', type: 'pkcs8' }), alg, false, ['sign']);
}

/** A CRL issued in the ARK's name, signed by `signer` (the ARK key unless told otherwise). */
async function makeCrl(opts: { revoked?: string[]; signer?: KeyObject; thisUpdate?: Date; nextUpdate?: Date } = {}): Promise<Buffer> {
  const ark = new x509.X509Certificate(chain.amd.ark);
  const crl = await x509.X509CrlGenerator.create({
    issuer: ark.subjectName,
    thisUpdate: opts.thisUpdate ?? new Date(NOW.getTime() - DAY),
    nextUpdate: opts.nextUpdate ?? new Date(NOW.getTime() + 30 * DAY),
    entries: (opts.revoked ?? []).map((serialNumber) => ({ serialNumber, revocationDate: new Date(NOW.getTime() - DAY) })),
    signingAlgorithm: { name: 'RSA-PSS', hash: 'SHA-384', saltLength: 48 } as webcrypto.Algorithm,
    // @peculiar/x509 types the key as the DOM CryptoKey; node's webcrypto key is that object.
    signingKey: (await pssKey(opts.signer ?? chain.amd.arkKey)) as Parameters<typeof x509.X509CrlGenerator.create>[0]['signingKey'],
  });
  return Buffer.from(crl.rawData);
}

function verifyWith(crl: Buffer | undefined, mode: CrlMode, stale = false) {
  return verifySnpReport(
    report,
    { certificates: { vcek: chain.amd.vcek }, ...(crl ? { crl } : {}), ...(stale ? { sources: { crl: { source: 'cache', stale: true } } } : {}) },
    { at: NOW, anchors: simulatorAnchors(chain), crl: mode },
  );
}
const failed = (r: { checks: { id: string; ok: boolean }[] }): string[] => r.checks.filter((c) => !c.ok).map((c) => c.id);
const ids = (r: { checks: { id: string }[] }): string[] => r.checks.map((c) => c.id);

describe('CRL modes', () => {
  it('prefer (the default) with a good CRL checks signature, validity and revocation', async () => {
    const r = verifyWith(await makeCrl(), 'prefer');
    expect(failed(r)).toEqual([]);
    expect(ids(r)).toEqual(expect.arrayContaining(['snp.crl.signature', 'snp.crl.validity', 'snp.crl.revocation']));
    expect(r.collateral.find((c) => c.kind === 'crl')).toMatchObject({ source: 'evidence' });
  });

  it('prefer without a CRL verifies and warns that revocation was not checked', () => {
    const r = verifyWith(undefined, 'prefer');
    expect(r.verified).toBe(true);
    expect(ids(r).some((id) => id.startsWith('snp.crl'))).toBe(false);
    expect(r.warnings).toContain('Revocation was not checked: no AMD CRL for Milan was available.');
  });

  it('require without a CRL fails snp.crl', () => {
    const r = verifyWith(undefined, 'require');
    expect(failed(r)).toEqual(['snp.crl']);
  });

  it('off skips even a CRL that is there, and says so', async () => {
    const r = verifyWith(await makeCrl({ revoked: [parseCertificateDer(chain.amd.vcek).serial] }), 'off');
    expect(r.verified).toBe(true);
    expect(r.warnings).toContain('Revocation was not checked: CRL mode is off.');
  });
});

describe('CRL contents', () => {
  it('a revoked VCEK fails snp.crl.revocation, naming its serial', async () => {
    const serial = parseCertificateDer(chain.amd.vcek).serial;
    const r = verifyWith(await makeCrl({ revoked: ['1234', serial] }), 'prefer');
    expect(failed(r)).toEqual(['snp.crl.revocation']);
    expect(r.checks.find((c) => c.id === 'snp.crl.revocation')?.detail).toContain(`VCEK serial ${serial}`);
  });

  it('a revoked ASK fails snp.crl.revocation', async () => {
    const r = verifyWith(await makeCrl({ revoked: [parseCertificateDer(chain.amd.ask).serial] }), 'prefer');
    expect(failed(r)).toEqual(['snp.crl.revocation']);
  });

  it('a CRL in the ARK name but signed by another key fails snp.crl.signature', async () => {
    const r = verifyWith(await makeCrl({ signer: chain.amd.askKey }), 'prefer');
    expect(failed(r)).toContain('snp.crl.signature');
  });

  it('a CRL past its nextUpdate fails snp.crl.validity, unless served stale by the cache (then a warning)', async () => {
    const old = await makeCrl({ thisUpdate: new Date(NOW.getTime() - 60 * DAY), nextUpdate: new Date(NOW.getTime() - 30 * DAY) });
    expect(failed(verifyWith(old, 'prefer'))).toEqual(['snp.crl.validity']);
    const stale = verifyWith(old, 'prefer', true);
    expect(stale.verified).toBe(true);
    expect(stale.warnings.some((w) => w.includes('served stale'))).toBe(true);
    expect(stale.collateral.find((c) => c.kind === 'crl')).toMatchObject({ source: 'cache', stale: true });
  });

  it('a CRL not yet current (thisUpdate in the future) fails snp.crl.validity', async () => {
    const future = await makeCrl({ thisUpdate: new Date(NOW.getTime() + DAY) });
    expect(failed(verifyWith(future, 'prefer'))).toEqual(['snp.crl.validity']);
  });

  it('a CRL that is not DER is crl_malformed', () => {
    expect(() => verifyWith(Buffer.from('3003020101', 'hex'), 'prefer')).toThrow(expect.objectContaining({ code: 'crl_malformed' }) as Error);
  });
});

describe('the async entry point with a collateral source', () => {
  it('fetches the VCEK and the CRL it was not given, records where they came from, and marks the claims simulated', async () => {
    const result = await verifyEvidence(
      { tee: 'sev-snp', report },
      { at: NOW, anchors: simulatorAnchors(chain), collateral: simulatorCollateralSource(chain), crl: 'require' },
    );
    expect(failed(result)).toEqual([]);
    expect(result.claims?.simulated).toBe(true);
    expect(result.warnings.some((w) => w.includes('SIMULATED'))).toBe(true);
    expect(result.collateral).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'vcek', source: 'simulator' }),
        expect.objectContaining({ kind: 'crl', source: 'simulator' }),
        expect.objectContaining({ kind: 'ask', source: 'embedded' }),
        expect.objectContaining({ kind: 'ark', source: 'embedded' }),
      ]),
    );
  });

  it('verifies the bytes it was handed, even if the caller changes its buffer while the VCEK is fetched', async () => {
    const mine = Buffer.from(report);
    const sim = simulatorCollateralSource(chain);
    const source: CollateralSource = {
      ...sim,
      snpVcek: (req) => {
        mine.fill(0x41, 0x90, 0xc0); // MEASUREMENT, while the verifier waits
        return sim.snpVcek(req);
      },
    };
    const result = await verifyEvidence({ tee: 'sev-snp', report: mine }, { at: NOW, anchors: simulatorAnchors(chain), collateral: source, crl: 'off' });
    expect(mine.subarray(0x90, 0xc0).every((b) => b === 0x41)).toBe(true);
    expect(failed(result)).toEqual([]);
    expect(result.claims?.measurement).toBe(Buffer.from(report).subarray(0x90, 0xc0).toString('hex'));
  });

  it('fetches cert_chain when the anchor embeds no intermediate, and checks its root against the pinned one', async () => {
    const anchors = simulatorAnchors(chain);
    const bare = { ...anchors, amd: anchors.amd.map(({ askDer: _ask, ...a }) => a) };
    const result = await verifyEvidence({ tee: 'sev-snp', report }, { at: NOW, anchors: bare, collateral: simulatorCollateralSource(chain) });
    expect(failed(result)).toEqual([]);
    expect(result.checks.find((c) => c.id === 'snp.chain.ark-pinned')?.ok).toBe(true);
    expect(result.collateral.find((c) => c.kind === 'ask')?.source).toBe('simulator');
  });

  it('prefer goes on without a CRL the source cannot serve; require does not', async () => {
    const source = simulatorCollateralSource(chain);
    const noCrl: CollateralSource = {
      ...source,
      snpCrl: () => Promise.reject(new CollateralUnavailableError('crl', 'AMD KDS is unreachable.')),
    };
    const options = { at: NOW, anchors: simulatorAnchors(chain), collateral: noCrl };
    const prefer = await verifyEvidence({ tee: 'sev-snp', report }, { ...options, crl: 'prefer' });
    expect(prefer.verified).toBe(true);
    await expect(verifyEvidence({ tee: 'sev-snp', report }, { ...options, crl: 'require' })).rejects.toBeInstanceOf(CollateralUnavailableError);
  });

  it('a source that breaks its contract (throws something else) still yields only CollateralUnavailableError', async () => {
    const source = simulatorCollateralSource(chain);
    const options = { at: NOW, anchors: simulatorAnchors(chain) };
    const broken = (which: 'snpVcek' | 'snpCrl'): CollateralSource => ({ ...source, [which]: () => Promise.reject(new TypeError('fetch failed')) });
    const vcek = verifyEvidence({ tee: 'sev-snp', report }, { ...options, collateral: broken('snpVcek') });
    await expect(vcek).rejects.toBeInstanceOf(CollateralUnavailableError);
    await expect(vcek).rejects.toMatchObject({ document: 'vcek', message: expect.stringContaining('fetch failed') as string });
    // prefer: a CRL that cannot be had is a warning, whatever way the source failed.
    const prefer = await verifyEvidence({ tee: 'sev-snp', report }, { ...options, collateral: broken('snpCrl'), crl: 'prefer' });
    expect(prefer.verified).toBe(true);
    await expect(verifyEvidence({ tee: 'sev-snp', report }, { ...options, collateral: broken('snpCrl'), crl: 'require' })).rejects.toBeInstanceOf(
      CollateralUnavailableError,
    );
  });

  it('production anchors do not trust the simulator, and never include a simulated root', async () => {
    expect(PRODUCTION_ANCHORS.amd.some((a) => a.simulated)).toBe(false);
    const result = await verifyEvidence({ tee: 'sev-snp', report, certificates: { vcek: chain.amd.vcek } }, { at: NOW });
    expect(result.verified).toBe(false);
    expect(result.claims?.simulated).toBeUndefined();
    expect(failed(result)).toContain('snp.chain.signer-signed-by-intermediate');
  });

  it('a simulated VCEK is not turned into a trusted one by sending the simulated root along', async () => {
    const result = await verifyEvidence(
      { tee: 'sev-snp', report, certificates: { vcek: chain.amd.vcek, ask: chain.amd.ask, ark: chain.amd.ark } },
      { at: NOW },
    );
    expect(failed(result)).toEqual(expect.arrayContaining(['snp.chain.ark-pinned', 'snp.chain.intermediate-signed-by-ark']));
    // The root sent along is named, by hash, as what was found instead of the pinned ARK.
    expect(result.checks.find((c) => c.id === 'snp.chain.ark-pinned')?.found).toBe(parseCertificateDer(chain.amd.ark).sha256);
  });
});
