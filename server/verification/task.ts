// What a verification worker thread runs: verifyPrepared on plain data, with the anchors of
// the trust domain the task names (handed to the thread once, as workerData). The verifier's
// two errors are returned as data, since an Error's class does not survive the trip back.

import { workerData } from 'node:worker_threads';
import type { TrustAnchors } from '../../verifier/anchors.ts';
import { CollateralUnavailableError, EvidenceFormatError } from '../../verifier/errors.ts';
import type { VerificationResult } from '../../verifier/result.ts';
import { verifyPrepared, type PreparedEvidence } from '../../verifier/verify-evidence.ts';

export interface VerifyTask {
  prepared: PreparedEvidence;
  /** Index into the anchors the pool was made with. */
  domain: number;
}

export type VerifyOutcome =
  | { ok: true; result: VerificationResult }
  | { ok: false; error: { kind: 'format'; code: string; message: string } | { kind: 'collateral'; document: string; message: string } };

export interface WorkerData {
  anchors: TrustAnchors[];
}

/** Run one task against `anchors` (the worker's, or the caller's when verifying in-thread). */
export function runVerifyTask(task: VerifyTask, anchors: readonly TrustAnchors[]): VerifyOutcome {
  const domain = anchors[task.domain];
  if (!domain) throw new RangeError(`no trust domain ${task.domain}`);
  try {
    return { ok: true, result: verifyPrepared(task.prepared, domain) };
  } catch (err) {
    if (err instanceof EvidenceFormatError) return { ok: false, error: { kind: 'format', code: err.code, message: err.message } };
    if (err instanceof CollateralUnavailableError) return { ok: false, error: { kind: 'collateral', document: err.document, message: err.message } };
    throw err;
  }
}

/** The worker's entry (piscina calls the default export with each task). */
export default function verifyInWorker(task: VerifyTask): VerifyOutcome {
  return runVerifyTask(task, (workerData as WorkerData).anchors);
}
