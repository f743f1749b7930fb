// The one-round-trip attest-and-release (POST /v1/attest with `release: [name]`) over HTTP
// on loopback, next to the bare POST /v1/attest of the same run, at 1 and 32 concurrent
// clients. The server runs in this process (event loop and verify threads, as in attest.ts), the load comes from a child process
// (this file again, TESSERA_BENCH_ROLE=release-load) that prepares challenges and bound
// SEV-SNP evidence untimed, then sends them. Release adds, per request: a KEK envelope
// opened (two AES-256-GCM), the release policy evaluated (CEL), the JWE (one P-256 ECDH,
// AES key wrap, AES-256-GCM) and one more audit entry in its own transaction.

import type { Pool } from 'undici';
import { fileURLToPath } from 'node:url';
import { createSimulatorChain, parseSimulatorChain, serializeSimulatorChain, type SimulatorChain } from '../verifier/testing/simulated-chain.ts';
import { fireAttests, type LoadResult, openClient, pct, prepareSnpAttests, runLoadChild, startBenchServer } from './load.ts';

const CLIENTS = [1, 32];
const REQUESTS: Record<number, number> = { 1: 800, 32: 1600 };
const WARMUP = 200;
const SECRET = 'bench-secret';

type Mode = 'attest' | 'attest+release';
type ModeResult = LoadResult & { mode: Mode };

function bodies(client: Pool, chain: SimulatorChain, n: number, mode: Mode): Promise<string[]> {
  return prepareSnpAttests(client, chain, n, mode === 'attest+release' ? { release: [SECRET] } : {});
}

async function fire(client: Pool, sent: string[], clients: number, mode: Mode): Promise<ModeResult> {
  // A release that did not happen is a failure, not a faster attest.
  const result = await fireAttests(client, sent, clients, (res) => res.status === 200 && (mode !== 'attest+release' || res.text.includes(`"${SECRET}":"`)));
  return { mode, ...result };
}

async function loadMain(): Promise<void> {
  const msg = await new Promise<{ url: string; chain: string }>((resolve) => process.once('message', resolve as never));
  const chain = parseSimulatorChain(msg.chain);
  const results: ModeResult[] = [];
  for (const clients of CLIENTS) {
    // Interleaved per client count, so both modes see the same machine state.
    for (const mode of ['attest', 'attest+release'] as Mode[]) {
      const client = openClient(msg.url, clients);
      await fire(client, await bodies(client, chain, WARMUP, mode), clients, mode);
      results.push(await fire(client, await bodies(client, chain, REQUESTS[clients] ?? 800, mode), clients, mode));
      await client.close();
    }
  }
  process.send!(results, () => process.exit(0));
}

if (process.env.TESSERA_BENCH_ROLE === 'release-load') await loadMain();

export async function run(): Promise<void> {
  const chain = await createSimulatorChain({ now: new Date(), rsaBits: 2048 });
  const bench = await startBenchServer(chain, async (service) => {
    await service.ctx.secrets.put(SECRET, { value: Buffer.from('a 32-byte database password!!!!!'), releasePolicy: 'claims.tee == "sev-snp" && claims.debug == false' }, 'bench', null);
  });
  try {
    const results = await runLoadChild<ModeResult[]>(fileURLToPath(import.meta.url), 'release-load', { url: bench.url, chain: serializeSimulatorChain(chain) });
    console.log(`POST /v1/attest with and without release: [${SECRET}] over HTTP on loopback (SEV-SNP, simulator chain, audit on, SQLite synchronous=${bench.config.dbSynchronous}), server: event loop + ${bench.config.verifyThreads} verify thread(s):`);
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
    await bench.stop();
  }
}
