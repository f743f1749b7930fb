// Comparing the replayed RTMRs with the quote's: one named check per register, so a denial
// says which register differs, with the calculated and the given value.
import { timingSafeEqual } from 'node:crypto';
import type { Check } from '../../result.ts';
import { fail, pass } from '../check.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export function checkRtmrs(replayed: Uint8Array[], given: Uint8Array[]): Check[] {
  return [0, 1, 2, 3].map((i) => {
    const id = `tdx.eventlog.rtmr${i}`;
    const r = replayed[i]!;
    const g = given[i];
    if (g !== undefined && g.length === r.length && timingSafeEqual(r, g)) {
      return pass(id, `RTMR[${i}] equals the event log replay`);
    }
    return fail(id, `RTMR[${i}] in the quote is not what the event log replays to: calculated ${hex(r)}, given ${g === undefined ? 'none' : hex(g)}`, hex(r), g === undefined ? null : hex(g));
  });
}
