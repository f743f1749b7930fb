// The service and the guest agent as separate processes, exactly as an operator runs them:
// `node bin/tessera.js serve --dev` and `node bin/tessera-agent.js ...`, on 127.0.0.1, with
// a temporary data directory and a temporary simulator directory (TESSERA_SIMULATOR_DIR).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const TESSERA = join(ROOT, 'bin', 'tessera.js');
export const AGENT = join(ROOT, 'bin', 'tessera-agent.js');

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A port free right now on 127.0.0.1 (for commands that take a fixed --port, as the README's do). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

export interface Served {
  url: string;
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** SIGTERM, and wait for the exit (the service finishes requests in flight). */
  stop(): Promise<number | null>;
}

/**
 * Start a command that runs the service and wait for its `tessera listening` log line.
 * `detached`: its own process group, so that `npm start` (npm, sh, node) stops as a whole.
 */
export async function serve(command: string, args: string[], env: NodeJS.ProcessEnv, options: { cwd?: string; timeoutMs?: number } = {}): Promise<Served> {
  const proc = spawn(command, args, { cwd: options.cwd ?? ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the service did not start within ${options.timeoutMs ?? 60_000} ms:\n${err}\n${out}`)), options.timeoutMs ?? 60_000);
    const poll = setInterval(() => {
      const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"[^\n]*"msg":"tessera listening"/.exec(out);
      if (m) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve(m[1]!);
      }
    }, 50);
    void exited.then((code) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`the service exited with ${code} before listening:\n${err}\n${out}`));
    });
  });
  return {
    url,
    proc,
    stdout: () => out,
    stderr: () => err,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        try {
          process.kill(-proc.pid!, 'SIGTERM');
        } catch (err) {
          // The group is gone already (a test killed the process): nothing left to stop.
          if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
        }
      }
      return exited;
    },
  };
}

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run one of our CLIs (bin/*.js) with node, to completion. */
export function run(script: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<Ran> {
  return exec(process.execPath, [script, ...args], env, timeoutMs);
}

/** Run a command to completion (e.g. `npx tessera-agent ...`, as the README says it). */
export function exec(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<Ran> {
  const script = [command, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const proc = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${script} did not finish within ${timeoutMs} ms:\n${stderr}`));
    }, timeoutMs);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** JSON over HTTP to a served process. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies, checked field by field by each test
export async function call(url: string, method: string, path: string, options: { body?: unknown; token?: string } = {}): Promise<{ status: number; body: any; text: string }> {
  const headers: Record<string, string> = {};
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const res = await fetch(url + path, { method, headers, ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON (a JWE): keep the text */
  }
  return { status: res.status, body, text };
}
