// The event log through the verifier: a simulator-built TD quote whose RTMRs are the values
// trustee asserts for each real log (no real quote pairs with these logs), verified with the
// log beside it; the trustee negative; a log that does not parse; an absent log.
import { beforeAll, describe, expect, it } from 'vitest';
import { failedChecks, type VerificationResult } from '../../verifier/result.ts';
import { verifyEvidence, verifyPrepared, prepareEvidence } from '../../verifier/verify-evidence.ts';
import type { PreparedIntelEvidence } from '../../verifier/tdx/verify-evidence.ts';
import type { VerifyOptions } from '../../verifier/evidence.ts';
import { createSimulatorChain, type SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { simulatorAnchors, simulatorCollateralSource } from '../../verifier/testing/simulator-anchors.ts';
import { buildTdxQuote } from '../../verifier/testing/tdx-quote-builder.ts';
import { buildEventLog, replayLogEvents, simulatorEventLog } from '../../verifier/testing/eventlog-builder.ts';
import { EV } from '../../verifier/tdx/eventlog/event-types.ts';
import { MAX_TD_EVENTS } from '../../verifier/tdx/eventlog/replay.ts';
import { CCEL_CASES, hexBytes } from './vectors.ts';

const NOW = new Date('2026-03-01T12:00:00Z');
let chain: SimulatorChain;
let options: VerifyOptions;
beforeAll(async () => {
  chain = await createSimulatorChain({ now: NOW, rsaBits: 2048 });
  options = { at: NOW, anchors: simulatorAnchors(chain), collateral: simulatorCollateralSource(chain), crl: 'require' };
});

const failedIds = (r: Pick<VerificationResult, 'checks'>): string[] => failedChecks(r).map((c) => c.id);
const quoteWith = (rtmr: Uint8Array[]) => buildTdxQuote(chain, { reportData: Buffer.alloc(64, 7), rtmr: rtmr as [Uint8Array, Uint8Array, Uint8Array, Uint8Array] }).quote;
const replayable = CCEL_CASES.filter((c) => c.rtmr !== undefined);

describe('TDX evidence with an event log', () => {
  for (const c of replayable) {
    it(`${c.name}: verifies against a quote carrying the RTMRs trustee asserts, events in the claims`, async () => {
      const r = await verifyEvidence({ tee: 'tdx', quote: quoteWith(c.rtmr!.map(hexBytes)), eventLog: c.log }, options);
      expect(failedIds(r)).toEqual([]);
      expect(r.checks.filter((x) => x.id.startsWith('tdx.eventlog.')).map((x) => x.id)).toEqual(['tdx.eventlog.format', 'tdx.eventlog.rtmr0', 'tdx.eventlog.rtmr1', 'tdx.eventlog.rtmr2', 'tdx.eventlog.rtmr3']);
      const claims = r.claims!.tdx!.eventLog as { rtmr: { type: string; digest: string }[][] };
      expect(claims.rtmr).toHaveLength(4);
      expect(claims.rtmr.flat().length).toBeGreaterThan(10);
      expect(claims.rtmr.flat().every((e) => /^[0-9a-f]{96}$/.test(e.digest) && e.type !== 'EV_NO_ACTION')).toBe(true);
      // The claims are plain JSON (they are signed into tokens and read by CEL).
      expect(JSON.parse(JSON.stringify(r.claims))).toEqual(r.claims);
    });
  }

  it('names RTMR0 with the calculated and the given value for trustee’s negative (gcp, ...b304d)', async () => {
    const gcp = replayable.find((c) => c.name === 'CCEL_data_gcp')!;
    const given = gcp.rtmr!.map(hexBytes);
    given[0]![47] = 0x4d;
    const r = await verifyEvidence({ tee: 'tdx', quote: quoteWith(given), eventLog: gcp.log }, options);
    expect(r.verified).toBe(false);
    expect(failedIds(r)).toEqual(['tdx.eventlog.rtmr0']);
    const failed = failedChecks(r)[0]!;
    expect(failed.expected).toBe(gcp.rtmr![0]);
    expect(failed.found).toBe(`${gcp.rtmr![0]!.slice(0, -2)}4d`);
    expect(failed.detail).toContain(`calculated ${gcp.rtmr![0]}`);
  });

  it('a log that does not parse is a denial naming tdx.eventlog.format, not a malformed-evidence error', async () => {
    const gcp = replayable.find((c) => c.name === 'CCEL_data_gcp')!;
    const r = await verifyEvidence({ tee: 'tdx', quote: quoteWith(gcp.rtmr!.map(hexBytes)), eventLog: gcp.log.subarray(0, 100) }, options);
    expect(r.verified).toBe(false);
    expect(failedIds(r)).toEqual(['tdx.eventlog.format']);
    expect(failedChecks(r)[0]!.detail).toMatch(/needs \d+ bytes/);
    expect(r.claims!.tdx!.eventLog).toBeUndefined();
  });

  it('without a log there are no event-log checks and no eventLog claims', async () => {
    const r = await verifyEvidence({ tee: 'tdx', quote: quoteWith([0, 1, 2, 3].map(() => new Uint8Array(48))) }, options);
    expect(r.verified).toBe(true);
    expect(r.checks.some((c) => c.id.startsWith('tdx.eventlog'))).toBe(false);
    expect(r.claims!.tdx!.eventLog).toBeUndefined();
  });

  it('does not extend EV_NO_ACTION events, wherever they point (TCG PFP 10.4.1)', async () => {
    const events = [
      { mrIndex: 1, type: EV.EFI_ACTION, data: Buffer.from('one') },
      { mrIndex: 1, type: EV.NO_ACTION, data: Buffer.from('informational') },
      { mrIndex: 3, type: EV.EFI_ACTION, data: Buffer.from('two') },
    ];
    const rtmr = replayLogEvents(events.filter((e) => e.type !== EV.NO_ACTION));
    const r = await verifyEvidence({ tee: 'tdx', quote: quoteWith(rtmr), eventLog: buildEventLog(events, 16) }, options);
    expect(failedIds(r)).toEqual([]);
    const claims = r.claims!.tdx!.eventLog as { rtmr: { string?: string }[][] };
    expect(claims.rtmr.map((l) => l.map((e) => e.string))).toEqual([['one'], [], ['two'], []]);
  });

  it('refuses a log whose event skips the replay (no SHA-384 digest, or an MR index a TD has not)', async () => {
    const rtmr = [0, 1, 2, 3].map(() => new Uint8Array(48));
    for (const [mrIndex, why] of [[0, /MR index 0/], [5, /MR index 5/]] as const) {
      const r = await verifyEvidence({ tee: 'tdx', quote: quoteWith(rtmr), eventLog: buildEventLog([{ mrIndex, type: EV.EFI_ACTION, data: Buffer.from('hidden') }]) }, options);
      expect(failedIds(r)).toEqual(['tdx.eventlog.format']);
      expect(failedChecks(r)[0]!.detail).toMatch(why);
    }
  });

  it('refuses a log of more events than a token should carry', async () => {
    const events = Array.from({ length: MAX_TD_EVENTS + 1 }, (_, i) => ({ mrIndex: 4, type: EV.EFI_ACTION, data: Buffer.from(`e${i}`) }));
    const r = await verifyEvidence({ tee: 'tdx', quote: quoteWith(replayLogEvents(events)), eventLog: buildEventLog(events) }, options);
    expect(failedIds(r)).toEqual(['tdx.eventlog.format']);
    expect(failedChecks(r)[0]!.detail).toContain(`more than the ${MAX_TD_EVENTS}`);
    const fits = events.slice(0, MAX_TD_EVENTS);
    expect((await verifyEvidence({ tee: 'tdx', quote: quoteWith(replayLogEvents(fits)), eventLog: buildEventLog(fits) }, options)).verified).toBe(true);
  });

  it('the simulator’s own log replays to the RTMRs it puts in its quote', async () => {
    const sim = simulatorEventLog();
    const r = await verifyEvidence({ tee: 'tdx', quote: quoteWith(sim.rtmr), eventLog: sim.eventLog }, options);
    expect(failedIds(r)).toEqual([]);
  });
});

describe('digest mutation sweep through the verifier', () => {
  // Every byte of every extended event's SHA-384 digest, in every real log, flipped: the
  // evidence is refused, naming exactly the register that event extends.
  for (const c of replayable) {
    it(`${c.name}: every digest byte flipped is refused with tdx.eventlog.rtmr<i>`, async () => {
      const prepared = (await prepareEvidence({ tee: 'tdx', quote: quoteWith(c.rtmr!.map(hexBytes)), eventLog: c.log }, options)) as PreparedIntelEvidence;
      expect(verifyPrepared(prepared, options.anchors).verified).toBe(true);
      const log = Buffer.from(c.log);
      const view = new DataView(log.buffer, log.byteOffset, log.byteLength);
      // Walk the records: after the Spec ID event, each is mrIndex, type, count, digests, size, data.
      let off = 32 + view.getUint32(28, true);
      let flipped = 0;
      while (off + 8 <= log.length) {
        const mr = view.getUint32(off, true);
        const type = view.getUint32(off + 4, true);
        if (mr === 0xffffffff || (mr === 0 && type === 0)) break;
        const count = view.getUint32(off + 8, true);
        let p = off + 12;
        for (let k = 0; k < count; k++) {
          expect(view.getUint16(p, true)).toBe(0x000c);
          for (let b = p + 2; b < p + 50; b++) {
            log[b]! ^= 0x80;
            const r = verifyPrepared({ ...prepared, eventLog: log }, options.anchors);
            log[b]! ^= 0x80;
            // EV_NO_ACTION (GKE, MR index 0) is not extended: flipping its digest changes nothing.
            expect(r.verified).toBe(type === EV.NO_ACTION);
            expect(failedIds(r)).toEqual(type === EV.NO_ACTION ? [] : [`tdx.eventlog.rtmr${mr - 1}`]);
            flipped++;
          }
          p += 50;
        }
        off = p + 4 + view.getUint32(p, true);
      }
      expect(flipped).toBeGreaterThan(48 * 15);
    }, 60_000);
  }
});
