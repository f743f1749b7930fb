// Runs a bin/ entry point as a user runs it (`node bin/tessera.js ...`, a separate process)
// and captures its exit code and output, for the CLI tests.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

export const TESSERA_BIN = fileURLToPath(new URL('../../bin/tessera.js', import.meta.url));
export const TESSERA_AGENT_BIN = fileURLToPath(new URL('../../bin/tessera-agent.js', import.meta.url));

export interface Run {
  /** Exit code; -1 when the process ended without one (killed by a signal or the timeout). */
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Replaces the environment (pass `{ ...process.env, ... }` to extend it). */
  env?: NodeJS.ProcessEnv;
  /** Milliseconds before the process is killed; none by default. */
  timeout?: number;
}

/** `node <bin> ...args`: resolves (never rejects) with its exit code, stdout and stderr. */
export function runBin(bin: string, args: readonly string[], options: RunOptions = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], options, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** `node bin/tessera.js ...args`. */
export function runTessera(args: readonly string[], options: RunOptions = {}): Promise<Run> {
  return runBin(TESSERA_BIN, args, options);
}

/**
 * A scratch directory removed after the file's tests, and `tessera` run with its default
 * collateral cache ($XDG_CACHE_HOME) inside it, so no test touches the user's own cache.
 */
export function tesseraInScratchDir(prefix: string): { dir: string; tessera: (...args: string[]) => Promise<Run> } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, tessera: (...args) => runTessera(args, { env: { ...process.env, XDG_CACHE_HOME: join(dir, 'xdg') } }) };
}
