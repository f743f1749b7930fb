// `npm run bench -- event-loop`: what moving per-attestation work to libuv's thread pool
// saves the main thread, measured in one run, for the two candidates of issue 12: the ES256
// signature of the attestation result (moved: server/keys/sign-jws.ts) and the request log
// lines (two per attestation, the challenge's and the attest's; measured and kept
// synchronous, because the saving is a few µs and an asynchronous log can lose its last
// lines in a crash). The figure is the main thread's CPU time
// (/proc/self/task/PID/schedstat), not wall time, so waiting for a core on a shared machine
// does not count; 32 operations are in flight at a time, as with 32 clients.
//
// Log lines go to a FIFO drained by `cat`, as stdout goes to a container runtime's pipe.

import { spawn, execFileSync } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { removeDir, tempDir } from '../test/e2e/processes.ts';

const SIGNATURES = 20_000;
const LINES = 40_000;
const IN_FLIGHT = 32;

function mainThreadCpuMs(): number {
  return Number(readFileSync(`/proc/${process.pid}/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
}

async function perOperationMicros(n: number, batch: () => Promise<void>): Promise<number> {
  const start = mainThreadCpuMs();
  for (let done = 0; done < n; done += IN_FLIGHT) await batch();
  return ((mainThreadCpuMs() - start) * 1000) / n;
}

async function signatures(): Promise<{ sync: number; async: number }> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  // About the size of an EAR's signing input.
  const input = Buffer.alloc(900, 0x61);
  const options = { key: privateKey, dsaEncoding: 'ieee-p1363' as const };
  const syncBatch = async () => {
    for (let i = 0; i < IN_FLIGHT; i++) sign('sha256', input, options);
    await new Promise<void>((resolve) => setImmediate(resolve));
  };
  const asyncBatch = async () => {
    await Promise.all(Array.from({ length: IN_FLIGHT }, () => new Promise<Buffer>((resolve, reject) => sign('sha256', input, options, (err, sig) => (err ? reject(err) : resolve(sig))))));
  };
  await perOperationMicros(2000, syncBatch);
  await perOperationMicros(2000, asyncBatch);
  return { sync: await perOperationMicros(SIGNATURES, syncBatch), async: await perOperationMicros(SIGNATURES, asyncBatch) };
}

async function logLines(): Promise<{ sync: number; async: number }> {
  const dir = tempDir('tessera-bench-log-');
  const fifo = join(dir, 'stdout');
  execFileSync('mkfifo', [fifo]);
  const reader = spawn('sh', ['-c', `cat "${fifo}" > /dev/null`], { stdio: 'ignore' });
  const fd = openSync(fifo, 'w');
  const line = { requestId: 'c0a8e3a2-5b7e-4f7c-9a53-3f1d0a6c1e7b', method: 'POST', path: '/v1/attest', route: '/v1/attest', status: 200, ms: 12.34, client: '127.0.0.1' };
  const measure = async (sync: boolean) => {
    const destination = pino.destination({ dest: fd, sync });
    const log = pino({ base: { service: 'tessera' } }, destination);
    const micros = await perOperationMicros(LINES, async () => {
      for (let i = 0; i < IN_FLIGHT; i++) log.info(line, 'request');
      await new Promise<void>((resolve) => setImmediate(resolve));
    });
    destination.flushSync();
    return micros;
  };
  await measure(true);
  await measure(false);
  const result = { sync: await measure(true), async: await measure(false) };
  reader.kill();
  removeDir(dir);
  return result;
}

export async function run(): Promise<void> {
  const s = await signatures();
  const l = await logLines();
  const row = (what: string, r: { sync: number; async: number }, perAttestation: number) =>
    console.log(
      `${what.padEnd(28)} sync ${r.sync.toFixed(1).padStart(6)} µs   thread pool ${r.async.toFixed(1).padStart(6)} µs   ` +
        `saved per attestation ${((r.sync - r.async) * perAttestation).toFixed(1)} µs`,
    );
  console.log(`main-thread CPU per operation, ${IN_FLIGHT} in flight`);
  row('ES256 result signature', s, 1);
  row('request log line', l, 2);
}
