// The collateral cache across three `tessera serve` replicas on one PostgreSQL database: a
// document none of them has is fetched from the vendor once for the whole deployment, and
// `collateral.maxNewDocumentsPerMinute` bounds the deployment, not each replica.
//
// The vendor is a real HTTP server standing in for AMD KDS (`collateral.kdsUrl`). The chips
// are simulated ones the simulator's own vendor does not know (withAnotherSimulatedChip), so
// in development mode their VCEKs can only come through the shared cache from that KDS; the
// chain stays the simulator's, valid now, so nothing here pins the verification clock.

import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evidenceJson, generateTeeKey, TesseraClient } from '../../guest-agent/client.ts';
import { SimulatorProvider } from '../../guest-agent/providers/simulator.ts';
import { expectedReportData } from '../../verifier/binding.ts';
import { withAnotherSimulatedChip } from '../../verifier/testing/simulated-chain.ts';
import type { SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { call } from '../e2e/processes.ts';
import { usePostgres } from '../support/postgres.ts';
import { startReplicas, type Replicas } from '../support/replicas.ts';

/** A KDS that knows the VCEKs it is given, answers slowly (so requests overlap) and counts what it is asked. */
class FakeKds {
  readonly requests: string[] = [];
  private readonly vceks = new Map<string, Buffer>();
  private server: Server | undefined;
  url = '';

  add(chain: SimulatorChain): void {
    this.vceks.set(chain.amd.chipId.toString('hex'), chain.amd.vcek);
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://kds').pathname;
      this.requests.push(path);
      const m = /^\/vcek\/v1\/Milan\/([0-9a-f]{128})$/.exec(path);
      const vcek = m ? this.vceks.get(m[1]!) : undefined;
      setTimeout(() => {
        if (!vcek) {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(vcek);
      }, 400);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  count(chain: SimulatorChain): number {
    return this.requests.filter((p) => p.endsWith(`/${chain.amd.chipId.toString('hex')}`)).length;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

const pgs = usePostgres();
const kds = new FakeKds();
let r: Replicas;

beforeAll(async () => {
  await kds.start();
  // One new document a minute for the whole deployment: the second cold chip must wait.
  r = await startReplicas(3, await pgs.fresh(), { TESSERA_KDS_URL: kds.url, TESSERA_COLLATERAL_MAX_NEW_PER_MINUTE: '1' });
}, 180_000);
afterAll(() => kds.stop());

const url = (i: number) => r.servers[i % r.servers.length]!.url;

/** A body for POST /v1/attest from `chain`'s chip: the report alone, so the VCEK must come from the collateral source. */
async function attestBody(chain: SimulatorChain, from: number) {
  const key = generateTeeKey();
  const ch = await new TesseraClient({ server: url(from), retries: 0 }).challenge('sev-snp');
  const reportData = await expectedReportData(Buffer.from(ch.nonce, 'base64url'), key.publicJwk);
  const evidence = evidenceJson({ ...(await new SimulatorProvider({ tee: 'sev-snp', chain }).getEvidence(reportData)), certificates: {} } as never);
  return { challenge: ch.challenge, tee: 'sev-snp', evidence, teePublicKey: key.publicJwk };
}

describe('the collateral cache across three replicas', () => {
  it('fetches a cold VCEK from the vendor once, though 24 attestations of that chip land on three replicas at once', async () => {
    const chip = await withAnotherSimulatedChip(r.chain, randomBytes(64));
    kds.add(chip);
    const bodies = await Promise.all(Array.from({ length: 24 }, (_, i) => attestBody(chip, i)));
    expect(bodies[0]!.evidence).not.toHaveProperty('certificates');
    const answers = await Promise.all(bodies.map((body, i) => call(url(i + 1), 'POST', '/v1/attest', { body })));
    for (const a of answers) expect(a.status, a.text).toBe(200);
    expect(kds.count(chip)).toBe(1);
    // Later attestations, on any replica, are served from the shared cache.
    expect((await call(url(2), 'POST', '/v1/attest', { body: await attestBody(chip, 0) })).status).toBe(200);
    expect(kds.count(chip)).toBe(1);
  }, 120_000);

  it('counts maxNewDocumentsPerMinute across the deployment: a second cold chip on another replica is refused, not fetched', async () => {
    // The first test used the one new document this minute allows; a replica that counted
    // alone would see none used and fetch.
    const chip = await withAnotherSimulatedChip(r.chain, randomBytes(64));
    kds.add(chip);
    const answer = await call(url(1), 'POST', '/v1/attest', { body: await attestBody(chip, 1) });
    expect(answer.status, answer.text).toBe(503);
    expect(answer.body.code).toBe('collateral_unavailable');
    expect(kds.count(chip)).toBe(0);
  }, 60_000);
});
