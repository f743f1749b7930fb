// `claims.tdx.eventLog`: the replayed events, per RTMR, decoded (decode.ts). Only events
// that were extended are listed (EV_NO_ACTION events are not), in log order, so the list
// for RTMR i is exactly what RTMR[i] was built from.

import type { ParsedLog } from './abi.ts';
import { decodeEvent, type DecodedEvent } from './decode.ts';
import { rtmrEvents } from './replay.ts';

export interface EventLogClaims {
  /** RTMR index 0..3 -> its events, in the order they were extended. */
  rtmr: [DecodedEvent[], DecodedEvent[], DecodedEvent[], DecodedEvent[]];
}

export function eventLogClaims(log: ParsedLog): EventLogClaims {
  const rtmr: EventLogClaims['rtmr'] = [[], [], [], []];
  for (const e of rtmrEvents(log)) rtmr[e.rtmr]!.push(decodeEvent(e.event, e.digest));
  return { rtmr };
}
