// The KBS protocol across three `tessera serve --dev` replicas on one PostgreSQL database
// (test/support/replicas.ts): sessions live in the database, so auth on replica 1, attest on
// 2 and resource on 3 is one session (no sticky sessions), and of concurrent attests of one
// session spread over the replicas exactly one is accepted.

import { flattenedDecrypt } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { call } from '../e2e/processes.ts';
import { usePostgres } from '../support/postgres.ts';
import { startReplicas, type Replicas } from '../support/replicas.ts';
import { agentReportData, attestation, KbsGuest, snpKbsEvidence, teeKeyPair } from '../kbs/helpers.ts';

const pgs = usePostgres();
let r: Replicas;

beforeAll(async () => {
  r = await startReplicas(3, await pgs.fresh());
  const put = await call(r.servers[0]!.url, 'PUT', '/v1/secrets/default.key.replicas', { token: r.admin, body: { value: 'one deployment' } });
  expect(put.status).toBe(201);
}, 180_000);

const url = (i: number) => r.servers[i % r.servers.length]!.url;

describe('KBS across replicas', () => {
  it('auth on replica 1, attest on replica 2, resource on replica 3', async () => {
    const g = new KbsGuest({ url: url(0) });
    const auth = await g.auth('snp', undefined, url(0));
    expect(auth.status).toBe(200);
    const { privateKey, pubkey } = teeKeyPair();
    const ev = snpKbsEvidence(r.chain, agentReportData(auth.body.nonce, pubkey));
    const attest = await g.call('POST', '/kbs/v0/attest', { body: attestation(auth.body.nonce, pubkey, ev), url: url(1) });
    expect(attest.status, JSON.stringify(attest.body)).toBe(200);
    const res = await g.call('GET', '/kbs/v0/resource/default/key/replicas', { url: url(2) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(Buffer.from((await flattenedDecrypt(res.body, privateKey)).plaintext).toString()).toBe('one deployment');
  });

  it('accepts one of 12 concurrent attests of one session spread over the replicas', async () => {
    const g = new KbsGuest({ url: url(0) });
    const auth = await g.auth('snp', undefined, url(0));
    const { pubkey } = teeKeyPair();
    const body = attestation(auth.body.nonce, pubkey, snpKbsEvidence(r.chain, agentReportData(auth.body.nonce, pubkey)));
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => g.call('POST', '/kbs/v0/attest', { body, url: url(i) })));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(11);
    expect(new Set(answers.filter((a) => a.status === 401).map((a) => a.headers.get('x-tessera-code')))).toEqual(new Set(['kbs_nonce_used']));
  });
});
