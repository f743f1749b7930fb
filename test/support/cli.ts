// Runs a bin/ entry point as a user runs it (`node bin/tessera.js ...`, a separate process)
// and captures its exit code and output, for the CLI tests.

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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
