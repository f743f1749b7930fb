/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are JSON checked field by field */
// Review of single use (README "The attestation flow", step 1): two requests carrying the same
// challenge, in flight at the same time, get exactly one decision between them, whatever the
// timing of the group commit or of the pruning of expired consumed challenges. The verifier
// pool is wrapped so the test decides when each verification returns.

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { randomBytes } from 'node:crypto';
import { ChallengeError, ChallengeSigner, type OpenedChallenge } from '../../server/challenge.ts';
import { asSqliteStore } from '../../server/storage/sqlite/index.ts';
import type { VerifierPool } from '../../server/verification/pool.ts';
import type { SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { makeChain, snpAttestBody, startServer, stopServer, type TestServer } from './helpers.ts';

const TTL_SECONDS = 5;
let chain: SimulatorChain;
let srv: TestServer;
let realVerify: VerifierPool['verify'];

beforeAll(async () => {
  chain = await makeChain();
  srv = await startServer({ chain, config: { challengeTtlSeconds: TTL_SECONDS } });
  realVerify = srv.service.ctx.verifier.verify.bind(srv.service.ctx.verifier);
}, 120_000);

afterAll(() => stopServer(srv));

/** Row counts of what a decision stores. */
function counts() {
  const sqlite = asSqliteStore(srv.service.store).sqlite;
  const n = (table: string) => (sqlite.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  return { attestations: n('attestations'), consumed: n('consumed_challenges'), audit: n('audit_log') };
}

/** Hold each verification until `release` is called with its index (0, 1, ...). */
function gateVerifications() {
  const waiting: Array<() => void> = [];
  const arrived: Array<() => void> = [];
  let seen = 0;
  srv.service.ctx.verifier.verify = async (prepared, domain) => {
    const result = await realVerify(prepared, domain, true);
    const i = seen++;
    await new Promise<void>((resolve) => {
      waiting[i] = resolve;
      arrived[i]?.();
    });
    return result;
  };
  return {
    /** Resolves once verification `i` is done and held. */
    reached: (i: number) => (waiting[i] ? Promise.resolve() : new Promise<void>((resolve) => (arrived[i] = resolve))),
    release: (i: number) => waiting[i]!(),
    restore: () => {
      srv.service.ctx.verifier.verify = realVerify;
    },
  };
}

async function auditFor(attestationId: string | undefined, code?: string) {
  const r = await srv.call('GET', '/v1/audit?action=attestation&limit=20', { token: srv.adminToken });
  return (r.body.entries as any[]).filter((e) => (attestationId ? e.subject === attestationId : e.details?.code === code));
}

describe('single use of a challenge under concurrency', () => {
  it('two requests with one challenge in the same group-commit batch: one 200, one 409, each audited as answered', async () => {
    const { body } = await snpAttestBody(srv, chain);
    const gate = gateVerifications();
    const commits = asSqliteStore(srv.service.store).commits as any;
    const flush = commits.flush;
    const batches: number[] = [];
    // The first batch is held until both requests are queued: released in the same turn, they
    // still reach the commit a few turns apart (the result signature runs on the thread pool),
    // and the race must be judged inside one batch.
    const deadline = Date.now() + 5000;
    commits.flush = function (this: unknown) {
      if (batches.length === 0 && commits.queue.length < 2 && Date.now() < deadline) {
        setImmediate(() => commits.flush());
        return;
      }
      batches.push(commits.queue.length);
      return flush.call(commits);
    };
    try {
      const before = counts();
      const a = srv.call('POST', '/v1/attest', { body });
      const b = srv.call('POST', '/v1/attest', { body });
      await Promise.all([gate.reached(0), gate.reached(1)]);
      // Released in the same turn: both reach the group commit together, so one batch holds both.
      gate.release(0);
      gate.release(1);
      const answers = (await Promise.all([a, b])).sort((x, y) => x.status - y.status);
      expect(answers.map((r) => r.status)).toEqual([200, 409]);
      expect(batches[0]).toBe(2);
      expect(answers[1]!.body.code).toBe('challenge_replayed');
      const after = counts();
      expect(after.attestations - before.attestations).toBe(1);
      expect(after.consumed - before.consumed).toBe(1);
      // One entry for the decision, one for the refused replay.
      expect(after.audit - before.audit).toBe(2);
      expect(await auditFor(answers[0]!.body.attestationId)).toEqual([expect.objectContaining({ outcome: 'affirming' })]);
      const refused = await auditFor(undefined, 'challenge_replayed');
      expect(refused[0]).toMatchObject({ outcome: 'rejected', tee: 'sev-snp' });
    } finally {
      commits.flush = flush;
      gate.restore();
    }
  });

  it('a request still being decided when the consumed challenge is pruned cannot use it a second time', async () => {
    const { body } = await snpAttestBody(srv, chain);
    const gate = gateVerifications();
    try {
      const a = srv.call('POST', '/v1/attest', { body });
      const b = srv.call('POST', '/v1/attest', { body });
      await Promise.all([gate.reached(0), gate.reached(1)]);
      gate.release(0);
      const first = await a;
      expect(first.status).toBe(200);
      // b opened the challenge before it expired; it is still being verified when the challenge
      // expires and the periodic prune (server/service.ts, every minute) forgets its nonce.
      await new Promise((resolve) => setTimeout(resolve, TTL_SECONDS * 1000 + 100));
      expect(await srv.service.store.challenges.prune(Date.now())).toBeGreaterThanOrEqual(1);
      const before = counts();
      gate.release(1);
      const second = await b;
      expect(second.status).toBe(400);
      expect(second.body.code).toBe('challenge_expired');
      const after = counts();
      expect(after.attestations).toBe(before.attestations);
      expect(after.consumed).toBe(before.consumed);
      expect(after.audit - before.audit).toBe(1);
    } finally {
      gate.restore();
    }
  }, 20_000);
});

describe('the expiry boundary of consumption and pruning', () => {
  /** Consume `opened` with the clock at `now` (the store judges at its own clock, read at the commit). */
  async function consumeAt(opened: OpenedChallenge, now: number): Promise<unknown> {
    vi.useFakeTimers({ toFake: ['Date'], now });
    try {
      await srv.service.store.challenges.consume({ nonce: opened.nonce.toString('base64url'), expiresAt: opened.expiresAt });
      return undefined;
    } catch (err) {
      return err;
    } finally {
      vi.useRealTimers();
    }
  }

  it('consumes up to the last millisecond before expiry, never at it, and keeps the nonce until it is past', async () => {
    const { challenges } = srv.service.store;
    const signer = new ChallengeSigner(randomBytes(32), 60_000);
    const t0 = 1_700_000_000_000;
    const last = signer.open(signer.issue('sgx', t0).challenge, 'sgx', t0);
    expect(await consumeAt(last, last.expiresAt - 1)).toBeUndefined();
    // The row outlives every moment at which a consumption could still succeed.
    expect(await challenges.prune(last.expiresAt)).toBe(0);
    expect(await consumeAt(last, last.expiresAt - 1)).toMatchObject({ code: 'challenge_replayed' });
    const late = signer.open(signer.issue('sgx', t0).challenge, 'sgx', t0);
    const err = await consumeAt(late, late.expiresAt);
    expect(err).toBeInstanceOf(ChallengeError);
    expect((err as ChallengeError).code).toBe('challenge_expired');
    expect(await challenges.prune(last.expiresAt + 1)).toBeGreaterThanOrEqual(1);
  });
});
