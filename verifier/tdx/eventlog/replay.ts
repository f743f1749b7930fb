// Replaying the log to RTMR[0..3]: CCEL MR index 1..4 is RTMR 0..3, index 0 is MRTD
// (Intel TDX Guest-Hypervisor Communication Interface, "TD Measurement"; UEFI 2.10
// EFI_CC_MEASUREMENT_PROTOCOL MapPcrToMrIndex). Each extend is SHA-384(RTMR || digest),
// as trustee deps/eventlog/src/lib.rs replay() does.
//
// EV_NO_ACTION events are informational and never extended (TCG PC Client PFP 1.05,
// section 10.4.1: "not extended into any PCR"; trustee's vector CCEL_data_grub_gke has two
// at index 0). Every other event must name an RTMR (index 1..4: MRTD is built by the TDX
// module and cannot be extended) and carry exactly one SHA-384 digest, the one extended:
// an event the replay would skip could say anything in the claims, so it refuses the log.
import { createHash } from 'node:crypto';
import { EventLogError, type Event, type ParsedLog } from './abi.ts';
import { EV } from './event-types.ts';

export const TPM_ALG_SHA384 = 0x000c;

/**
 * At most this many events extend the RTMRs. Real logs hold 20 to 100 (firmware, shim,
 * GRUB's commands, the attestation agent's entries); every event becomes a claim, signed
 * into the token, so a guest that extends its own RTMRs thousands of times to match a huge
 * log must not make every token and stored result that large.
 */
export const MAX_TD_EVENTS = 1024;

export interface RtmrEvent {
  event: Event;
  /** 0..3 */
  rtmr: number;
  /** The SHA-384 digest extended. */
  digest: Uint8Array;
}

/** The events that extend an RTMR, in log order. Throws EventLogError for an event a TD log cannot hold. */
export function rtmrEvents(log: ParsedLog): RtmrEvent[] {
  if (log.algorithms.get(TPM_ALG_SHA384) !== 48) throw new EventLogError('the spec ID event does not declare SHA-384 (algorithm 0x000c, 48 bytes), the digest TDX RTMRs extend');
  const out: RtmrEvent[] = [];
  log.events.forEach((event, i) => {
    if (event.eventType === EV.NO_ACTION) return;
    const n = i + 1;
    if (event.mrIndex < 1 || event.mrIndex > 4) {
      throw new EventLogError(`event ${n} (type 0x${event.eventType.toString(16)}) targets MR index ${event.mrIndex}; a TD extends RTMR0..3 (index 1..4) only`);
    }
    const sha384 = event.digests.filter((d) => d.algId === TPM_ALG_SHA384);
    if (sha384.length !== 1) throw new EventLogError(`event ${n} carries ${sha384.length} SHA-384 digests, expected exactly 1`);
    out.push({ event, rtmr: event.mrIndex - 1, digest: sha384[0]!.digest });
  });
  if (out.length > MAX_TD_EVENTS) throw new EventLogError(`the log extends ${out.length} events, more than the ${MAX_TD_EVENTS} this verifier accepts`);
  return out;
}

export function replayRtmrs(log: ParsedLog): Uint8Array[] {
  const rtmrs = [0, 1, 2, 3].map(() => new Uint8Array(48));
  for (const { rtmr, digest } of rtmrEvents(log)) {
    rtmrs[rtmr] = new Uint8Array(createHash('sha384').update(rtmrs[rtmr]!).update(digest).digest());
  }
  return rtmrs;
}
