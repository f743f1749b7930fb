// The verifier pool runs verifyPrepared on worker threads. What comes back must be what the
// in-thread verifier gives, byte for byte, for real evidence that passes and for evidence that
// fails; the verifier's two errors must come back as themselves (class, code, document); and
// `verifyThreads: 0` must verify the same on the event loop.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.ts';
import { startChainServer, snpAttestBody, stopServer } from './helpers.ts';
import { asSqliteStore } from '../../server/storage/sqlite/index.ts';
import { NotDurableError } from '../../server/storage/store.ts';
import { toProblem } from '../../server/problem.ts';
import { createVerifierPool, MAX_QUEUED_VERIFICATIONS, ServerBusyError, type VerifierPool } from '../../server/verification/pool.ts';
import { CollateralUnavailableError, EvidenceFormatError } from '../../verifier/errors.ts';
import type { Evidence } from '../../verifier/evidence.ts';
import { PRODUCTION_ANCHORS } from '../../verifier/production-anchors.ts';
import { prepareEvidence, verifyEvidence, type PreparedEvidence } from '../../verifier/verify-evidence.ts';
import { createSimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { simulatorAnchors } from '../../verifier/testing/simulator-anchors.ts';
import { buildSnpReport } from '../../verifier/testing/snp-report-builder.ts';
import { loadCase as loadSnpCase } from '../snp/cases.ts';
import { loadCase as loadIntelCase } from '../tdx/cases.ts';

const snp = loadSnpCase('genoa-v3-mstav');
const tdx = loadIntelCase('tdx', 'phala-b0c06f-v4-uptodate');

interface Sample {
  what: string;
  evidence: Evidence;
  at: Date;
}

function flipped(bytes: Buffer, at: number): Buffer {
  const b = Buffer.from(bytes);
  b[at]! ^= 0x01;
  return b;
}

const samples: Sample[] = [
  { what: 'SEV-SNP, genuine', evidence: { tee: 'sev-snp', report: snp.report, certificates: snp.certificates }, at: snp.at },
  { what: 'SEV-SNP, one measurement bit flipped', evidence: { tee: 'sev-snp', report: flipped(snp.report, 0x90), certificates: snp.certificates }, at: snp.at },
  { what: 'TDX, genuine', evidence: { tee: 'tdx', quote: tdx.quote, collateral: tdx.collateral }, at: tdx.at },
  { what: 'TDX, one MRTD bit flipped', evidence: { tee: 'tdx', quote: flipped(tdx.quote, 48 + 136), collateral: tdx.collateral }, at: tdx.at },
];

let threaded: VerifierPool;
let inThread: VerifierPool;

beforeAll(() => {
  threaded = createVerifierPool([PRODUCTION_ANCHORS], 1);
  inThread = createVerifierPool([PRODUCTION_ANCHORS], 0);
});

afterAll(async () => {
  await threaded?.close();
});

describe('verifier pool', () => {
  it.each(samples)('$what: the same result on a worker thread, on the event loop and from verifyEvidence', async ({ evidence, at }) => {
    const reference = await verifyEvidence(evidence, { at, crl: 'off' });
    const prepared = await prepareEvidence(evidence, { at, crl: 'off' });
    expect(await threaded.verify(prepared, 0)).toEqual(reference);
    expect(await threaded.verify(prepared, 0, true)).toEqual(reference);
    expect(await inThread.verify(prepared, 0)).toEqual(reference);
  }, 60_000);

  it('tells genuine from tampered evidence on the thread (the checks really run there)', async () => {
    const results = await Promise.all(samples.map(async (s) => (await threaded.verify(await prepareEvidence(s.evidence, { at: s.at, crl: 'off' }), 0)).verified));
    expect(results).toEqual([true, false, true, false]);
  });

  it('verifies against the anchors of the domain a task names', async () => {
    const chain = await createSimulatorChain({ now: snp.at, rsaBits: 2048 });
    const pool = createVerifierPool([PRODUCTION_ANCHORS, simulatorAnchors(chain)], 1);
    try {
      const { report, certificates } = buildSnpReport(chain);
      const prepared = await prepareEvidence({ tee: 'sev-snp', report, certificates: { vcek: certificates.vcek } }, { at: snp.at, anchors: simulatorAnchors(chain), crl: 'off' });
      expect((await pool.verify(prepared, 1)).verified).toBe(true);
      // The same evidence under the production anchors does not chain.
      expect((await pool.verify(prepared, 0)).verified).toBe(false);
      await expect(pool.verify(prepared, 2)).rejects.toThrow(RangeError);
    } finally {
      await pool.close();
    }
  }, 60_000);

  it("returns the verifier's errors as themselves", async () => {
    const good = (await prepareEvidence(samples[0]!.evidence, { at: snp.at, crl: 'off' })) as Extract<PreparedEvidence, { tee: 'sev-snp' }>;
    const truncated: PreparedEvidence = { ...good, report: good.report.subarray(0, 1000) };
    for (const pool of [threaded, inThread]) {
      const format = await pool.verify(truncated, 0).catch((err: unknown) => err);
      expect(format).toBeInstanceOf(EvidenceFormatError);
      expect((format as EvidenceFormatError).code).toBe('snp_report_length');
      const unsigned: PreparedEvidence = { ...good, material: { certificates: {} } };
      const missing = await pool.verify(unsigned, 0).catch((err: unknown) => err);
      expect(missing).toBeInstanceOf(CollateralUnavailableError);
      expect((missing as CollateralUnavailableError).document).toBe('vcek');
    }
  });

  it('a failure that is not the verifier\'s own comes back as an error, never as a result', async () => {
    const good = (await prepareEvidence(samples[0]!.evidence, { at: snp.at, crl: 'off' })) as Extract<PreparedEvidence, { tee: 'sev-snp' }>;
    const broken = { ...good, material: undefined } as unknown as PreparedEvidence;
    for (const pool of [threaded, inThread]) {
      const err = await pool.verify(broken, 0).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect(err).not.toBeInstanceOf(EvidenceFormatError);
      expect(err).not.toBeInstanceOf(CollateralUnavailableError);
    }
    // The thread is still there for the next task.
    expect((await threaded.verify(good, 0)).verified).toBe(true);
  });

  it('refuses verifications beyond a full queue with ServerBusyError, and verifies the rest', async () => {
    const prepared = await prepareEvidence(samples[0]!.evidence, { at: snp.at, crl: 'off' });
    const settled = await Promise.allSettled(Array.from({ length: MAX_QUEUED_VERIFICATIONS + 40 }, () => threaded.verify(prepared, 0)));
    const refused = settled.filter((r) => r.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ServerBusyError);
    const verified = settled.filter((r) => r.status === 'fulfilled');
    expect(verified.length).toBeGreaterThanOrEqual(MAX_QUEUED_VERIFICATIONS);
    expect(verified.every((r) => (r as PromiseFulfilledResult<{ verified: boolean }>).value.verified)).toBe(true);
    expect(toProblem(new ServerBusyError())).toMatchObject({ status: 503, code: 'server_busy', bug: false, retryAfterSeconds: 1 });
  }, 120_000);

  it('answers a saturated pool with 503 server_busy and Retry-After: 1 over HTTP, consuming nothing', async () => {
    const { chain, srv } = await startChainServer();
    try {
      const pool = srv.service.ctx.verifier;
      srv.service.ctx.verifier = { ...pool, verify: () => Promise.reject(new ServerBusyError()) };
      const attempt = await snpAttestBody(srv, chain);
      const busy = await srv.call('POST', '/v1/attest', { body: attempt.body });
      expect(busy.status).toBe(503);
      expect(busy.body.code).toBe('server_busy');
      expect(busy.headers.get('retry-after')).toBe('1');
      // The same challenge still works once the pool has room: the refusal consumed nothing.
      srv.service.ctx.verifier = pool;
      expect((await srv.call('POST', '/v1/attest', { body: attempt.body })).status).toBe(200);
    } finally {
      await stopServer(srv);
    }
  }, 120_000);

  it('is configured by verifyThreads / TESSERA_VERIFY_THREADS, 0 meaning the event loop', () => {
    expect(loadConfig({ env: {} }).verifyThreads).toBeGreaterThanOrEqual(1);
    expect(loadConfig({ env: { TESSERA_VERIFY_THREADS: '0' } }).verifyThreads).toBe(0);
    expect(loadConfig({ env: { TESSERA_VERIFY_THREADS: '3' } }).verifyThreads).toBe(3);
    expect(() => loadConfig({ env: { TESSERA_VERIFY_THREADS: 'many' } })).toThrow(/TESSERA_VERIFY_THREADS/);
  });

  it('the service verifies a lone attestation in the event loop, concurrent ones on the threads, and refuses all once a sync failed', async () => {
    const { chain, srv } = await startChainServer();
    try {
      const where: boolean[] = [];
      const pool = srv.service.ctx.verifier;
      const verify = pool.verify.bind(pool);
      srv.service.ctx.verifier = { ...pool, verify: (prepared, domain, here) => (where.push(here ?? false), verify(prepared, domain, here)) };
      const lone = await snpAttestBody(srv, chain);
      expect((await srv.call('POST', '/v1/attest', { body: lone.body })).status).toBe(200);
      expect(where).toEqual([true]);
      where.length = 0;
      const bodies = await Promise.all(Array.from({ length: 4 }, () => snpAttestBody(srv, chain)));
      const answers = await Promise.all(bodies.map((b) => srv.call('POST', '/v1/attest', { body: b.body })));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
      expect(where).toHaveLength(4);
      expect(where.filter((h) => !h).length).toBeGreaterThanOrEqual(3);
      expect(srv.service.ctx.attestationsInFlight).toBe(0);

      // After a failed WAL sync, nothing more is accepted and /readyz says why.
      asSqliteStore(srv.service.store).commits.failure = new NotDurableError(new Error('EIO'));
      const after = await snpAttestBody(srv, chain);
      const refused = await srv.call('POST', '/v1/attest', { body: after.body });
      expect(refused.status).toBe(503);
      expect(refused.body.code).toBe('database_unavailable');
      const ready = await srv.call('GET', '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.code).toBe('database_unavailable');
    } finally {
      await stopServer(srv);
    }
  }, 120_000);
});
