// A minimal DER writer (ITU-T X.690 section 10) for the few vendor extension values the
// simulator mints: AMD's VCEK extensions and Intel's SGX extension are small trees of
// SEQUENCE, OBJECT IDENTIFIER, INTEGER, OCTET STRING, ENUMERATED, BOOLEAN and IA5String.
// Certificates themselves are built by @peculiar/x509; only these values are written here.

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, value: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), length(value.length), value]);
}

/** Non-negative INTEGER in minimal two's complement (a leading 0x00 when the high bit is set). */
function unsignedContents(n: number | bigint): Buffer {
  let v = BigInt(n);
  if (v < 0n) throw new RangeError('DER integers written by the simulator are non-negative');
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  } while (v > 0n);
  if ((bytes[0]! & 0x80) !== 0) bytes.unshift(0);
  return Buffer.from(bytes);
}

export const der = {
  sequence: (...items: Uint8Array[]): Buffer => tlv(0x30, Buffer.concat(items)),
  integer: (n: number | bigint): Buffer => tlv(0x02, unsignedContents(n)),
  enumerated: (n: number): Buffer => tlv(0x0a, unsignedContents(n)),
  boolean: (b: boolean): Buffer => tlv(0x01, Buffer.from([b ? 0xff : 0x00])),
  octetString: (bytes: Uint8Array): Buffer => tlv(0x04, bytes),
  ia5String: (s: string): Buffer => tlv(0x16, Buffer.from(s, 'ascii')),
  oid(dotted: string): Buffer {
    const arcs = dotted.split('.').map((a) => BigInt(a));
    const [first, second, ...rest] = arcs;
    if (first === undefined || second === undefined) throw new RangeError(`bad OID ${dotted}`);
    const out: number[] = [];
    for (const arc of [first * 40n + second, ...rest]) {
      const base128: number[] = [Number(arc & 0x7fn)];
      for (let v = arc >> 7n; v > 0n; v >>= 7n) base128.unshift(Number(v & 0x7fn) | 0x80);
      out.push(...base128);
    }
    return tlv(0x06, Buffer.from(out));
  },
};
