// `npm run bench -- attest --database postgres://…`: the same load as attest.ts against real
// `tessera serve` processes, so the store is the only thing that changes between rows:
// SQLite (one process), PostgreSQL with one replica, and PostgreSQL with two replicas on one
// database (the load generator spreads challenges and attests over them round robin, so a
// challenge is usually redeemed on the other replica). Each PostgreSQL row gets a fresh
// database, created on the server the URL names and dropped afterwards.
//
// Event-loop time per attestation: the CPU time of each server's main thread
// (/proc/PID/task/PID/schedstat, nanoseconds on CPU) over the whole load, its challenges
// included, divided by the attestations sent. Wall-clock event-loop utilisation would count
// time spent waiting for a core on a shared machine; CPU time does not.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { removeDir, serve, TESSERA, tempDir, type Served } from '../test/e2e/processes.ts';

export interface Deployment {
  label: string;
  urls: string[];
  /** Main-thread CPU of every process, in milliseconds. */
  eventLoopCpuMs(): number;
  stop(): Promise<void>;
}

function mainThreadCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(/\s+/);
  return Number(fields[0]) / 1e6;
}

async function createDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `tessera_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** `replicas` serve processes sharing the simulator chain in `simDir`; on `database` when given, else each on its own SQLite. */
export async function startDeployment(label: string, simDir: string, replicas: number, database?: string): Promise<Deployment> {
  const dirs = Array.from({ length: replicas }, () => tempDir('tessera-bench-serve-'));
  const env: NodeJS.ProcessEnv = {
    TESSERA_SIMULATOR_DIR: simDir,
    TESSERA_ADMIN_TOKEN: 'bench-admin-token-'.padEnd(40, 'x'),
    TESSERA_KEK: Buffer.alloc(32, 0x42).toString('base64'),
    TESSERA_LOG_LEVEL: 'info',
    TESSERA_RATE_LIMIT_CHALLENGE: '0',
    TESSERA_RATE_LIMIT_ATTEST: '0',
    ...(database ? { TESSERA_DATABASE_URL: database } : {}),
  };
  const servers: Served[] = [];
  // One after the other: the first migrates an empty database, the rest find it done.
  for (const d of dirs) servers.push(await serve(process.execPath, [TESSERA, 'serve', '--dev', '--data', d, '--port', '0'], env, { timeoutMs: 120_000 }));
  return {
    label,
    urls: servers.map((s) => s.url),
    eventLoopCpuMs: () => servers.reduce((sum, s) => sum + mainThreadCpuMs(s.proc.pid!), 0),
    async stop() {
      await Promise.all(servers.map((s) => s.stop()));
      for (const d of dirs) removeDir(d);
    },
  };
}

/** The rows of the process comparison: SQLite, then PostgreSQL with 1 and 2 replicas, each on a fresh database. */
export async function* deployments(adminUrl: string, simDir: string): AsyncGenerator<Deployment> {
  yield await startDeployment('serve, SQLite', simDir, 1);
  for (const n of [1, 2]) {
    const db = await createDatabase(adminUrl);
    const d = await startDeployment(`serve, PostgreSQL x${n}`, simDir, n, db.url);
    yield { ...d, stop: () => d.stop().finally(() => db.drop()) };
  }
}
