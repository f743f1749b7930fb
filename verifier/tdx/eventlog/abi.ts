// TCG PC Client crypto-agile event log (TCG PC Client Platform Firmware Profile, sections
// 10.2.1 TCG_PCClientPCREvent and 10.2.2 TCG_PCR_EVENT2), as the TDX CCEL table carries it.
// Every read is bounds-checked: a length that runs past the buffer is a precise error.

export interface Digest { algId: number; digest: Uint8Array }
export interface Event { mrIndex: number; eventType: number; digests: Digest[]; event: Uint8Array }
export interface ParsedLog {
  algorithms: Map<number, number>;
  events: Event[];
  /** The offset after the last event: what follows is the table's padding. */
  end: number;
}

export class EventLogError extends Error {}

const EV_NO_ACTION = 3;

export function parseEventLog(buf: Uint8Array): ParsedLog {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  const need = (n: number, what: string): void => {
    if (off + n > buf.length) throw new EventLogError(`${what} at offset ${off} needs ${n} bytes, ${buf.length - off} remain`);
  };
  const u32 = (what: string): number => { need(4, what); const v = view.getUint32(off, true); off += 4; return v; };
  const u16 = (what: string): number => { need(2, what); const v = view.getUint16(off, true); off += 2; return v; };
  const bytes = (n: number, what: string): Uint8Array => { need(n, what); const b = buf.subarray(off, off + n); off += n; return b; };

  // The first event is the SHA-1 format Spec ID event; it names the digest sizes of the rest.
  u32('spec ID mrIndex');
  const type0 = u32('spec ID event type');
  if (type0 !== EV_NO_ACTION) throw new EventLogError(`first event type is ${type0}, expected EV_NO_ACTION (3)`);
  bytes(20, 'spec ID SHA-1 digest');
  const size0 = u32('spec ID event size');
  const spec = bytes(size0, 'spec ID event');
  const sig = new TextDecoder().decode(spec.subarray(0, 16));
  if (spec.length < 28 || sig !== 'Spec ID Event03\0') throw new EventLogError('spec ID event signature is not "Spec ID Event03"');
  const sv = new DataView(spec.buffer, spec.byteOffset, spec.byteLength);
  const n = sv.getUint32(24, true);
  if (28 + n * 4 > spec.length) throw new EventLogError(`spec ID event lists ${n} algorithms but is ${spec.length} bytes`);
  const algorithms = new Map<number, number>();
  for (let i = 0; i < n; i++) algorithms.set(sv.getUint16(28 + i * 4, true), sv.getUint16(30 + i * 4, true));

  const events: Event[] = [];
  while (off + 8 <= buf.length) {
    const mrIndex = view.getUint32(off, true);
    const eventType = view.getUint32(off + 4, true);
    // The CCEL table is padded after the last event (0xFF or zero fill): that ends the log.
    if (mrIndex === 0xffffffff || eventType === 0xffffffff || (mrIndex === 0 && eventType === 0)) break;
    off += 8;
    const count = u32('digest count');
    if (count > algorithms.size) throw new EventLogError(`event ${events.length + 1} has ${count} digests, the log declares ${algorithms.size} algorithms`);
    const digests: Digest[] = [];
    for (let i = 0; i < count; i++) {
      const algId = u16('digest algorithm');
      const size = algorithms.get(algId);
      if (size === undefined) throw new EventLogError(`event ${events.length + 1} uses algorithm 0x${algId.toString(16)} the spec ID event does not declare`);
      digests.push({ algId, digest: bytes(size, 'digest') });
    }
    const eventSize = u32('event size');
    events.push({ mrIndex, eventType, digests, event: bytes(eventSize, 'event data') });
  }
  // Fewer than 8 bytes left: padding, or the start of an event header cut off.
  if (buf.length - off < 8 && buf.subarray(off).some((b) => b !== 0xff && b !== 0)) {
    throw new EventLogError(`event ${events.length + 1} at offset ${off} is cut off: ${buf.length - off} bytes remain of its header`);
  }
  return { algorithms, events, end: off };
}
