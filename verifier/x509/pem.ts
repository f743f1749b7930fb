// DER or PEM in, DER blocks out. Evidence and collateral arrive in both encodings (Intel
// ships PEM chains with a trailing NUL; AMD KDS serves DER and PEM), so every reader of
// certificates and CRLs goes through here.

import { EvidenceFormatError } from '../errors.ts';

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** True when the bytes look like PEM text rather than DER (DER starts with a SEQUENCE tag). */
export function looksLikePem(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes[0] !== 0x30;
}

/** Every PEM block of the given label (e.g. CERTIFICATE, X509 CRL), decoded, in order. */
export function pemBlocks(text: string, label: string): Buffer[] {
  const out: Buffer[] = [];
  for (const m of text.matchAll(PEM_BLOCK)) {
    if (m[1] !== label) continue;
    const body = (m[2] ?? '').replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length === 0) {
      throw new EvidenceFormatError('pem_malformed', `A PEM ${label} block is not valid base64.`);
    }
    out.push(Buffer.from(body, 'base64'));
  }
  return out;
}

/**
 * DER blocks of `label` from bytes that are either one DER object or PEM text with one or
 * more blocks. `what` names the input in error messages ("VCEK certificate", "PCK CRL").
 */
export function derBlocks(input: Uint8Array | string, label: string, what: string): Buffer[] {
  if (typeof input !== 'string' && !looksLikePem(input)) return [Buffer.from(input)];
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('latin1');
  const blocks = pemBlocks(text, label);
  if (blocks.length === 0) {
    throw new EvidenceFormatError('pem_malformed', `The ${what} is neither DER nor PEM with a ${label} block.`);
  }
  return blocks;
}

/** Exactly one DER object of `label` (DER, or PEM with one block). */
export function derSingle(input: Uint8Array | string, label: string, what: string): Buffer {
  const blocks = derBlocks(input, label, what);
  if (blocks.length !== 1) {
    throw new EvidenceFormatError('pem_malformed', `Expected one ${what}, found ${blocks.length} PEM blocks.`);
  }
  return blocks[0]!;
}
