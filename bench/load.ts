// What the HTTP benches (attest.ts, release.ts) share: the server under test in this
// process, and the load generator that runs in a child process (the bench file itself, forked
// with TESSERA_BENCH_ROLE set), so the generator is not part of the server it measures.

import { fork } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Pool } from 'undici';
import { expectedReportData } from '../verifier/binding.ts';
import { prepareEvidence } from '../verifier/verify-evidence.ts';
import type { SimulatorChain } from '../verifier/testing/simulated-chain.ts';
import { simulatorAnchors, simulatorCollateralSource } from '../verifier/testing/simulator-anchors.ts';
import { buildSnpReport } from '../verifier/testing/snp-report-builder.ts';
import { loadConfig, type ServiceConfig } from '../server/config.ts';
import { listen } from '../server/server.ts';
import { createService, type Service } from '../server/service.ts';

export interface LoadResult {
  clients: number;
  n: number;
  seconds: number;
  latenciesMs: number[];
  failures: number;
}

export interface HttpAnswer {
  status: number;
  text: string;
}

/** The p-th percentile of ascending `sorted` (nearest rank). */
export const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

// ---------------------------------------------------------------------------------------
// The load generator (child process).

/**
 * The load generator's HTTP client: undici's Pool over `connections` keep-alive connections.
 * Lighter per request than node:http's client, which matters here: the generator shares this
 * machine's cores with the server it measures.
 */
export function openClient(url: string, connections: number): Pool {
  return new Pool(url, { connections, pipelining: 1 });
}

/** Replicas behind a load balancer that takes turns: each request to the next one. */
export function openReplicasClient(urls: string[], connections: number): Pool[] {
  return urls.map((u) => openClient(u, connections));
}

export type LoadClient = Pool | Pool[];

let turn = 0;

export async function post(client: LoadClient, path: string, body: string): Promise<HttpAnswer> {
  const pool = Array.isArray(client) ? client[turn++ % client.length]! : client;
  const res = await pool.request({ path, method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: res.statusCode, text: await res.body.text() };
}

/**
 * `n` POST /v1/attest bodies, each with a fresh challenge from the server and SEV-SNP
 * evidence from the simulator chain bound to it; `extra` fields are added to every body.
 */
export async function prepareSnpAttests(client: LoadClient, chain: SimulatorChain, n: number, extra: Record<string, unknown> = {}): Promise<string[]> {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const e = publicKey.export({ format: 'jwk' });
  const jwk = { kty: 'EC', crv: 'P-256', x: e.x!, y: e.y! };
  const vcek = chain.amd.vcek.toString('base64');
  const bodies: string[] = [];
  for (let i = 0; i < n; i++) {
    const ch = JSON.parse((await post(client, '/v1/challenge', '{"tee":"sev-snp"}')).text) as { challenge: string; nonce: string };
    const { report } = buildSnpReport(chain, { reportData: await expectedReportData(Buffer.from(ch.nonce, 'base64url'), jwk) });
    bodies.push(JSON.stringify({ challenge: ch.challenge, tee: 'sev-snp', evidence: { report: Buffer.from(report).toString('base64'), certificates: { vcek } }, teePublicKey: jwk, ...extra }));
  }
  return bodies;
}

/** Sends `bodies` to POST /v1/attest with `clients` in flight; an answer `ok` rejects counts as a failure. */
export async function fireAttests(client: LoadClient, bodies: string[], clients: number, ok: (res: HttpAnswer) => boolean = (res) => res.status === 200): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  let failures = 0;
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        const t0 = performance.now();
        const res = await post(client, '/v1/attest', body);
        latenciesMs.push(performance.now() - t0);
        if (!ok(res)) failures++;
      }
    }),
  );
  return { clients, n: bodies.length, seconds: (performance.now() - start) / 1000, latenciesMs, failures };
}

// ---------------------------------------------------------------------------------------
// The server side (this process).

export interface BenchServer {
  service: Service;
  config: ServiceConfig;
  url: string;
  stop(): Promise<void>;
}

/**
 * Waits until every verify thread has loaded the verifier and verified once. A thread starts
 * by compiling the verifier's sources (about a second of CPU here), which would otherwise
 * fall inside the first measurement of the run: the bare rate, lowered, or the first load.
 */
async function warmVerifyThreads(service: Service, chain: SimulatorChain): Promise<void> {
  const { ctx } = service;
  const { report, certificates } = buildSnpReport(chain, { reportData: Buffer.alloc(64, 1) });
  const domain = ctx.trust[0]!;
  const prepared = await prepareEvidence({ tee: 'sev-snp', report, certificates: { vcek: certificates.vcek } }, { at: new Date(), anchors: domain.anchors, collateral: domain.collateral });
  // More tasks than the threads take at once (8 each), so that every thread gets some.
  const results = await Promise.all(Array.from({ length: Math.max(1, ctx.verifier.threads) * 16 }, () => ctx.verifier.verify(prepared, 0)));
  if (!results.every((r) => r.verified)) throw new Error('bench: the warm-up verification failed');
}

/**
 * A server on 127.0.0.1 with a fresh data directory, audit on, rate limits off, collateral
 * offline, trusting the simulator `chain`; SQLite synchronous from TESSERA_BENCH_SYNC (full).
 * `seed` runs before it listens.
 */
export async function startBenchServer(chain: SimulatorChain, seed?: (service: Service) => Promise<unknown>): Promise<BenchServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir,
      port: 0,
      logLevel: 'silent',
      dbSynchronous: (process.env.TESSERA_BENCH_SYNC ?? 'full') as 'full' | 'normal',
      ...(process.env.TESSERA_BENCH_VERIFY_THREADS ? { verifyThreads: Number(process.env.TESSERA_BENCH_VERIFY_THREADS) } : {}),
      collateral: { offline: true },
      rateLimit: { windowSeconds: 60, challenge: 0, attest: 0 },
    },
  });
  const service = await createService({
    config,
    env: { TESSERA_KEK: Buffer.alloc(32, 0x42).toString('base64'), TESSERA_ADMIN_TOKEN: 'bench-admin-token-'.padEnd(40, 'x') },
    logger: pino({ level: 'silent' }),
    extraTrust: { name: 'bench', anchors: simulatorAnchors(chain), collateral: simulatorCollateralSource(chain) },
  });
  await seed?.(service);
  await warmVerifyThreads(service, chain);
  const server = await listen(service, '127.0.0.1', 0);
  return {
    service,
    config,
    url: server.url,
    async stop() {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function closeClient(client: LoadClient): Promise<void> {
  await Promise.all((Array.isArray(client) ? client : [client]).map((p) => p.close()));
}

/** Forks `file` with TESSERA_BENCH_ROLE=`role`, sends it `message`, and resolves with what it sends back. */
export function runLoadChild<T>(file: string, role: string, message: unknown): Promise<T> {
  const child = fork(file, [], { env: { ...process.env, TESSERA_BENCH_ROLE: role }, execArgv: ['--import', 'tsx'] });
  const done = new Promise<T>((resolve, reject) => {
    child.once('message', (m) => resolve(m as T));
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`load generator exited with ${code}`))));
  });
  child.send(message as never);
  return done;
}
