/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are JSON checked field by field */
// Three `tessera serve` processes on one PostgreSQL database (test/support/replicas.ts), every
// request landing on any of them: a challenge is accepted once in the whole deployment, the
// audit log stays one chain with one entry per decision answered, and configuration written
// on one replica (a key rotation, a token revocation) applies on the others at once.

import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { evidenceJson, generateTeeKey, TesseraClient } from '../../guest-agent/client.ts';
import { SimulatorProvider } from '../../guest-agent/providers/simulator.ts';
import { expectedReportData } from '../../verifier/binding.ts';
import { call, run, TESSERA } from '../e2e/processes.ts';
import { usePostgres } from '../support/postgres.ts';
import { startReplicas, type Replicas } from '../support/replicas.ts';

const pgs = usePostgres();
let database: string;
let r: Replicas;

beforeAll(async () => {
  database = await pgs.fresh();
  r = await startReplicas(3, database);
}, 180_000);

const url = (i: number) => r.servers[i % r.servers.length]!.url;

/** A body for POST /v1/attest: a challenge from replica `from`, simulator evidence bound to a fresh key. */
async function attestBody(from: number, tee: 'sev-snp' | 'tdx' = 'sev-snp') {
  const key = generateTeeKey();
  const ch = await new TesseraClient({ server: url(from), retries: 0 }).challenge(tee);
  const reportData = await expectedReportData(Buffer.from(ch.nonce, 'base64url'), key.publicJwk);
  const evidence = await new SimulatorProvider({ tee, chain: r.chain }).getEvidence(reportData);
  return { challenge: ch.challenge, tee, evidence: evidenceJson(evidence), teePublicKey: key.publicJwk };
}

describe('three replicas on one PostgreSQL database', () => {
  it('migrated the empty database once, though all three started at once', async () => {
    const logs = r.servers.map((s) => s.stdout() + s.stderr());
    for (const l of logs) expect(l).toContain('"store":"postgres"');
    const db = new pg.Client({ connectionString: database });
    await db.connect();
    try {
      const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM drizzle.__drizzle_migrations');
      expect(Number(rows[0]!.n)).toBe(readdirSync(new URL('../../migrations/postgres/', import.meta.url)).filter((f) => f.endsWith('.sql')).length);
    } finally {
      await db.end();
    }
    // Each saw the same first-start state: one signing key, one default policy.
    const keys = await call(url(0), 'GET', '/.well-known/jwks.json');
    expect(keys.body.keys).toHaveLength(1);
    const audit = await call(url(1), 'GET', '/v1/audit?action=key.create&limit=10', { token: r.admin });
    expect(audit.body.entries).toHaveLength(1);
  });

  it('accepts one of 64 concurrent attests of one challenge spread over the replicas', async () => {
    const body = await attestBody(0);
    const answers = await Promise.all(Array.from({ length: 64 }, (_, i) => call(url(i), 'POST', '/v1/attest', { body })));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    for (const a of answers) if (a.status !== 200) expect([a.status, a.body.code]).toEqual([409, 'challenge_replayed']);
  }, 120_000);

  it('keeps one chain with one audit entry per decision answered over a few hundred attestations', async () => {
    const before = await call(url(0), 'GET', '/v1/audit?action=attestation&limit=1', { token: r.admin });
    const startSeq: number = before.body.entries[0]?.seq ?? 0;
    const bodies = await Promise.all(Array.from({ length: 240 }, (_, i) => attestBody(i)));
    const answers: number[] = [];
    // 24 at a time, each to the replica after the one that issued its challenge.
    for (let i = 0; i < bodies.length; i += 24) {
      const wave = await Promise.all(bodies.slice(i, i + 24).map((body, j) => call(url(i + j + 1), 'POST', '/v1/attest', { body })));
      answers.push(...wave.map((w) => w.status));
    }
    expect(answers.filter((s) => s === 200)).toHaveLength(240);
    const verify = await run(TESSERA, ['audit', 'verify', '--database', database, '--json'], {});
    expect(verify.code, verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });
    const entries = await call(url(2), 'GET', `/v1/audit?action=attestation&limit=500`, { token: r.admin });
    expect(entries.body.entries.filter((e: any) => e.seq > startSeq && e.outcome === 'affirming')).toHaveLength(240);
  }, 240_000);

  it('serves a key rotated on replica 1 in the JWKS of replicas 2 and 3 at once, and signs with it everywhere', async () => {
    const rotated = await call(url(0), 'POST', '/v1/keys/rotate', { token: r.admin });
    expect(rotated.status, rotated.text).toBe(200);
    const kid: string = rotated.body.kid;
    for (const i of [1, 2]) {
      const jwks = await call(url(i), 'GET', '/.well-known/jwks.json');
      expect(jwks.body.keys.map((k: any) => k.kid)).toContain(kid);
    }
    const answer = await call(url(2), 'POST', '/v1/attest', { body: await attestBody(1) });
    expect(answer.status).toBe(200);
    const header = JSON.parse(Buffer.from(String(answer.body.token).split('.')[0]!, 'base64url').toString('utf8'));
    expect(header.kid).toBe(kid);
  }, 60_000);

  it('refuses on replica 2 a token revoked on replica 1, from the next request', async () => {
    const made = await call(url(0), 'POST', '/v1/tokens', { token: r.admin, body: { name: `t-${randomBytes(3).toString('hex')}`, scope: 'auditor' } });
    expect(made.status, made.text).toBe(201);
    const token: string = made.body.token;
    expect((await call(url(1), 'GET', '/v1/audit?limit=1', { token })).status).toBe(200);
    expect((await call(url(0), 'DELETE', `/v1/tokens/${made.body.id}`, { token: r.admin })).status).toBeLessThan(300);
    expect((await call(url(1), 'GET', '/v1/audit?limit=1', { token })).status).toBe(401);
  }, 60_000);

  it('releases on replica 3 a secret created on replica 1', async () => {
    const name = `s-${randomBytes(3).toString('hex')}`;
    expect((await call(url(0), 'PUT', `/v1/secrets/${name}`, { token: r.admin, body: { value: 'made-on-one' } })).status).toBe(201);
    const outcome = await call(url(2), 'POST', '/v1/attest', { body: { ...(await attestBody(2)), release: [name] } });
    expect(outcome.status, outcome.text).toBe(200);
    expect(Object.keys(outcome.body.secrets ?? {})).toEqual([name]);
    const fetched = await call(url(2), 'GET', `/v1/secrets/${name}`, { token: outcome.body.token });
    expect(fetched.status, fetched.text).toBe(200);
  }, 60_000);

  it('decides on replica 1 with a policy activated on replica 2, from the next request', async () => {
    const pinned = { name: 'pinned', tees: ['sev-snp', 'tdx'], snp: { allowDebug: false, measurements: ['ab'.repeat(48)] }, tdx: { allowDebug: false, acceptedTcbStatuses: ['UpToDate'], mrtd: ['ab'.repeat(48)] } };
    expect((await call(url(1), 'PUT', '/v1/policies/pinned', { token: r.admin, body: pinned })).status).toBe(201);
    expect((await call(url(1), 'POST', '/v1/policies/pinned/activate', { token: r.admin, body: {} })).status).toBe(200);
    try {
      const denied = await call(url(0), 'POST', '/v1/attest', { body: await attestBody(0) });
      expect(denied.status, denied.text).toBe(403);
      expect(denied.text).toContain('snp.measurements');
    } finally {
      expect((await call(url(2), 'POST', '/v1/policies/default/activate', { token: r.admin, body: {} })).status).toBe(200);
    }
    expect((await call(url(0), 'POST', '/v1/attest', { body: await attestBody(0) })).status).toBe(200);
  }, 60_000);
});
