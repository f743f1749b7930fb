// The AMD anchor is the one whose pinned ARK signed the ASK/ASVK in use, not the product the
// evidence names (issue 16 item 7). Real Milan/Genoa/Turin roots (test/fixtures/snp/amd-roots,
// the KDS cert_chain files) and simulator chains: a Genoa VCEK with Milan's ASK, a Milan chain
// claimed to be Genoa, a forged ASK, a simulated chain beside the real roots.

import { beforeAll, describe, expect, it } from 'vitest';
import type { AmdAnchor } from '../../verifier/anchors.ts';
import { failedChecks, type Check } from '../../verifier/result.ts';
import { AMD_ANCHORS, ARK_FINGERPRINTS } from '../../verifier/snp/amd-roots.ts';
import { verifySnpReport } from '../../verifier/snp/verify-evidence.ts';
import { createSimulatorChain, type SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { simulatorAnchors } from '../../verifier/testing/simulator-anchors.ts';
import { buildSnpReport } from '../../verifier/testing/snp-report-builder.ts';
import { amdRoot, loadCase } from './cases.ts';

const failed = (r: { checks: { id: string; ok: boolean }[] }): string[] => r.checks.filter((c) => !c.ok).map((c) => c.id);
const check = (r: { checks: Check[] }, id: string): Check | undefined => r.checks.find((c) => c.id === id);

const genoa = loadCase('genoa-v3-mstav');
const milan = loadCase('milan-v3-mstav');
const turin = loadCase('turin-v5-mstav');

describe('real roots: the ARK that signed the ASK decides the anchor', () => {
  it('a Genoa VCEK presented with Milan\'s ASK and ARK: the chain is Milan\'s, the report claims Genoa, refused naming both', () => {
    const r = verifySnpReport(genoa.report, { certificates: { vcek: genoa.signer, ask: amdRoot('Milan', 'ask'), ark: amdRoot('Milan', 'ark') } }, { at: genoa.at, crl: 'off' });
    expect(r.verified).toBe(false);
    expect(failed(r)).toEqual(['snp.chain.anchor-product', 'snp.chain.signer-signed-by-intermediate']);
    expect(check(r, 'snp.chain.anchor-product')).toMatchObject({
      expected: { product: 'Milan', by: 'ARK-Milan', sha256: ARK_FINGERPRINTS.Milan },
      found: { product: 'Genoa', from: expect.stringContaining("The report's CPUID") },
    });
    // The Milan ASK is genuine and the Milan ARK sent is the one in use: those pass.
    for (const id of ['snp.chain.intermediate-signed-by-ark', 'snp.chain.ark-pinned', 'snp.chain.intermediate-kind']) expect(check(r, id)?.ok, id).toBe(true);
    expect(r.collateral.find((u) => u.kind === 'ark')?.sha256).toBe(ARK_FINGERPRINTS.Milan);
  });

  it('a Milan report with the Genoa cert_chain of KDS, and a Turin one: each refused as the other product\'s chain', () => {
    for (const product of ['Genoa', 'Turin'] as const) {
      const r = verifySnpReport(milan.report, { certificates: { vcek: milan.signer, ask: amdRoot(product, 'ask'), ark: amdRoot(product, 'ark') } }, { at: milan.at, crl: 'off' });
      expect(check(r, 'snp.chain.anchor-product'), product).toMatchObject({ ok: false, expected: { product, by: `ARK-${product}` }, found: { product: 'Milan' } });
      expect(r.verified).toBe(false);
    }
  });

  it('the anchor is found whatever the order of the pinned anchors, and without a claim to try first', () => {
    const reversed = [...AMD_ANCHORS].reverse();
    for (const c of [milan, genoa, turin]) {
      const r = verifySnpReport(c.report, { certificates: c.certificates }, { at: c.at, crl: 'off', anchors: { amd: reversed } });
      expect(failedChecks(r), c.name).toEqual([]);
      expect(r.product).toBe(c.meta.product);
      expect(check(r, 'snp.chain.intermediate-signed-by-ark')?.detail).toContain(`pinned ARK-${c.meta.product}`);
      expect(check(r, 'snp.chain.anchor-product')?.ok).toBe(true);
    }
  });

  it('a forged ASK (the real Milan ASK, one signature byte changed) is signed by no pinned ARK: its own check, listing the ARKs', () => {
    const forged = Buffer.from(amdRoot('Milan', 'ask'));
    forged[forged.length - 1]! ^= 0x01;
    const r = verifySnpReport(milan.report, { certificates: { vcek: milan.signer, ask: forged, ark: amdRoot('Milan', 'ark') } }, { at: milan.at, crl: 'off' });
    expect(r.verified).toBe(false);
    expect(failed(r)).toContain('snp.chain.intermediate-signed-by-ark');
    expect(check(r, 'snp.chain.intermediate-signed-by-ark')).toMatchObject({
      expected: { signedByOneOf: AMD_ANCHORS.map((a) => ({ ark: `ARK-${a.product}`, sha256: ARK_FINGERPRINTS[a.product] })) },
      found: { issuer: expect.stringContaining('CN=ARK-Milan') },
    });
    // Nothing vouches for any product, so there is no anchor to hold the claim against.
    expect(check(r, 'snp.chain.anchor-product')).toBeUndefined();
    expect(r.collateral.some((u) => u.kind === 'ark')).toBe(false);
  });

  it('with no intermediate supplied, the embedded ASK that signed the VCEK is used, and the claim is held against its ARK', () => {
    // The Genoa VCEK for the Milan report: the embedded Genoa ASK signed it, so the chain is Genoa's.
    const r = verifySnpReport(milan.report, { certificates: { vcek: genoa.signer } }, { at: milan.at, crl: 'off' });
    expect(check(r, 'snp.chain.anchor-product')).toMatchObject({ ok: false, expected: { product: 'Genoa' }, found: { product: 'Milan' } });
    expect(check(r, 'snp.chain.signer-signed-by-intermediate')?.ok).toBe(true);
    expect(r.collateral.find((u) => u.kind === 'ask')).toMatchObject({ source: 'embedded', sha256: expect.any(String) });
  });
});

describe('simulator chains', () => {
  let chain: SimulatorChain;
  const NOW = new Date('2026-03-01T12:00:00Z');
  beforeAll(async () => {
    chain = await createSimulatorChain({ now: NOW, rsaBits: 2048 });
  });
  const devAnchors = (): AmdAnchor[] => [...AMD_ANCHORS, ...simulatorAnchors(chain).amd];

  it('a simulated Milan chain beside the real Milan root: the simulated ARK signed its ASK, so the result is marked simulated', () => {
    const { report, certificates } = buildSnpReport(chain);
    const r = verifySnpReport(report, { certificates }, { at: NOW, crl: 'off', anchors: { amd: devAnchors() } });
    expect(failedChecks(r)).toEqual([]);
    expect(r.claims?.simulated).toBe(true);
    expect(check(r, 'snp.chain.intermediate-signed-by-ark')?.detail).toContain('SIMULATED');
  });

  it('the simulated chain under the production anchors alone: its ASK, named as Milan\'s, is signed by no pinned ARK', () => {
    const { report, certificates } = buildSnpReport(chain);
    const r = verifySnpReport(report, { certificates }, { at: NOW, crl: 'off', anchors: { amd: AMD_ANCHORS } });
    expect(failed(r)).toEqual(expect.arrayContaining(['snp.chain.intermediate-signed-by-ark', 'snp.chain.ark-pinned']));
    expect(r.claims?.simulated).toBeUndefined();
  });

  it('a Milan chain whose report claims Genoa (CPUID family 19h model 11h) is refused as a product mismatch', () => {
    const { report, certificates } = buildSnpReport(chain, { cpuid: { family: 0x19, model: 0x11, stepping: 1 } });
    const r = verifySnpReport(report, { certificates }, { at: NOW, crl: 'off', anchors: { amd: devAnchors() } });
    expect(r.verified).toBe(false);
    expect(failed(r)).toContain('snp.chain.anchor-product');
    expect(check(r, 'snp.chain.anchor-product')).toMatchObject({
      expected: { product: 'Milan', by: 'ARK-Milan' },
      found: { product: 'Genoa', from: "The report's CPUID (family 0x19 model 0x11 stepping 0x1)" },
    });
  });
});
