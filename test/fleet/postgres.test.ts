/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are JSON checked field by field */
// The fleet and the what-if of a service whose state is on PostgreSQL (a real server,
// test/support/postgres.ts): the same answers as on SQLite, from the PostgreSQL engine's
// grouping and replay.

import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withAnotherSimulatedChip, type SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { makeChain, NO_RATE_LIMITS, snpAttestBody, startServer, stopServer, type TestServer } from '../server/helpers.ts';
import { usePostgres } from '../support/postgres.ts';

const pgs = usePostgres();
let chain: SimulatorChain;
let older: SimulatorChain;
let srv: TestServer;
const shortId = (chip: Buffer) => createHash('sha256').update(chip).digest('hex').slice(0, 16);

beforeAll(async () => {
  chain = await makeChain();
  older = await withAnotherSimulatedChip(chain, randomBytes(64), { bootloader: 1, tee: 0, snp: 24, microcode: 219 });
  srv = await startServer({ chain, config: { ...NO_RATE_LIMITS, database: await pgs.fresh() } });
  // Chip A's debug guest first: a platform is judged by its newest attestation.
  for (const [c, status] of [[chain, 403], [chain, 200], [older, 200]] as const) {
    const { body } = await snpAttestBody(srv, c, status === 403 ? { report: { policy: { debug: true } } } : {});
    expect((await srv.call('POST', '/v1/attest', { body })).status).toBe(status);
  }
}, 180_000);

afterAll(() => stopServer(srv));

describe('fleet and what-if on PostgreSQL', () => {
  it('lists both chips with their TCBs and outcomes, and the what-if names the older one', async () => {
    const f = await srv.call('GET', '/v1/fleet?days=2', { token: srv.adminToken });
    expect(f.status, JSON.stringify(f.body)).toBe(200);
    expect(f.body.totals).toEqual({ platforms: 2, workloads: 1, attestations: 3, accepted: 2, denied: 1 });
    const byId = Object.fromEntries(f.body.platforms.map((p: any) => [p.id, p]));
    expect(byId[shortId(chain.amd.chipId)]).toMatchObject({ accepted: 1, denied: 1, snp: { reportedTcb: { bootloader: 4, tee: 0, snp: 24, microcode: 219 } } });
    expect(byId[shortId(older.amd.chipId)]).toMatchObject({ accepted: 1, denied: 0, snp: { reportedTcb: { bootloader: 1, tee: 0, snp: 24, microcode: 219 } } });

    const w = await srv.call('POST', '/v1/policies/what-if', { token: srv.adminToken, body: { days: 2, tcb: { snp: { Milan: { bootloader: 2 } } } } });
    expect(w.status, JSON.stringify(w.body)).toBe(200);
    expect(w.body.platforms).toEqual({ total: 2, refused: 1, newlyRefused: 1 });
    expect(w.body.refusedPlatforms.map((p: any) => [p.id, p.rules.map((r: any) => r.id)])).toEqual([[shortId(older.amd.chipId), ['snp.minTcb']]]);
  });
});
