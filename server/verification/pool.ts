// Verification off the event loop. The CPU half of a verification (verifyPrepared: the
// signatures, above all SEV-SNP's ECDSA P-384, ~1 ms here) runs on a pool of worker threads
// (piscina), while the event loop goes on parsing requests, gathering collateral, signing
// tokens and committing. The collateral half (prepareEvidence) stays on the main thread,
// where the cache, its single-flight fetches and the database are.
//
// With `threads: 0` the same task runs in the calling thread: one way to verify, two places.

import { Piscina } from 'piscina';
import type { TrustAnchors } from '../../verifier/anchors.ts';
import { CollateralUnavailableError, EvidenceFormatError } from '../../verifier/errors.ts';
import type { VerificationResult } from '../../verifier/result.ts';
import type { PreparedEvidence } from '../../verifier/verify-evidence.ts';
import { runVerifyTask, type VerifyOutcome, type VerifyTask, type WorkerData } from './task.ts';

/** Beyond this many verifications waiting for a thread, new ones are refused (ServerBusyError). */
export const MAX_QUEUED_VERIFICATIONS = 1024;

/** The verify threads are saturated and their queue is full: try again shortly (503). */
export class ServerBusyError extends Error {
  constructor() {
    super(`${MAX_QUEUED_VERIFICATIONS} verifications are already waiting for a thread.`);
    this.name = 'ServerBusyError';
  }
}

export interface VerifierPool {
  /** Worker threads (0: verification runs on the event loop). */
  readonly threads: number;
  /**
   * verifyPrepared(prepared, anchors of trust domain `domain`), with the verifier's errors
   * rethrown as themselves. `here`: run it in the calling thread, for a request with nothing
   * else in flight to overlap with, where the hand-off to a thread and back would only add
   * its latency (about 1 ms on the 2-core VM of bench/attest.ts).
   */
  verify(prepared: PreparedEvidence, domain: number, here?: boolean): Promise<VerificationResult>;
  /** Finish queued tasks and stop the threads. */
  close(): Promise<void>;
}

function unwrap(outcome: VerifyOutcome): VerificationResult {
  if (outcome.ok) return outcome.result;
  const e = outcome.error;
  throw e.kind === 'format' ? new EvidenceFormatError(e.code, e.message) : new CollateralUnavailableError(e.document, e.message);
}

/** A pool verifying against `anchors` (one entry per trust domain, in the order tasks name them). */
export function createVerifierPool(anchors: readonly TrustAnchors[], threads: number): VerifierPool {
  const inThread = (prepared: PreparedEvidence, domain: number) => Promise.resolve().then(() => unwrap(runVerifyTask({ prepared, domain }, anchors)));
  if (threads === 0) {
    return { threads, verify: inThread, close: () => Promise.resolve() };
  }
  const workerData: WorkerData = { anchors: [...anchors] };
  const pool = new Piscina<VerifyTask, VerifyOutcome>({
    filename: new URL('./worker.js', import.meta.url).href,
    workerData,
    // The threads parse what attesters send; they need no secret from the environment.
    env: {},
    minThreads: threads,
    maxThreads: threads,
    // Threads are kept: starting one loads the verifier anew (hundreds of ms).
    idleTimeout: Number.POSITIVE_INFINITY,
    // Tasks are handed to a thread ahead of time, so a busy thread goes from one to the next
    // without sleeping in between: waking a thread costs a few hundred us of CPU on a VM.
    concurrentTasksPerWorker: 8,
    // Bounded: each waiting task holds its evidence and collateral. Per-address rate limits
    // bound one client, not many.
    maxQueue: MAX_QUEUED_VERIFICATIONS,
  });
  const run = async (task: VerifyTask): Promise<VerifyOutcome> => {
    // Checked before handing over: piscina refuses a full queue with a plain Error.
    if (pool.queueSize >= MAX_QUEUED_VERIFICATIONS) throw new ServerBusyError();
    return pool.run(task);
  };
  return {
    threads,
    verify: async (prepared, domain, here = false) => (here ? inThread(prepared, domain) : unwrap(await run({ prepared, domain }))),
    close: () => pool.close(),
  };
}
