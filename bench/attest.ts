// POST /v1/attest end to end over HTTP on loopback, audit on: the server runs in this
// process (one core: Node runs JavaScript on one thread), the load comes from a separate
// child process (this same file, started with TESSERA_BENCH_ROLE=load). For each client
// count, the child first gets challenges and builds SEV-SNP evidence bound to them with the
// simulator chain (untimed), then sends the attestations with that many in flight and
// reports attestations/s and latency percentiles. Printed next to the bare verification rate
// of the same evidence in this process (verifyEvidence with its chain cached), measured in
// the same run. Targets (issue 5): >= 0.5x the bare SNP verification rate, p99 < 50 ms at 32.

import { fork } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { expectedReportData } from '../verifier/binding.ts';
import { createSimulatorChain, parseSimulatorChain, serializeSimulatorChain, type SimulatorChain } from '../verifier/testing/simulated-chain.ts';
import { simulatorAnchors, simulatorCollateralSource } from '../verifier/testing/simulator-anchors.ts';
import { buildSnpReport } from '../verifier/testing/snp-report-builder.ts';
import { verifyEvidence } from '../verifier/verify-evidence.ts';
import { loadConfig } from '../server/config.ts';
import { listen } from '../server/server.ts';
import { createService } from '../server/service.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLIENTS = [1, 32];
/** Attestations per client count (after a warm-up of WARMUP). */
const REQUESTS: Record<number, number> = { 1: 1500, 32: 3000 };
const WARMUP = 300;
const BARE_MS = 2000;

interface LoadResult {
  clients: number;
  n: number;
  seconds: number;
  latenciesMs: number[];
  failures: number;
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

// ---------------------------------------------------------------------------------------
// The load generator (child process).

function post(agent: Agent, url: URL, path: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function prepare(agent: Agent, url: URL, chain: SimulatorChain, n: number): Promise<string[]> {
  const bodies: string[] = [];
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const e = publicKey.export({ format: 'jwk' });
  const jwk = { kty: 'EC', crv: 'P-256', x: e.x!, y: e.y! };
  const vcek = chain.amd.vcek.toString('base64');
  for (let i = 0; i < n; i++) {
    const ch = JSON.parse((await post(agent, url, '/v1/challenge', '{"tee":"sev-snp"}')).text) as { challenge: string; nonce: string };
    const reportData = await expectedReportData(Buffer.from(ch.nonce, 'base64url'), jwk);
    const { report } = buildSnpReport(chain, { reportData });
    bodies.push(JSON.stringify({ challenge: ch.challenge, tee: 'sev-snp', evidence: { report: Buffer.from(report).toString('base64'), certificates: { vcek } }, teePublicKey: jwk }));
  }
  return bodies;
}

async function fire(agent: Agent, url: URL, bodies: string[], clients: number): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  let failures = 0;
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        const t0 = performance.now();
        const res = await post(agent, url, '/v1/attest', body);
        latenciesMs.push(performance.now() - t0);
        if (res.status !== 200) failures++;
      }
    }),
  );
  return { clients, n: bodies.length, seconds: (performance.now() - start) / 1000, latenciesMs, failures };
}

async function loadMain(): Promise<void> {
  const msg = await new Promise<{ url: string; chain: string; clients: number[] }>((resolve) => process.once('message', resolve as never));
  const url = new URL(msg.url);
  const chain = parseSimulatorChain(msg.chain);
  const results: LoadResult[] = [];
  for (const clients of msg.clients) {
    const agent = new Agent({ keepAlive: true, maxSockets: clients });
    await fire(agent, url, await prepare(agent, url, chain, WARMUP), clients);
    const bodies = await prepare(agent, url, chain, REQUESTS[clients] ?? 1000);
    results.push(await fire(agent, url, bodies, clients));
    agent.destroy();
  }
  process.send!(results, () => process.exit(0));
}

if (process.env.TESSERA_BENCH_ROLE === 'load') await loadMain();

// ---------------------------------------------------------------------------------------
// The server side and the report (this process).

async function bareRate(chain: SimulatorChain): Promise<number> {
  const { report, certificates } = buildSnpReport(chain, { reportData: Buffer.alloc(64, 7) });
  const evidence = { tee: 'sev-snp' as const, report, certificates: { vcek: certificates.vcek } };
  const options = { at: new Date(), anchors: simulatorAnchors(chain), collateral: simulatorCollateralSource(chain) };
  for (let i = 0; i < 200; i++) await verifyEvidence(evidence, options);
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < BARE_MS) {
    const r = await verifyEvidence(evidence, options);
    if (!r.verified) throw new Error('bare verification failed');
    n++;
  }
  return (n * 1000) / (performance.now() - start);
}

export async function run(): Promise<void> {
  const chain = await createSimulatorChain({ now: new Date(), rsaBits: 2048 });
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
  const config = loadConfig({
    env: {},
    overrides: { dataDir, port: 0, logLevel: 'silent', dbSynchronous: (process.env.TESSERA_BENCH_SYNC ?? 'full') as 'full' | 'normal', collateral: { offline: true }, rateLimit: { windowSeconds: 60, challenge: 0, attest: 0 } },
  });
  const service = await createService({
    config,
    env: { TESSERA_KEK: Buffer.alloc(32, 0x42).toString('base64'), TESSERA_ADMIN_TOKEN: 'bench-admin-token-'.padEnd(40, 'x') },
    logger: pino({ level: 'silent' }),
    extraTrust: { name: 'bench', anchors: simulatorAnchors(chain), collateral: simulatorCollateralSource(chain) },
  });
  const server = await listen(service, '127.0.0.1', 0);
  try {
    const bareBefore = await bareRate(chain);
    const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, TESSERA_BENCH_ROLE: 'load' }, execArgv: ['--import', 'tsx'] });
    const done = new Promise<LoadResult[]>((resolve, reject) => {
      child.once('message', (m) => resolve(m as LoadResult[]));
      child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`load generator exited with ${code}`))));
    });
    child.send({ url: server.url, chain: serializeSimulatorChain(chain), clients: CLIENTS });
    const results = await done;
    const bareAfter = await bareRate(chain);
    const bare = (bareBefore + bareAfter) / 2;
    const audited = service.ctx.db.$client.prepare("SELECT count(*) AS n FROM audit_log WHERE action = 'attestation'").get() as { n: number };

    console.log(`POST /v1/attest over HTTP on loopback (SEV-SNP, simulator chain, audit on, SQLite synchronous=${config.dbSynchronous}), server on one core, load from a child process:`);
    console.log(`  bare SNP verification (verifyEvidence, chain cached)   ${bare.toFixed(0).padStart(6)} /s   (before ${bareBefore.toFixed(0)}, after ${bareAfter.toFixed(0)})`);
    for (const r of results) {
      const sorted = [...r.latenciesMs].sort((a, b) => a - b);
      const rate = r.n / r.seconds;
      console.log(
        `  ${String(r.clients).padStart(2)} client(s): ${rate.toFixed(0).padStart(6)} attestations/s  ratio ${(rate / bare).toFixed(2)}x (target >= 0.50x)  p50 ${pct(sorted, 50).toFixed(2)} ms  p99 ${pct(sorted, 99).toFixed(2)} ms${r.clients === 32 ? ' (target < 50 ms)' : ''}  failures ${r.failures}/${r.n}`,
      );
    }
    console.log(`  audit entries for attestations: ${audited.n}`);
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
