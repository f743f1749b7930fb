// N real `tessera serve --database URL` processes on one PostgreSQL database, as an operator
// runs replicas behind a load balancer: same KEK (TESSERA_KEK), same admin token, same
// simulator chain (development mode, so simulator evidence is accepted), each on its own port
// and data directory. Started one after the other or all at once.

import { randomBytes } from 'node:crypto';
import { afterAll } from 'vitest';
import { loadOrCreateSimulatorChain } from '../../verifier/testing/simulator-files.ts';
import type { SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { removeDir, serve, TESSERA, tempDir, type Served } from '../e2e/processes.ts';

export interface Replicas {
  servers: Served[];
  admin: string;
  chain: SimulatorChain;
  simDir: string;
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

// Every replica set still running when the file's tests end. The one afterAll that stops them
// is registered here, when a test file imports this module: a hook registered later, from
// inside the beforeAll that starts the replicas, is never run, and the processes outlived
// the suite.
const running = new Set<() => Promise<void>>();
afterAll(() => Promise.all([...running].map((stop) => stop())), 60_000);

/** Start `n` replicas on `database`, all at once; stopped after the file's tests. */
export async function startReplicas(n: number, database: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Replicas> {
  const simDir = tempDir('tessera-replicas-sim-');
  // Made before the replicas start, so they share it instead of racing to create it.
  const chain = await loadOrCreateSimulatorChain(simDir, { rsaBits: 2048 });
  const admin = `replicas-admin-${randomBytes(24).toString('hex')}`;
  const env: NodeJS.ProcessEnv = {
    TESSERA_SIMULATOR_DIR: simDir,
    TESSERA_ADMIN_TOKEN: admin,
    TESSERA_KEK: randomBytes(32).toString('base64'),
    TESSERA_DATABASE_URL: database,
    TESSERA_LOG_LEVEL: 'info',
    TESSERA_VERIFY_THREADS: '1',
    TESSERA_RATE_LIMIT_CHALLENGE: '0',
    TESSERA_RATE_LIMIT_ATTEST: '0',
    ...extraEnv,
  };
  const dirs = Array.from({ length: n }, () => tempDir('tessera-replica-'));
  const started = await Promise.allSettled(dirs.map((d) => serve(process.execPath, [TESSERA, 'serve', '--dev', '--data', d, '--port', '0'], env, { timeoutMs: 120_000 })));
  const servers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    // The ones that did start must not outlive the failure.
    await Promise.all(servers.map((s) => s.stop()));
    for (const d of [...dirs, simDir]) removeDir(d);
    throw failed.reason;
  }
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    running.delete(stop);
    await Promise.all(servers.map((s) => s.stop()));
    for (const d of [...dirs, simDir]) removeDir(d);
  };
  running.add(stop);
  return { servers, admin, chain, simDir, env, stop };
}
