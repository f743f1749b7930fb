import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EventLogError, parseEventLog } from '../../verifier/tdx/eventlog/abi.ts';
import { replayRtmrs } from '../../verifier/tdx/eventlog/replay.ts';

const dir = new URL('../fixtures/tdx-ccel/', import.meta.url);
const cases = JSON.parse(readFileSync(new URL('case.json', dir), 'utf8')).cases as Record<string, { rtmr?: string[] }>;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('CCEL replay', () => {
  for (const [name, c] of Object.entries(cases)) {
    if (c.rtmr === undefined) continue;
    it(`${name} replays to the RTMRs trustee asserts`, () => {
      const log = parseEventLog(new Uint8Array(readFileSync(new URL(name, dir))));
      expect(replayRtmrs(log).map(hex)).toEqual(c.rtmr);
    });
  }
  it('rejects a truncated log with a precise error', () => {
    const buf = new Uint8Array(readFileSync(new URL('CCEL_data_ovmf', dir))).subarray(0, 40);
    expect(() => parseEventLog(buf)).toThrow(EventLogError);
  });
  it('rejects an event size that runs past the log, naming the offset and sizes', () => {
    const buf = new Uint8Array(readFileSync(new URL('CCEL_data_ovmf', dir)));
    // The spec ID event size sits at offset 28; claim more bytes than the log holds.
    new DataView(buf.buffer, buf.byteOffset).setUint32(28, buf.length, true);
    expect(() => parseEventLog(buf)).toThrow(`spec ID event at offset 32 needs ${buf.length} bytes, ${buf.length - 32} remain`);
  });
  it('rejects a log cut inside an event header, and accepts padding after the last event', () => {
    const buf = new Uint8Array(readFileSync(new URL('CCEL_data_ovmf', dir)));
    expect(() => parseEventLog(buf.subarray(0, 300))).toThrow('event 3 at offset 297 is cut off: 3 bytes remain of its header');
    const log = parseEventLog(buf);
    const padded = new Uint8Array(log.end + 5).fill(0xff);
    padded.set(buf.subarray(0, log.end));
    expect(parseEventLog(padded).events).toHaveLength(log.events.length);
  });
});
