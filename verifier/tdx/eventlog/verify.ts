// The event log beside a TD quote: parse it, replay it, compare with the quote's RTMRs,
// and decode its events for the claims. A log that is present and does not parse or
// does not replay to the quote's RTMRs is a failed check (never ignored): the log is the
// guest's account of what it booted, and an account the quote does not vouch for is false.

import { createHash } from 'node:crypto';
import type { Check } from '../../result.ts';
import { fail, pass } from '../check.ts';
import { parseEventLog } from './abi.ts';
import { checkRtmrs } from './check-rtmrs.ts';
import { eventLogClaims, type EventLogClaims } from './claims.ts';
import { replayRtmrs, rtmrEvents } from './replay.ts';

export interface EventLogVerdict {
  checks: Check[];
  /** Present when the log parsed (also when it did not replay: the claims then explain the denial, they vouch for nothing). */
  claims?: EventLogClaims;
}

interface Replayed {
  replayed: Uint8Array[];
  claims: EventLogClaims;
  format: Check;
}

// A guest sends the same log on every attestation (its boot does not change), and replaying
// and decoding it costs one to three SHA-384s per event (about 1 ms for 87 events): the
// outcome is kept by the SHA-256 of the log's bytes, for the last logs seen. The claims are
// frozen, so results that share them cannot change each other's.
const MEMO_SIZE = 64;
const memo = new Map<string, Replayed>();

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

function replay(bytes: Uint8Array): Replayed {
  const key = createHash('sha256').update(bytes).digest('base64');
  const hit = memo.get(key);
  if (hit) {
    memo.delete(key);
    memo.set(key, hit);
    return hit;
  }
  const log = parseEventLog(bytes);
  const extended = rtmrEvents(log).length;
  const skipped = log.events.length - extended;
  const done: Replayed = {
    replayed: replayRtmrs(log),
    claims: deepFreeze(eventLogClaims(log)),
    format: Object.freeze(pass('tdx.eventlog.format', `The event log parsed: ${extended} events extend RTMR0..3${skipped > 0 ? `, ${skipped} EV_NO_ACTION events are not extended` : ''}.`)),
  };
  memo.set(key, done);
  if (memo.size > MEMO_SIZE) memo.delete(memo.keys().next().value!);
  return done;
}

/** `tdx.eventlog.format` and `tdx.eventlog.rtmr0..3` for `bytes` against the quote's RTMR[0..3]. */
export function verifyEventLog(bytes: Uint8Array, given: readonly Uint8Array[]): EventLogVerdict {
  let r: Replayed;
  try {
    r = replay(bytes);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return {
      checks: [fail('tdx.eventlog.format', `The event log is not a TD event log this verifier can replay: ${why}.`, 'a TCG crypto-agile event log (TCG PC Client PFP 1.05) with a SHA-384 digest per event', `${bytes.length} bytes`)],
    };
  }
  return { checks: [r.format, ...checkRtmrs(r.replayed, [...given])], claims: r.claims };
}
