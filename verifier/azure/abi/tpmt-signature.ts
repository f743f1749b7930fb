// The TPM quote's signature, as agents send it: either the bare RSASSA signature (as the CoCo
// attestation-agent does, az-cvm-vtpm Quote.signature), or the TPMT_SIGNATURE that
// TPM2_Quote returns (TPM 2.0 Library Part 2, "TPMT_SIGNATURE", "TPMS_SIGNATURE_RSA";
// tpm2_quote -s writes this by default): sigAlg u16, hash u16, TPM2B_PUBLIC_KEY_RSA, big-endian.
// Only RSASSA-PKCS1-v1_5 with SHA-256 is accepted: what the Azure vTPM AK signs with.

const TPM_ALG_RSASSA = 0x0014;
const TPM_ALG_SHA256 = 0x000b;
const ALG_NAMES: Record<number, string> = { 0x0014: 'RSASSA', 0x0016: 'RSAPSS', 0x0018: 'ECDSA', 0x001a: 'ECDAA', 0x001b: 'SM2', 0x001c: 'ECSCHNORR', 0x0010: 'NULL', 0x0004: 'SHA1', 0x000b: 'SHA256', 0x000c: 'SHA384', 0x000d: 'SHA512' };
const name = (alg: number): string => ALG_NAMES[alg] ?? `0x${alg.toString(16).padStart(4, '0')}`;

export type TpmSignatureParse = { ok: true; signature: Uint8Array; form: 'raw' | 'tpmt' } | { ok: false; detail: string; expected: unknown; found: unknown };

/** The RSA signature bytes, for a key of `modulusBytes`; anything else is a refusal that says why. */
export function parseTpmSignature(bytes: Uint8Array, modulusBytes: number): TpmSignatureParse {
  if (bytes.length === modulusBytes) return { ok: true, signature: bytes, form: 'raw' };
  if (bytes.length < 6) {
    return { ok: false, detail: `The TPM quote signature is ${bytes.length} bytes: neither a ${modulusBytes}-byte RSA signature nor a TPMT_SIGNATURE.`, expected: `${modulusBytes} or ${modulusBytes + 6} bytes`, found: bytes.length };
  }
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sigAlg = b.readUInt16BE(0);
  const hash = b.readUInt16BE(2);
  const size = b.readUInt16BE(4);
  if (sigAlg !== TPM_ALG_RSASSA || hash !== TPM_ALG_SHA256) {
    return { ok: false, detail: `The TPMT_SIGNATURE is ${name(sigAlg)} with ${name(hash)}; only RSASSA with SHA256 is accepted.`, expected: 'RSASSA/SHA256', found: `${name(sigAlg)}/${name(hash)}` };
  }
  if (size !== modulusBytes || b.length !== 6 + size) {
    return { ok: false, detail: `The TPMT_SIGNATURE holds ${size} signature bytes in ${b.length - 6}; the AK needs exactly ${modulusBytes}.`, expected: modulusBytes, found: { size, available: b.length - 6 } };
  }
  return { ok: true, signature: new Uint8Array(b.subarray(6)), form: 'tpmt' };
}
