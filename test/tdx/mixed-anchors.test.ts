// One root of trust per quote. With a simulator's root pinned beside Intel's (development
// mode), a genuine quote must not be judged by TCB Info or QE Identity that the simulator
// signed: the collateral chains must reach the root the PCK chain reached (QVL verifies a
// quote and its collateral under its one trusted root). Otherwise anyone holding the
// simulator's keys could rate any real platform UpToDate, and the result would not even be
// marked simulated.

import { sign } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { IntelAnchor } from '../../verifier/anchors.ts';
import type { IntelCollateral } from '../../verifier/evidence.ts';
import { INTEL_ANCHORS } from '../../verifier/tdx/intel-root.ts';
import { parseSignedJson } from '../../verifier/tdx/signed-json.ts';
import { verifyIntelQuote } from '../../verifier/tdx/verify-evidence.ts';
import { certificatesPem, createSimulatorChain, type SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { byName } from './cases.ts';

const c = byName('phala-b0c06f-v4-uptodate');
let chain: SimulatorChain;
let anchors: IntelAnchor[];

/** The vector's own document text, re-signed by the simulator's TCB Signing key. */
function resigned(body: string, key: 'tcbInfo' | 'enclaveIdentity'): string {
  const inner = parseSignedJson(body, key, key, 'test').signedText;
  const sig = sign('sha256', Buffer.from(inner, 'utf8'), { key: chain.intel.tcbSigningKey, dsaEncoding: 'ieee-p1363' }).toString('hex');
  return `{"${key}":${inner},"signature":"${sig}"}`;
}

beforeAll(async () => {
  chain = await createSimulatorChain({ now: c.at, rsaBits: 2048 });
  anchors = [...INTEL_ANCHORS, { rootDer: chain.intel.root, simulated: true }];
});

describe('a genuine quote with collateral signed under another pinned root', () => {
  it('verifies with Intel-signed collateral when both roots are pinned', () => {
    expect(verifyIntelQuote(c.quote, c.collateral, { at: c.at, anchors }).verified).toBe(true);
  });

  it.each([
    ['TCB Info', 'tdx.collateral.tcb-info.chain'],
    ['QE Identity', 'tdx.collateral.qe-identity.chain'],
  ])('is rejected when the %s chains to the simulator root', (which, id) => {
    const simChain = certificatesPem(chain.intel.tcbSigning, chain.intel.root);
    const collateral: IntelCollateral =
      which === 'TCB Info'
        ? { ...c.collateral, tcbInfo: resigned(c.collateral.tcbInfo, 'tcbInfo'), tcbInfoIssuerChain: simChain }
        : { ...c.collateral, qeIdentity: resigned(c.collateral.qeIdentity, 'enclaveIdentity'), qeIdentityIssuerChain: simChain };
    const r = verifyIntelQuote(c.quote, collateral, { at: c.at, anchors });
    expect(r.verified).toBe(false);
    const failed = r.checks.filter((x) => !x.ok);
    expect(failed.map((x) => x.id)).toEqual([id]);
    expect(failed[0]!.detail).toContain('another pinned root than the PCK certificate chain');
    expect(failed[0]!.found).toMatchObject({ simulated: true });
  });
});
