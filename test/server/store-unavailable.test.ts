// A store that cannot be reached (here: the SQLite connection closed under the running
// service, as a lost database connection looks to it) is a temporary refusal, never a 500
// and never a token without its record: 503 store_unavailable with Retry-After, nothing
// answered as decided, /readyz failing.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { snpAttestBody, startChainServer, stopServer, type TestServer } from './helpers.ts';

let chain: SimulatorChain;
let srv: TestServer;

beforeAll(async () => {
  ({ chain, srv } = await startChainServer());
}, 120_000);

afterAll(() => stopServer(srv));

describe('the store is unavailable', () => {
  it('answers 503 store_unavailable with Retry-After on attest, on authenticated reads, and fails /readyz', async () => {
    const { body } = await snpAttestBody(srv, chain);
    expect((await srv.call('GET', '/readyz')).status).toBe(200);
    await srv.service.store.close();

    const attest = await srv.call('POST', '/v1/attest', { body });
    expect([attest.status, attest.body.code]).toEqual([503, 'store_unavailable']);
    expect(attest.headers.get('retry-after')).toBe('2');
    expect(attest.body).not.toHaveProperty('token');

    const audit = await srv.call('GET', '/v1/audit', { token: srv.adminToken });
    expect([audit.status, audit.body.code]).toEqual([503, 'store_unavailable']);

    const ready = await srv.call('GET', '/readyz');
    expect([ready.status, ready.body.code]).toEqual([503, 'database_unavailable']);
  });
});
