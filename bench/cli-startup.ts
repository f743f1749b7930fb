// Cold start of the command-line entry points (issue 15: `tessera --version` <= 0.3 s): each
// command run as a new process, as a user or a health probe runs it, wall clock from spawn
// to exit. Three ways of running tessera: from the clone through tsx (what `npm start`
// does), from dist/ as the published package runs (bin/ and dist/ copied to a scratch folder
// with this checkout's node_modules linked, so no sources are next to bin/), and the
// single-file guest agent. `node -e 0` is the floor: Node's own start on this machine.
// Needs `npm run build` first for the dist/ rows (they are skipped with a note otherwise).

import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUNS = 15;
const WARMUP = 2;

/** Median and minimum wall time of `node args...` in milliseconds, after a warm-up (page cache). */
function time(args: string[]): { median: number; min: number } {
  const samples: number[] = [];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const start = performance.now();
    execFileSync(process.execPath, args, { stdio: 'ignore' });
    if (i >= WARMUP) samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(samples.length / 2)]!, min: samples[0]! };
}

function row(label: string, args: string[]): void {
  const t = time(args);
  console.log(`${label.padEnd(44)} median ${t.median.toFixed(0).padStart(5)} ms   min ${t.min.toFixed(0).padStart(5)} ms`);
}

export async function run(): Promise<void> {
  console.log(`${RUNS} runs each after ${WARMUP} warm-up runs, Node ${process.version}`);
  row('node -e 0 (floor)', ['-e', '0']);
  row('tessera --version (clone, tsx)', [join(ROOT, 'bin/tessera.js'), '--version']);
  row('tessera --help (clone, tsx)', [join(ROOT, 'bin/tessera.js'), '--help']);
  if (!existsSync(join(ROOT, 'dist/server/cli/main.js'))) {
    console.log('dist/ rows skipped: run `npm run build` first');
    return;
  }
  const pkg = mkdtempSync(join(tmpdir(), 'tessera-cli-startup-'));
  try {
    for (const part of ['bin', 'dist', 'package.json']) cpSync(join(ROOT, part), join(pkg, part), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'), 'dir');
    row('tessera --version (package, dist/)', [join(pkg, 'bin/tessera.js'), '--version']);
    row('tessera --help (package, dist/)', [join(pkg, 'bin/tessera.js'), '--help']);
    row('node dist/tessera-agent.mjs --version', [join(pkg, 'dist/tessera-agent.mjs'), '--version']);
  } finally {
    rmSync(pkg, { recursive: true, force: true });
  }
}
