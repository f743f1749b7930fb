// The event log beside a TD quote: parse it, replay it, compare with the quote's RTMRs,
// and decode its events for the claims. A log that is present and does not parse or
// does not replay to the quote's RTMRs is a failed check (never ignored): the log is the
// guest's account of what it booted, and an account the quote does not vouch for is false.

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

/** `tdx.eventlog.format` and `tdx.eventlog.rtmr0..3` for `bytes` against the quote's RTMR[0..3]. */
export function verifyEventLog(bytes: Uint8Array, given: readonly Uint8Array[]): EventLogVerdict {
  let claims: EventLogClaims;
  let replayed: Uint8Array[];
  let extended: number;
  let skipped: number;
  try {
    const log = parseEventLog(bytes);
    extended = rtmrEvents(log).length;
    skipped = log.events.length - extended;
    replayed = replayRtmrs(log);
    claims = eventLogClaims(log);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return {
      checks: [fail('tdx.eventlog.format', `The event log is not a TD event log this verifier can replay: ${why}.`, 'a TCG crypto-agile event log (TCG PC Client PFP 1.05) with a SHA-384 digest per event', `${bytes.length} bytes`)],
    };
  }
  const format = pass('tdx.eventlog.format', `The event log parsed: ${extended} events extend RTMR0..3${skipped > 0 ? `, ${skipped} EV_NO_ACTION events are not extended` : ''}.`);
  return { checks: [format, ...checkRtmrs(replayed, [...given])], claims };
}
