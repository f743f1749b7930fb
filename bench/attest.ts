// POST /v1/attest end to end over HTTP on loopback, audit on: the server runs in this
// process (its event loop, plus `verifyThreads` worker threads for the signature checks:
// one per core but one, so one on a 2-core machine), the load comes from a separate child
// process (this same file, started with TESSERA_BENCH_ROLE=load) on the same cores. For each client
// count, the child first gets challenges and builds SEV-SNP evidence bound to them with the
// simulator chain (untimed), then sends the attestations with that many in flight and
// reports attestations/s and latency percentiles. Printed next to the bare verification rate
// of the same evidence in this process (verifyEvidence with its chain cached), measured in
// the same run. Targets (issue 5): >= 0.5x the bare SNP verification rate, p99 < 50 ms at 32.
// Then the same load against the floor (floor.ts): the least work any server meeting issue 5
// must do, on the same machine in the same run; where the floor misses a target, no code of
// ours can meet it on this machine.

import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createSimulatorChain, parseSimulatorChain, serializeSimulatorChain, type SimulatorChain } from '../verifier/testing/simulated-chain.ts';
import { simulatorAnchors, simulatorCollateralSource } from '../verifier/testing/simulator-anchors.ts';
import { buildSnpReport } from '../verifier/testing/snp-report-builder.ts';
import { verifyEvidence } from '../verifier/verify-evidence.ts';
import { startFloorServer } from './floor.ts';
import { closeClient, fireAttests, type LoadResult, openClient, openReplicasClient, pct, prepareSnpAttests, runLoadChild, startBenchServer } from './load.ts';
import { deployments } from './replicas.ts';
import { loadOrCreateSimulatorChain } from '../verifier/testing/simulator-files.ts';
import { removeDir, tempDir } from '../test/e2e/processes.ts';

const CLIENTS = [1, 32];
/** Attestations per client count (after a warm-up of WARMUP). */
const REQUESTS: Record<number, number> = { 1: 1500, 32: 3000 };
const WARMUP = 300;
const BARE_MS = 2000;

// ---------------------------------------------------------------------------------------
// The load generator (child process).

async function loadMain(): Promise<void> {
  const msg = await new Promise<{ urls: string[]; chain: string; clients: number[] }>((resolve) => process.once('message', resolve as never));
  const chain = parseSimulatorChain(msg.chain);
  const results: LoadResult[] = [];
  for (const clients of msg.clients) {
    const client = msg.urls.length === 1 ? openClient(msg.urls[0]!, clients) : openReplicasClient(msg.urls, clients);
    await fireAttests(client, await prepareSnpAttests(client, chain, WARMUP), clients);
    const bodies = await prepareSnpAttests(client, chain, REQUESTS[clients] ?? 1000);
    results.push(await fireAttests(client, bodies, clients));
    await closeClient(client);
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
  const bench = await startBenchServer(chain);
  try {
    const bareBefore = await bareRate(chain);
    const load = (url: string | string[], c: SimulatorChain = chain) =>
      runLoadChild<LoadResult[]>(fileURLToPath(import.meta.url), 'load', { urls: typeof url === 'string' ? [url] : url, chain: serializeSimulatorChain(c), clients: CLIENTS });
    const results = await load(bench.url);
    const floor = await startFloorServer(bench.service.ctx);
    const floorResults = await load(floor.url).finally(() => floor.stop());
    const bareAfter = await bareRate(chain);
    const bare = (bareBefore + bareAfter) / 2;
    const audited = { n: await bench.service.ctx.store.audit.count({ action: 'attestation' }) };

    console.log(
      `POST /v1/attest over HTTP on loopback (SEV-SNP, simulator chain, audit on, SQLite synchronous=${bench.config.dbSynchronous}), server: event loop + ${bench.config.verifyThreads} verify thread(s), load from a child process, ${availableParallelism()} cores in all:`,
    );
    console.log(`  bare SNP verification (verifyEvidence, chain cached)   ${bare.toFixed(0).padStart(6)} /s   (before ${bareBefore.toFixed(0)}, after ${bareAfter.toFixed(0)})`);
    const line = (r: LoadResult) => {
      const sorted = [...r.latenciesMs].sort((a, b) => a - b);
      const rate = r.n / r.seconds;
      return `${String(r.clients).padStart(2)} client(s): ${rate.toFixed(0).padStart(6)} attestations/s  ratio ${(rate / bare).toFixed(2)}x (target >= 0.50x)  p50 ${pct(sorted, 50).toFixed(2)} ms  p99 ${pct(sorted, 99).toFixed(2)} ms${r.clients === 32 ? ' (target < 50 ms)' : ''}  failures ${r.failures}/${r.n}`;
    };
    for (const r of results) console.log(`  ${line(r)}`);
    console.log('  the floor (node:http, challenge check, the same verification, the challenge consumed durably; no Hono, binding, policy, EAR or audit):');
    for (const r of floorResults) console.log(`  ${line(r)}`);
    console.log(`  audit entries for attestations: ${audited.n}`);

    const database = process.env.TESSERA_BENCH_DATABASE;
    if (database) {
      // The store compared process against process: real `tessera serve --dev` processes on a
      // simulator chain they share with the load generator.
      const simDir = tempDir('tessera-bench-sim-');
      try {
        const shared = await loadOrCreateSimulatorChain(simDir, { rsaBits: 2048 });
        console.log('  tessera serve processes (development mode, the store the only difference; event-loop CPU = main-thread CPU per attestation, its challenge included):');
        const at32: Record<string, number> = {};
        for await (const d of deployments(database, simDir)) {
          try {
            const cpu0 = d.eventLoopCpuMs();
            const rows = await load(d.urls, shared);
            const sent = rows.reduce((n, r) => n + r.n, 0) + WARMUP * rows.length;
            const cpuPer = (d.eventLoopCpuMs() - cpu0) / sent;
            console.log(`  ${d.label} (event loop ${cpuPer.toFixed(2)} ms/attestation over ${d.urls.length} process(es)):`);
            for (const r of rows) console.log(`    ${line(r)}`);
            const r32 = rows.find((r) => r.clients === 32);
            if (r32) at32[d.label] = r32.n / r32.seconds;
          } finally {
            await d.stop();
          }
        }
        const sqlite = at32['serve, SQLite'];
        const pg1 = at32['serve, PostgreSQL x1'];
        const pg2 = at32['serve, PostgreSQL x2'];
        if (sqlite && pg1 && pg2) console.log(`  at 32 clients: PostgreSQL x1 / SQLite ${(pg1 / sqlite).toFixed(2)}x (target >= 0.80x), PostgreSQL x2 / x1 ${(pg2 / pg1).toFixed(2)}x`);
      } finally {
        removeDir(simDir);
      }
    }
  } finally {
    await bench.stop();
  }
}
