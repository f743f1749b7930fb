// The published package as a user gets it (issue 15): `npm pack` (its prepack script runs
// `npm run build`), the tarball installed into an empty folder with `npm install --omit=dev`
// from the npm registry (through the local npm cache, --prefer-offline), better-sqlite3's
// binding fetched or compiled by its own install script as on any user's machine. Then,
// from that folder: `tessera verify snp` on a real vector, `tessera serve` in production and
// in development mode, and the single-file guest agent, copied alone into another empty
// folder and run with plain `node`, attesting against the development server.
//
// Slow by nature: the install compiles better-sqlite3 from source when no prebuilt binding
// can be downloaded (about a minute of CPU; over 2 minutes for the file on a 2-core machine,
// 12 on a loaded one, hence the generous bounds); the rest takes seconds.

import { execFile, type ExecFileOptions } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, removeDir, ROOT, serve, tempDir, type Served } from '../e2e/processes.ts';
import { usePostgres } from '../support/postgres.ts';
import { healthcheckCommand } from './dockerfile.ts';
import { loadCase } from '../snp/cases.ts';

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; resolves (never rejects) with its exit code and output. */
function run(command: string, args: string[], options: ExecFileOptions & { timeout: number }): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(command, args, { ...options, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** This environment without the variables that would change what the commands do. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('TESSERA_') || k === 'NODE_PATH' || k === 'NODE_OPTIONS' || k.startsWith('npm_')) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/** Every file below `dir`, as paths relative to it. */
function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(relative(dir, join(entry.parentPath, entry.name)));
  }
  return out.sort();
}

/** Names of every package installed below `nodeModules`, nested ones included. */
function installedPackages(nodeModules: string): Set<string> {
  const names = new Set<string>();
  const visit = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      if (entry.name.startsWith('@')) {
        for (const scoped of readdirSync(join(dir, entry.name), { withFileTypes: true })) {
          if (!scoped.isDirectory()) continue;
          names.add(`${entry.name}/${scoped.name}`);
          visit(join(dir, entry.name, scoped.name, 'node_modules'));
        }
      } else {
        names.add(entry.name);
        visit(join(dir, entry.name, 'node_modules'));
      }
    }
  };
  visit(nodeModules);
  return names;
}

const TYPESCRIPT = /\.(ts|tsx|mts|cts)$/;
/** The production server's user in the read-only test: not root, no account on the machine. */
const SERVICE_UID = 10001;

/**
 * `unshare` arguments running `command` as the container image promises to run (Dockerfile,
 * deploy/kubernetes): in a mount namespace of its own (private propagation: nothing outside
 * it changes) the root is remounted read-only, only `writable` (when given) is bound writable
 * over itself, and the command runs as an unprivileged user with no home (setpriv). The
 * service must then write nothing anywhere else. Needs root, as the test machines and CI run.
 */
function confined(writable: string | undefined, command: string[]): string[] {
  const bind = writable === undefined ? '' : 'mount --bind "$WRITABLE" "$WRITABLE" && ';
  const script = `${bind}mount -o remount,bind,ro / && exec setpriv --reuid=${SERVICE_UID} --regid=${SERVICE_UID} --clear-groups "$@"`;
  return ['-m', '--propagation', 'private', 'env', `WRITABLE=${writable ?? ''}`, 'sh', '-c', script, 'confined', ...command];
}

const scratch = tempDir('tessera-pack-');
const packDir = join(scratch, 'pack');
const installDir = join(scratch, 'install');
const agentDir = join(scratch, 'agent');
const simDir = join(scratch, 'simulator');
const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
let tarball = '';
let tarFiles: string[] = [];
const installed = join(installDir, 'node_modules', 'tessera');
const tesseraBin = join(installDir, 'node_modules', '.bin', 'tessera');
const servers: Served[] = [];
const pgs = usePostgres();

beforeAll(async () => {
  for (const d of [packDir, installDir, agentDir, simDir]) mkdirSync(d);
  // mkdtemp makes 0700 folders: the unprivileged server user must reach the installed package.
  chmodSync(scratch, 0o755);
  const packed = await run('npm', ['pack', '--pack-destination', packDir], { cwd: ROOT, env: cleanEnv(), timeout: 180_000 });
  expect(packed.code, packed.stderr).toBe(0);
  tarball = join(packDir, readdirSync(packDir).find((f) => f.endsWith('.tgz'))!);
  const listed = await run('tar', ['-tzf', tarball], { timeout: 30_000 });
  expect(listed.code, listed.stderr).toBe(0);
  tarFiles = listed.stdout.split('\n').filter((l) => l !== '' && !l.endsWith('/')).sort();

  // An empty project, as a user's deployment folder is. npm 11 warns about install scripts
  // not named in the project's allowScripts: better-sqlite3's is the one the service needs
  // (prebuild-install, else node-gyp), so it is allowed by name, as the README tells users.
  writeFileSync(join(installDir, 'package.json'), `${JSON.stringify({ name: 'tessera-install-test', private: true, allowScripts: { 'better-sqlite3': true } }, null, 2)}\n`);
  const install = await run('npm', ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', tarball], {
    cwd: installDir,
    // JOBS: node-gyp compiles sqlite3.c and the addon in parallel when it has to build.
    env: cleanEnv({ JOBS: '2' }),
    timeout: 1_200_000,
  });
  expect(install.code, install.stderr).toBe(0);
}, 1_500_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  removeDir(scratch);
});

describe('the packed tarball', () => {
  it('holds the compiled JavaScript, the migrations, the console assets and the agent bundle, and no TypeScript', () => {
    expect(tarFiles.filter((f) => TYPESCRIPT.test(f))).toEqual([]);
    for (const f of ['package.json', 'bin/tessera.js', 'bin/tessera-agent.js', 'bin/sources.js', 'dist/server/cli/main.js', 'dist/server/verification/worker.js', 'dist/tessera-agent.mjs']) {
      expect(tarFiles).toContain(`package/${f}`);
    }
    // Only bin/, dist/ and the files npm always adds: no sources, tests or fixtures.
    expect(tarFiles.filter((f) => !/^package\/(bin|dist)\//.test(f) && !/^package\/(package\.json|README\.md|LICENSE)$/.test(f))).toEqual([]);
    const migrations = walk(join(ROOT, 'migrations'));
    expect(migrations.filter((f) => f.endsWith('.sql')).length).toBeGreaterThan(1);
    for (const f of migrations) expect(tarFiles).toContain(`package/dist/migrations/${f}`);
    // The console's static files (issue 15), once the console has landed.
    const assets = join(ROOT, 'server', 'console', 'assets');
    if (existsSync(assets)) for (const f of walk(assets)) expect(tarFiles).toContain(`package/dist/server/console/assets/${f}`);
  });
});

describe('installed from the tarball with --omit=dev', () => {
  it('has no TypeScript in the package, no tsx or other build tool installed, and a working native SQLite binding', () => {
    expect(walk(installed).filter((f) => TYPESCRIPT.test(f))).toEqual([]);
    const packages = installedPackages(join(installDir, 'node_modules'));
    expect(packages.has('tessera')).toBe(true);
    for (const dev of ['tsx', 'typescript', 'esbuild', 'vitest', 'drizzle-kit', 'kubernetes-models']) expect(packages.has(dev), dev).toBe(false);
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(pkg.dependencies)).not.toContain('tsx');
    // Built (or fetched) by better-sqlite3's own install script, in this folder.
    expect(statSync(join(installDir, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node')).isFile()).toBe(true);
  });

  it('prints its version', async () => {
    const r = await run(tesseraBin, ['--version'], { cwd: installDir, env: cleanEnv(), timeout: 30_000 });
    expect(r).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('verifies a real SEV-SNP vector at its pinned time, and rejects its corrupted copy', async () => {
    const env = cleanEnv({ XDG_CACHE_HOME: join(scratch, 'xdg') });
    const good = loadCase('milan-v2-virtee');
    const r = await run(tesseraBin, ['verify', 'snp', '--report', join(good.dir, 'report.bin'), '--vcek', join(good.dir, 'vcek.der'), '--offline', '--at', good.meta.valid_at], { cwd: installDir, env, timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('SEV-SNP report VERIFIED at 2023-04-04T00:00:00.000Z');
    expect(r.stdout).toMatch(/ok {4}snp\.report\.signature/);
    // A FAMILY_ID byte flipped in the same report: the signature no longer verifies.
    const bad = loadCase('neg-milan-report-bitflip-virtee');
    const rejected = await run(tesseraBin, ['verify', 'snp', '--report', join(bad.dir, 'report.bin'), '--vcek', join(bad.dir, 'vcek.der'), '--offline', '--at', bad.meta.valid_at, '--json'], { cwd: installDir, env, timeout: 30_000 });
    expect(rejected.code).toBe(1);
    const result = JSON.parse(rejected.stdout) as { verified: boolean; checks: { id: string; ok: boolean }[] };
    expect(result.verified).toBe(false);
    expect(result.checks.find((c) => c.id === 'snp.report.signature')?.ok).toBe(false);
  });

  it('serves in production on a read-only root as a non-root user (SQLite and PostgreSQL) with its console, passes the image HEALTHCHECK, and the single-file agent in an empty folder attests against a development server', async () => {
    const common = { TESSERA_COLLATERAL_OFFLINE: 'true', TESSERA_VERIFY_THREADS: '1', TESSERA_SIMULATOR_DIR: simDir };
    const prodEnv = cleanEnv({ ...common, HOME: '/nonexistent', TESSERA_KEK: Buffer.alloc(32, 7).toString('base64') });
    const sqliteData = join(scratch, 'data-prod');
    mkdirSync(sqliteData);
    chownSync(sqliteData, SERVICE_UID, SERVICE_UID);
    const serveArgs = [process.execPath, join(installed, 'bin', 'tessera.js'), 'serve', '--port', '0'];
    const [sqlite, postgres, dev] = await Promise.all([
      // `docker run --read-only -v DATA:/var/lib/tessera`: the data directory alone is writable.
      serve('unshare', confined(sqliteData, [...serveArgs, '--data', sqliteData]), prodEnv, { cwd: installDir }),
      // The Kubernetes pods (deploy/kubernetes): PostgreSQL, and no writable path at all.
      serve('unshare', confined(undefined, serveArgs), { ...prodEnv, TESSERA_DATABASE_URL: await pgs.fresh() }, { cwd: installDir }),
      serve(tesseraBin, ['serve', '--dev', '--data', join(scratch, 'data-dev'), '--port', '0'], cleanEnv(common), { cwd: installDir }),
    ]);
    servers.push(sqlite, postgres, dev);
    for (const prod of [sqlite, postgres]) {
      expect(prod.stderr()).not.toContain('DEVELOPMENT MODE');
      // unshare, sh and setpriv exec'd in turn: the pid is the server's own.
      expect(readFileSync(`/proc/${prod.proc.pid}/status`, 'utf8')).toMatch(new RegExp(`^Uid:\\s+${SERVICE_UID}\\s`, 'm'));
      expect(readFileSync(`/proc/${prod.proc.pid}/mounts`, 'utf8')).toMatch(/^\S+ \/ \S+ ro[, ]/m);
    }
    expect(sqlite.stdout()).toContain('"store":"sqlite"');
    expect(postgres.stdout()).toContain('"store":"postgres"');
    expect(readdirSync(sqliteData)).toContain('tessera.db');
    expect(dev.stderr()).toContain('DEVELOPMENT MODE');
    for (const s of [sqlite, postgres, dev]) {
      const health = await fetch(`${s.url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });
      expect((await fetch(`${s.url}/readyz`)).status).toBe(200);
    }

    // The console from the package: its sign-in page links the assets copied into dist/,
    // served byte for byte as they are in server/console/assets.
    const signIn = await fetch(`${sqlite.url}/console/sign-in`);
    expect(signIn.status).toBe(200);
    const page = await signIn.text();
    const linked = [...page.matchAll(/(?:href|src)="(\/console\/assets\/[0-9a-f]+\/([^"]+))"/g)];
    expect(linked.map((m) => m[2]).sort()).toEqual(['console.css', 'console.js']);
    for (const [, url, name] of linked) {
      const asset = await fetch(`${sqlite.url}${url}`);
      expect(asset.status, name).toBe(200);
      expect(Buffer.from(await asset.arrayBuffer()).equals(readFileSync(join(ROOT, 'server', 'console', 'assets', name!))), name).toBe(true);
    }

    // The Dockerfile's HEALTHCHECK command, as the engine runs it in the container: exit 0
    // while the service answers on TESSERA_PORT, 1 when nothing does.
    const [probe, ...probeArgs] = healthcheckCommand();
    expect(probe).toBe('node');
    const port = new URL(sqlite.url).port;
    const healthy = await run(process.execPath, probeArgs, { cwd: installDir, env: cleanEnv({ TESSERA_PORT: port }), timeout: 30_000 });
    expect(healthy.code, healthy.stderr).toBe(0);
    const closed = await run(process.execPath, probeArgs, { cwd: installDir, env: cleanEnv({ TESSERA_PORT: String(await freePort()) }), timeout: 30_000 });
    expect(closed.code).toBe(1);

    // The bundle alone: no package.json, no node_modules here or above (the scratch folder
    // is under the system temporary directory), no NODE_PATH.
    const agent = join(agentDir, 'tessera-agent.mjs');
    copyFileSync(join(installed, 'dist', 'tessera-agent.mjs'), agent);
    expect(readdirSync(agentDir)).toEqual(['tessera-agent.mjs']);
    const agentEnv = cleanEnv({ TESSERA_SIMULATOR_DIR: simDir });
    const tokenFile = join(agentDir, 'result.jwt');
    const attested = await run(process.execPath, [agent, 'attest', '--server', dev.url, '--provider', 'simulator', '--out', tokenFile], { cwd: agentDir, env: agentEnv, timeout: 60_000 });
    expect(attested.code, attested.stderr).toBe(0);
    expect(attested.stdout).toMatch(/^status: {2}affirming$/m);
    expect(attested.stdout).toMatch(/^tee: {5}sev-snp$/m);
    // The result token, signed by the installed service, verifies against its JWKS.
    const jwks = (await (await fetch(`${dev.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
    const { payload } = await jwtVerify(readFileSync(tokenFile, 'utf8').trim(), createLocalJWKSet(jwks));
    expect(payload).toMatchObject({ eat_profile: expect.any(String) });

    // The production server trusts no simulator root: the same agent is refused there.
    const refused = await run(process.execPath, [agent, 'attest', '--server', sqlite.url, '--provider', 'simulator', '--retries', '0'], { cwd: agentDir, env: agentEnv, timeout: 60_000 });
    expect(refused.code).toBe(1);
  }, 120_000);
});
