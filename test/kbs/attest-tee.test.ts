/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are JSON checked field by field */
// The other evidence shapes of /kbs/v0/attest: TDX with its CC event log replayed against the
// quote's RTMRs (trustee's own CCEL vector), and Azure vTPM evidence (az-snp-vtpm,
// az-tdx-vtpm) whose TPM quote nonce is the unpadded runtime-data digest.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import canonicalize from 'canonicalize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import type { SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { NO_RATE_LIMITS, startChainServer, stopServer, type TestServer } from '../server/helpers.ts';
import { agentReportData, attestation, azKbsEvidence, KbsGuest, tdxKbsEvidence, teeKeyPair } from './helpers.ts';

let chain: SimulatorChain;
let srv: TestServer;

beforeAll(async () => {
  ({ chain, srv } = await startChainServer({ ...NO_RATE_LIMITS, kbs: { enabled: true } }));
}, 120_000);
afterAll(() => stopServer(srv));

const ccel = readFileSync(new URL('../fixtures/tdx-ccel/CCEL_data_ovmf', import.meta.url));
const ccelCase = JSON.parse(readFileSync(new URL('../fixtures/tdx-ccel/case.json', import.meta.url), 'utf8')).cases.CCEL_data_ovmf;
const rtmrs = (ccelCase.rtmr as string[]).map((h) => Buffer.from(h, 'hex')) as [Buffer, Buffer, Buffer, Buffer];

async function tdxWithLog(rtmr: [Buffer, Buffer, Buffer, Buffer]) {
  const g = new KbsGuest(srv);
  const auth = await g.auth('tdx');
  const { pubkey } = teeKeyPair();
  const ev = tdxKbsEvidence(chain, agentReportData(auth.body.nonce, pubkey), { rtmr }, ccel);
  return g.call('POST', '/kbs/v0/attest', { body: attestation(auth.body.nonce, pubkey, ev) });
}

describe('tdx cc_eventlog', () => {
  it('is replayed against the RTMRs: a quote whose RTMRs are the log\'s is accepted', async () => {
    const res = await tdxWithLog(rtmrs);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect((decodeJwt(res.body.token) as any).submods.tdx['tessera.claims'].tdx.rtmr).toEqual(ccelCase.rtmr);
  });

  it('a quote whose RTMR[0] differs from the replay is denied, naming tdx.eventlog.rtmr0', async () => {
    const changed = Buffer.from(rtmrs[0]);
    changed[47]! ^= 1;
    const res = await tdxWithLog([changed, rtmrs[1], rtmrs[2], rtmrs[3]]);
    expect(res.status).toBe(401);
    expect(res.headers.get('x-tessera-code')).toBe('attestation_denied');
    expect(res.body.detail).toContain('tdx.eventlog.rtmr0');
    expect(res.body.detail).not.toContain('tdx.eventlog.rtmr1');
  });
});

describe('Azure vTPM evidence', () => {
  for (const tee of ['az-snp-vtpm', 'az-tdx-vtpm'] as const) {
    it(`${tee}: the TPM nonce is the SHA-384 of the runtime data; another digest is denied`, async () => {
      const g = new KbsGuest(srv);
      const auth = await g.auth(tee);
      const { pubkey } = teeKeyPair();
      const digest = createHash('sha384').update(canonicalize({ 'tee-pubkey': pubkey, nonce: auth.body.nonce, 'additional-evidence': '' })!).digest();
      const res = await g.call('POST', '/kbs/v0/attest', { body: attestation(auth.body.nonce, pubkey, azKbsEvidence(chain, tee, digest)) });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect((decodeJwt(res.body.token) as any).submods[tee]['tessera.claims'].tpm.nonce).toBe(digest.toString('hex'));

      const h = new KbsGuest(srv);
      const a2 = await h.auth(tee);
      const wrong = await h.call('POST', '/kbs/v0/attest', { body: attestation(a2.body.nonce, pubkey, azKbsEvidence(chain, tee, createHash('sha384').update('other').digest())) });
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get('x-tessera-code')).toBe('attestation_denied');
      expect(wrong.body.detail).toContain('binding.report-data');
    });
  }
});
