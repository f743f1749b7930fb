// Replaying the log to RTMR[0..3]: CCEL MR index 1..4 is RTMR 0..3, index 0 is MRTD
// (Intel TDX Guest-Hypervisor Communication Interface, "TD Measurement"; UEFI 2.10
// EFI_CC_MEASUREMENT_PROTOCOL MapPcrToMrIndex). Each extend is SHA-384(RTMR || digest),
// as trustee deps/eventlog/src/lib.rs replay() does.
import { createHash } from 'node:crypto';
import type { ParsedLog } from './abi.ts';

const TPM_ALG_SHA384 = 0x000c;

export function replayRtmrs(log: ParsedLog): Uint8Array[] {
  const rtmrs = [0, 1, 2, 3].map(() => new Uint8Array(48));
  for (const ev of log.events) {
    if (ev.mrIndex < 1 || ev.mrIndex > 4) continue;
    const d = ev.digests.find((x) => x.algId === TPM_ALG_SHA384);
    if (d === undefined) continue;
    const i = ev.mrIndex - 1;
    rtmrs[i] = new Uint8Array(createHash('sha384').update(rtmrs[i]!).update(d.digest).digest());
  }
  return rtmrs;
}
