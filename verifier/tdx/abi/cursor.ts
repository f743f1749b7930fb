// A bounded little-endian reader over quote bytes: every read past the end becomes an
// EvidenceFormatError with the caller's code and the name of the field, never a RangeError.

import { EvidenceFormatError } from '../../errors.ts';

export class Cursor {
  private pos: number;
  constructor(
    private readonly buf: Buffer,
    private readonly code: string,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  bytes(length: number, field: string): Buffer {
    if (length > this.end - this.pos) {
      throw new EvidenceFormatError(
        this.code,
        `The quote ends inside ${field}: ${length} bytes needed at offset ${this.pos}, ${this.end - this.pos} left.`,
      );
    }
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  u16(field: string): number {
    return this.bytes(2, field).readUInt16LE(0);
  }

  u32(field: string): number {
    return this.bytes(4, field).readUInt32LE(0);
  }
}
