/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are JSON checked field by field */
// kill -9 of one of three replicas in the middle of load: every 200 answered (by any replica,
// the killed one included) has its audit entry, the chain verifies, and the other replicas
// keep serving.

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

async function attestBody(server: string) {
  const key = generateTeeKey();
  const ch = await new TesseraClient({ server, retries: 0 }).challenge('sev-snp');
  const reportData = await expectedReportData(Buffer.from(ch.nonce, 'base64url'), key.publicJwk);
  const evidence = await new SimulatorProvider({ tee: 'sev-snp', chain: r.chain }).getEvidence(reportData);
  return { challenge: ch.challenge, tee: 'sev-snp', evidence: evidenceJson(evidence), teePublicKey: key.publicJwk };
}

describe('kill -9 of one replica under load', () => {
  it('loses no answered decision, keeps one verifying chain, and the others keep serving', async () => {
    const living = [0, 2].map((i) => r.servers[i]!.url);
    const victim = r.servers[1]!;
    // Challenges from the living replicas (stateless: any replica accepts them).
    const bodies = await Promise.all(Array.from({ length: 90 }, (_, i) => attestBody(living[i % 2]!)));
    const answered: string[] = [];
    let failedOnVictim = 0;
    let killed = false;
    for (let w = 0; w < 10; w++) {
      const wave = bodies.slice(w * 9, w * 9 + 9).map(async (body, j) => {
        const target = j % 3 === 1 ? victim.url : living[j % 2]!;
        try {
          const res = await call(target, 'POST', '/v1/attest', { body });
          if (res.status === 200) answered.push(res.body.attestationId);
          else expect(target === victim.url, `${res.status} ${res.text}`).toBe(true);
        } catch {
          expect(target, 'only the killed replica fails to answer').toBe(victim.url);
          failedOnVictim++;
        }
      });
      if (w === 4) {
        // In the middle of a wave: some of its requests are in flight on the victim.
        setTimeout(() => {
          process.kill(victim.proc.pid!, 'SIGKILL');
          killed = true;
        }, 5);
      }
      await Promise.all(wave);
    }
    expect(killed).toBe(true);
    expect(failedOnVictim).toBeGreaterThan(0);
    // The living replicas answered everything sent to them.
    expect(answered.length).toBeGreaterThanOrEqual(60);

    const verify = await run(TESSERA, ['audit', 'verify', '--database', database, '--json'], {});
    expect(verify.code, verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });
    const entries = await call(living[0]!, 'GET', '/v1/audit?action=attestation&limit=500', { token: r.admin });
    const audited = new Set(entries.body.entries.map((e: any) => e.subject));
    for (const id of answered) expect(audited.has(id), id).toBe(true);
  }, 180_000);
});
