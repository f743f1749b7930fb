// The README quick start, as written there: `npm start` in one shell (the service in
// development mode, which seeds `demo`), then `npx tessera-agent secret get demo ...` in
// another, which attests with the simulator and writes the secret. Only the data directory
// and the port are added (`npm start -- --data DIR --port N`), and the output and simulator
// directories are temporary ones (TESSERA_SIMULATOR_DIR), so that the test leaves the
// checkout, the home directory and port 8080 alone.

import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { DEMO_SECRET_VALUE } from '../../server/secrets/dev-seed.ts';
import { exec, freePort, removeDir, serve, tempDir, type Served } from './processes.ts';

const simDir = tempDir('tessera-qs-sim-');
const dataDir = tempDir('tessera-qs-data-');
const outDir = tempDir('tessera-qs-out-');
let server: Served | undefined;

afterAll(async () => {
  await server?.stop();
  for (const d of [simDir, dataDir, outDir]) removeDir(d);
});

it('npm start, then tessera-agent secret get demo --provider simulator', async () => {
  const port = await freePort();
  const env = { TESSERA_SIMULATOR_DIR: simDir, TESSERA_KEK: '', TESSERA_ADMIN_TOKEN: '', TESSERA_LOG_LEVEL: 'info' };
  server = await serve('npm', ['start', '--silent', '--', '--data', dataDir, '--port', String(port)], env, { timeoutMs: 120_000 });
  expect(server.url).toBe(`http://127.0.0.1:${port}`);
  expect(server.stderr()).toContain('DEVELOPMENT MODE');
  // First start: the one-time admin token is announced on stderr.
  expect(server.stderr()).toMatch(/admin API token was created[\s\S]*tsr_[0-9a-f]{16}_/);

  const r = await exec('npx', ['tessera-agent', 'secret', 'get', 'demo', '--server', `http://127.0.0.1:${port}`, '--provider', 'simulator', '--out-dir', outDir], { TESSERA_SIMULATOR_DIR: simDir }, 120_000);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toBe(`secret demo: ${Buffer.byteLength(DEMO_SECRET_VALUE)} bytes written to ${join(outDir, 'demo')}\n`);
  expect(readFileSync(join(outDir, 'demo'), 'utf8')).toBe(DEMO_SECRET_VALUE);
  expect(statSync(join(outDir, 'demo')).mode & 0o777).toBe(0o600);

  // A supervisor may signal npm alone, not its process group: the server, exec'd in place of
  // npm's shell, gets the SIGTERM and stops in order (npm exits once it has).
  const npm = server.proc;
  const npmExited = new Promise<void>((resolve) => (npm.exitCode !== null ? resolve() : npm.once('exit', () => resolve())));
  process.kill(npm.pid!, 'SIGTERM');
  await npmExited;
  expect(server.stdout()).toMatch(/"msg":"stopped"/);
  await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
}, 240_000);
