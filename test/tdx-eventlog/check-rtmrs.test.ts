import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseEventLog } from '../../verifier/tdx/eventlog/abi.ts';
import { checkRtmrs } from '../../verifier/tdx/eventlog/check-rtmrs.ts';
import { replayRtmrs } from '../../verifier/tdx/eventlog/replay.ts';

const dir = new URL('../fixtures/tdx-ccel/', import.meta.url);
const gcp = JSON.parse(readFileSync(new URL('case.json', dir), 'utf8')).cases.CCEL_data_gcp.rtmr as string[];
const raw = new Uint8Array(readFileSync(new URL('CCEL_data_gcp', dir)));
const given = gcp.map((h) => new Uint8Array(Buffer.from(h, 'hex')));

describe('RTMR comparison', () => {
  it('passes every register for the gcp vector', () => {
    expect(checkRtmrs(replayRtmrs(parseEventLog(raw)), given).every((c) => c.ok)).toBe(true);
  });
  it('names RTMR0 with calculated and given values for the case.json negative', () => {
    const bad = given.map((g) => g.slice());
    bad[0]![47] = 0x4d;
    const failed = checkRtmrs(replayRtmrs(parseEventLog(raw)), bad).filter((c) => !c.ok);
    expect(failed.map((c) => c.id)).toEqual(['tdx.eventlog.rtmr0']);
    expect(failed[0]!.expected).toBe(gcp[0]);
    expect(String(failed[0]!.found).endsWith('b304d')).toBe(true);
  });
  it('every SHA-384 digest byte flipped changes the replay of its register', () => {
    const log = parseEventLog(raw);
    let flipped = 0;
    for (const ev of log.events) {
      if (ev.mrIndex < 1 || ev.mrIndex > 4) continue;
      for (const d of ev.digests.filter((x) => x.algId === 0x000c)) {
        for (let b = 0; b < d.digest.length; b++) {
          d.digest[b]! ^= 0x01;
          const failed = checkRtmrs(replayRtmrs(log), given).filter((c) => !c.ok);
          expect(failed.map((c) => c.id)).toEqual([`tdx.eventlog.rtmr${ev.mrIndex - 1}`]);
          d.digest[b]! ^= 0x01;
          flipped++;
        }
      }
    }
    expect(flipped).toBeGreaterThan(0);
  });
});
