// The one-round-trip attest-and-release (POST /v1/attest with `release: [name]`) over HTTP
// on loopback, next to the bare POST /v1/attest of the same run, at 1 and 32 concurrent
// clients. The server runs in this process (one core), the load comes from a child process
// (this file again, TESSERA_BENCH_ROLE=release-load) that prepares challenges and bound
// SEV-SNP evidence untimed, then sends them. Release adds, per request: a KEK envelope
// opened (two AES-256-GCM), the release policy evaluated (CEL), the JWE (one P-256 ECDH,
// AES key wrap, AES-256-GCM) and one more audit entry in its own transaction.

import { fork } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { expectedReportData } from '../verifier/binding.ts';
import { createSimulatorChain, parseSimulatorChain, serializeSimulatorChain, type SimulatorChain } from '../verifier/testing/simulated-chain.ts';
import { simulatorAnchors, simulatorCollateralSource } from '../verifier/testing/simulator-anchors.ts';
import { buildSnpReport } from '../verifier/testing/snp-report-builder.ts';
import { loadConfig } from '../server/config.ts';
import { listen } from '../server/server.ts';
import { createService } from '../server/service.ts';

const CLIENTS = [1, 32];
const REQUESTS: Record<number, number> = { 1: 800, 32: 1600 };
const WARMUP = 200;
const SECRET = 'bench-secret';

type Mode = 'attest' | 'attest+release';
interface LoadResult {
  mode: Mode;
  clients: number;
  n: number;
  seconds: number;
  latenciesMs: number[];
  failures: number;
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

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

async function prepare(agent: Agent, url: URL, chain: SimulatorChain, n: number, mode: Mode): Promise<string[]> {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const e = publicKey.export({ format: 'jwk' });
  const jwk = { kty: 'EC', crv: 'P-256', x: e.x!, y: e.y! };
  const vcek = chain.amd.vcek.toString('base64');
  const bodies: string[] = [];
  for (let i = 0; i < n; i++) {
    const ch = JSON.parse((await post(agent, url, '/v1/challenge', '{"tee":"sev-snp"}')).text) as { challenge: string; nonce: string };
    const { report } = buildSnpReport(chain, { reportData: await expectedReportData(Buffer.from(ch.nonce, 'base64url'), jwk) });
    bodies.push(
      JSON.stringify({
        challenge: ch.challenge,
        tee: 'sev-snp',
        evidence: { report: Buffer.from(report).toString('base64'), certificates: { vcek } },
        teePublicKey: jwk,
        ...(mode === 'attest+release' ? { release: [SECRET] } : {}),
      }),
    );
  }
  return bodies;
}

async function fire(agent: Agent, url: URL, bodies: string[], clients: number, mode: Mode): Promise<LoadResult> {
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
        // A release that did not happen is a failure, not a faster attest.
        if (res.status !== 200 || (mode === 'attest+release' && !res.text.includes(`"${SECRET}":"`))) failures++;
      }
    }),
  );
  return { mode, clients, n: bodies.length, seconds: (performance.now() - start) / 1000, latenciesMs, failures };
}

async function loadMain(): Promise<void> {
  const msg = await new Promise<{ url: string; chain: string }>((resolve) => process.once('message', resolve as never));
  const url = new URL(msg.url);
  const chain = parseSimulatorChain(msg.chain);
  const results: LoadResult[] = [];
  for (const clients of CLIENTS) {
    // Interleaved per client count, so both modes see the same machine state.
    for (const mode of ['attest', 'attest+release'] as Mode[]) {
      const agent = new Agent({ keepAlive: true, maxSockets: clients });
      await fire(agent, url, await prepare(agent, url, chain, WARMUP, mode), clients, mode);
      results.push(await fire(agent, url, await prepare(agent, url, chain, REQUESTS[clients] ?? 800, mode), clients, mode));
      agent.destroy();
    }
  }
  process.send!(results, () => process.exit(0));
}

if (process.env.TESSERA_BENCH_ROLE === 'release-load') await loadMain();

export async function run(): Promise<void> {
  const chain = await createSimulatorChain({ now: new Date(), rsaBits: 2048 });
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-bench-release-'));
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
  service.ctx.secrets.put(SECRET, { value: Buffer.from('a 32-byte database password!!!!!'), releasePolicy: 'claims.tee == "sev-snp" && claims.debug == false' }, 'bench', null);
  const server = await listen(service, '127.0.0.1', 0);
  try {
    const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, TESSERA_BENCH_ROLE: 'release-load' }, execArgv: ['--import', 'tsx'] });
    const done = new Promise<LoadResult[]>((resolve, reject) => {
      child.once('message', (m) => resolve(m as LoadResult[]));
      child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`load generator exited with ${code}`))));
    });
    child.send({ url: server.url, chain: serializeSimulatorChain(chain) });
    const results = await done;
    console.log(`POST /v1/attest with and without release: [${SECRET}] over HTTP on loopback (SEV-SNP, simulator chain, audit on, SQLite synchronous=${config.dbSynchronous}), server on one core:`);
    for (const clients of CLIENTS) {
      const bare = results.find((r) => r.clients === clients && r.mode === 'attest')!;
      const rel = results.find((r) => r.clients === clients && r.mode === 'attest+release')!;
      for (const r of [bare, rel]) {
        const sorted = [...r.latenciesMs].sort((a, b) => a - b);
        const rate = r.n / r.seconds;
        const ratio = r === rel ? `  ${(rate / (bare.n / bare.seconds)).toFixed(2)}x of bare attest` : '';
        console.log(
          `  ${String(clients).padStart(2)} client(s) ${r.mode.padEnd(15)} ${rate.toFixed(0).padStart(6)} /s  p50 ${pct(sorted, 50).toFixed(2)} ms  p99 ${pct(sorted, 99).toFixed(2)} ms  failures ${r.failures}/${r.n}${ratio}`,
        );
      }
    }
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
