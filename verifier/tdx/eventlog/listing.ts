// A whole TD event log as plain data, for `tessera eventlog`: every event in log order
// (EV_NO_ACTION ones too, marked not extended), decoded, and the RTMRs it replays to.

import { parseEventLog } from './abi.ts';
import { decodeEvent, type DecodedEvent } from './decode.ts';
import { EV } from './event-types.ts';
import { replayRtmrs, rtmrEvents, TPM_ALG_SHA384 } from './replay.ts';

export type ListedEvent = DecodedEvent & {
  /** Position in the log, 1 for the first event after the Spec ID event. */
  seq: number;
  /** The CC MR index the event names (1..4 = RTMR0..3). */
  mrIndex: number;
  /** The RTMR it extends; absent when it extends none (EV_NO_ACTION). */
  rtmr?: number;
  extended: boolean;
};

export interface EventLogListing {
  /** RTMR0..3 replayed, lower-case hex. */
  rtmrs: [string, string, string, string];
  events: ListedEvent[];
}

/** Throws EventLogError when the log does not parse or holds an event a TD log cannot (replay.ts). */
export function listEventLog(bytes: Uint8Array): EventLogListing {
  const log = parseEventLog(bytes);
  const extended = new Set(rtmrEvents(log).map((e) => e.event));
  const rtmrs = replayRtmrs(log).map((r) => Buffer.from(r).toString('hex')) as EventLogListing['rtmrs'];
  const events = log.events.map((ev, i): ListedEvent => {
    const digest = ev.digests.find((d) => d.algId === TPM_ALG_SHA384)?.digest ?? new Uint8Array(0);
    const ext = extended.has(ev);
    return { seq: i + 1, mrIndex: ev.mrIndex, ...(ext ? { rtmr: ev.mrIndex - 1 } : {}), extended: ext && ev.eventType !== EV.NO_ACTION, ...decodeEvent(ev, digest) };
  });
  return { rtmrs, events };
}
