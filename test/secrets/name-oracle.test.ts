/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are JSON checked field by field */
// No oracle on secret names (issue 16 item 2): an attested guest that may not read a secret
// cannot tell whether it exists. A missing secret (or version) and a forbidden one give the
// same status, code and body, in GET /v1/secrets/{name} and in attest-and-release, and cost
// the same work (one release-policy evaluation); the audit log keeps the difference.

import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { decodeJwt, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EarPayload } from '../../server/ear.ts';
import { decideRelease, subjectOf } from '../../server/secrets/release.ts';
import type { SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { snpAttestBody, startChainServer, stopServer, type TestServer } from '../server/helpers.ts';

let chain: SimulatorChain;
let srv: TestServer;

beforeAll(async () => {
  ({ chain, srv } = await startChainServer());
  // Forbidden to every SNP result: its release policy asks for TDX.
  const put = await srv.call('PUT', '/v1/secrets/forbidden-one', { token: srv.adminToken, body: { value: 'never-for-snp', releasePolicy: 'claims.tee == "tdx"' } });
  expect(put.status).toBe(201);
  // Released to every affirming result: the different class the timing test must tell apart.
  expect((await srv.call('PUT', '/v1/secrets/released-one', { token: srv.adminToken, body: { value: 'for-anyone' } })).status).toBe(201);
}, 120_000);

afterAll(() => stopServer(srv));

function teeJwk(): JWK {
  const j = createPublicKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey).export({ format: 'jwk' });
  return { kty: 'EC', crv: 'P-256', x: j.x!, y: j.y! };
}

async function attest(release?: string[]) {
  const { body } = await snpAttestBody(srv, chain, { jwk: teeJwk() });
  const res = await srv.call('POST', '/v1/attest', { body: { ...body, ...(release ? { release } : {}) } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res;
}

/** The body with the secret's name taken out: what must not differ between the two names. */
const withoutName = (body: any, name: string) => JSON.parse(JSON.stringify(body).replaceAll(name, '<name>'));

describe('a guest cannot tell a missing secret from a forbidden one', () => {
  it('GET /v1/secrets/{name}: same status, code, headers and body; the audit log says which', async () => {
    const token = (await attest()).body.token as string;
    const forbidden = await srv.call('GET', '/v1/secrets/forbidden-one', { token });
    const missing = await srv.call('GET', '/v1/secrets/missing-one', { token });
    const missingVersion = await srv.call('GET', '/v1/secrets/forbidden-one?version=7', { token });
    expect([forbidden.status, forbidden.body.code]).toEqual([403, 'release_denied']);
    expect(withoutName(missing.body, 'missing-one')).toEqual(withoutName(forbidden.body, 'forbidden-one'));
    expect(missingVersion.body).toEqual(forbidden.body);
    expect(missing.headers.get('content-type')).toBe(forbidden.headers.get('content-type'));
    expect(JSON.stringify(forbidden.body)).not.toMatch(/release\.expr|version.?1|tdx/);

    const audit = (await srv.call('GET', '/v1/audit?action=secret.release&limit=3', { token: srv.adminToken })).body.entries as any[];
    expect(audit.map((e) => [e.subject, e.details.code, e.details.version])).toEqual([
      ['forbidden-one', 'secret_not_found', 7],
      ['missing-one', 'secret_not_found', null],
      ['forbidden-one', 'release_denied', 1],
    ]);
  });

  it('attest-and-release: the two denials are the same but for the name', async () => {
    const res = await attest(['forbidden-one', 'missing-one']);
    const [forbidden, missing] = res.body.releaseDenials as any[];
    expect(forbidden).toMatchObject({ name: 'forbidden-one', code: 'release_denied', version: null });
    expect(withoutName(missing, 'missing-one')).toEqual(withoutName(forbidden, 'forbidden-one'));
    expect(forbidden.failedRules).toBeUndefined();
  });

  it('costs the same: a missing name is appraised like a forbidden one (same timing class)', async () => {
    const token = (await attest()).body.token as string;
    const ctx = srv.service.ctx;
    const subject = subjectOf(decodeJwt(token) as EarPayload);
    const time = async (name: string) => {
      const t = performance.now();
      await decideRelease(ctx, ctx.secrets, subject, name);
      return performance.now() - t;
    };
    for (let i = 0; i < 50; i++) await Promise.all([time('forbidden-one'), time('missing-one')]);
    const forbidden: number[] = [];
    const missing: number[] = [];
    // Interleaved, so a slow moment of this shared machine falls on both alike.
    for (let i = 0; i < 400; i++) {
      forbidden.push(await time('forbidden-one'));
      missing.push(await time('missing-one'));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const ratio = median(missing) / median(forbidden);
    // Before the change a missing name skipped the policy evaluation and answered in a
    // fraction of the time; now both do one lookup and one evaluation.
    console.log(`median missing ${median(missing).toFixed(4)} forbidden ${median(forbidden).toFixed(4)}`);
    expect(ratio, `median missing ${median(missing).toFixed(4)} ms, forbidden ${median(forbidden).toFixed(4)} ms`).toBeGreaterThan(0.7);
    expect(ratio).toBeLessThan(1.4);
  });
});
