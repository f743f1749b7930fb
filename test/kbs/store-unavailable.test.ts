// The KBS endpoints with the store gone (the SQLite connection closed under the running
// service): 503 store_unavailable with Retry-After in the KBS error shape, never a 500 and
// never a token or a resource without its record.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { startChainServer, stopServer, type TestServer } from '../server/helpers.ts';
import { agentReportData, attestation, KbsGuest, kbsType, snpKbsEvidence, teeKeyPair } from './helpers.ts';

let chain: SimulatorChain;
let srv: TestServer;

beforeAll(async () => {
  ({ chain, srv } = await startChainServer({ kbs: { enabled: true } }));
}, 120_000);
afterAll(() => stopServer(srv));

describe('KBS with the store unavailable', () => {
  it('answers auth, attest and resource 503 store_unavailable with Retry-After', async () => {
    const g = new KbsGuest(srv);
    const auth = await g.auth('snp');
    const { pubkey } = teeKeyPair();
    const body = attestation(auth.body.nonce, pubkey, snpKbsEvidence(chain, agentReportData(auth.body.nonce, pubkey)));
    await srv.service.store.close();
    const answers = [await new KbsGuest(srv).auth('snp'), await g.call('POST', '/kbs/v0/attest', { body }), await g.call('GET', '/kbs/v0/resource/default/key/1')];
    for (const res of answers) {
      expect(res.status).toBe(503);
      expect(res.headers.get('x-tessera-code')).toBe('store_unavailable');
      expect(res.headers.get('retry-after')).toBe('2');
      expect(res.body.type).toBe(kbsType('AttestationError'));
      expect(res.body).not.toHaveProperty('token');
    }
  });
});
