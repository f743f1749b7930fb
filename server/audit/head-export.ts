// Exported audit heads: a witness of the log kept outside it. A signed head (head.ts) only
// catches a log cut short or rewritten if someone kept an earlier one; this exporter keeps
// them for the operator. Every `intervalMinutes` the service signs its newest durable entry
// and appends it, one JSON line, to `<directory>/audit-heads.jsonl` and/or POSTs it to `url`,
// which should be storage the service cannot rewrite (another host, a WORM bucket, a log
// shipper). `tessera audit verify --heads FILE` then checks the log against every line.
//
// An export that fails is logged and counted, never retried in a loop and never in the way of
// an attestation: the next tick tries again. Every replica exports its own heads; they name
// entries of the one chain, so any of them pins it.

import { closeSync, fdatasyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { SigningKeyStore } from '../keys/signing-keys.ts';
import type { AuditStorage } from '../storage/store.ts';
import { signAuditHead, type AuditHead } from './head.ts';

export const HEADS_FILE = 'audit-heads.jsonl';

export interface HeadExportTargets {
  /** Directory of the append-only JSON Lines file. */
  directory?: string;
  /** Receives each head as a JSON POST body. */
  url?: string;
  /** Bound on one POST, ms. */
  timeoutMs: number;
}

export type ExportedHead = AuditHead & { signed: string };

/** Append one head to the JSON Lines file and make it durable before returning. */
export function appendHeadLine(directory: string, head: ExportedHead): void {
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  // O_APPEND: lines written by several replicas into one shared directory never interleave
  // (one write of a short line), and nothing written before is ever touched.
  const fd = openSync(join(directory, HEADS_FILE), 'a', 0o600);
  try {
    writeSync(fd, `${JSON.stringify({ seq: head.seq, hash: head.hash, at: head.at, signed: head.signed })}\n`);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** POST one head; rejects unless the receiver answers 2xx within the bound. */
export async function postHead(url: string, head: ExportedHead, timeoutMs: number): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ seq: head.seq, hash: head.hash, at: head.at, signed: head.signed }),
    signal: AbortSignal.timeout(timeoutMs),
    redirect: 'error',
  });
  await res.body?.cancel();
  if (!res.ok) throw new Error(`the receiver answered ${res.status}`);
}

export type ExportOutcome = { target: 'file' | 'url'; ok: true } | { target: 'file' | 'url'; ok: false; error: string };

/** Sign the current head and send it to every target; one outcome per target, never a throw. */
export async function exportHeadOnce(audit: AuditStorage, keys: SigningKeyStore, targets: HeadExportTargets, now: number = Date.now()): Promise<ExportOutcome[]> {
  let head: ExportedHead;
  try {
    head = await signAuditHead(keys, await audit.head(), now);
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    return [...(targets.directory ? [{ target: 'file' as const, ok: false as const, error }] : []), ...(targets.url ? [{ target: 'url' as const, ok: false as const, error }] : [])];
  }
  const outcomes: ExportOutcome[] = [];
  if (targets.directory) {
    try {
      appendHeadLine(targets.directory, head);
      outcomes.push({ target: 'file', ok: true });
    } catch (err) {
      outcomes.push({ target: 'file', ok: false, error: err instanceof Error ? err.message : String(err) });
    }
  }
  if (targets.url) {
    try {
      await postHead(targets.url, head, targets.timeoutMs);
      outcomes.push({ target: 'url', ok: true });
    } catch (err) {
      outcomes.push({ target: 'url', ok: false, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return outcomes;
}

export interface HeadExporter {
  /** Export now (also what each tick does); resolves when every target answered. */
  runOnce(): Promise<ExportOutcome[]>;
  /** No more ticks; resolves once an export under way has finished (before the store closes). */
  stop(): Promise<void>;
}

/** Export every `intervalMs`, logging and counting each outcome; the first export runs at once. */
export function startHeadExporter(options: {
  audit: AuditStorage;
  keys: SigningKeyStore;
  targets: HeadExportTargets;
  intervalMs: number;
  log: Logger;
  count: (target: 'file' | 'url', outcome: 'ok' | 'failed') => void;
}): HeadExporter {
  const { audit, keys, targets, log, count } = options;
  let running: Promise<ExportOutcome[]> | undefined;
  const runOnce = (): Promise<ExportOutcome[]> => {
    // One export at a time: a slow receiver delays the next tick, it does not pile them up.
    running ??= exportHeadOnce(audit, keys, targets)
      .then((outcomes) => {
        for (const o of outcomes) {
          count(o.target, o.ok ? 'ok' : 'failed');
          // The URL may carry a credential in its query: never logged, only the target kind.
          if (!o.ok) log.warn({ target: o.target, err: o.error }, 'exporting the signed audit head failed');
        }
        return outcomes;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const timer = setInterval(() => void runOnce(), options.intervalMs);
  timer.unref();
  void runOnce();
  return {
    runOnce,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
