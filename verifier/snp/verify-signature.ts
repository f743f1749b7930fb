// The report signature: ECDSA P-384 with SHA-384 over bytes 000h-29Fh (SEV-SNP ABI spec
// (AMD 56860), table "ATTESTATION_REPORT Structure", SIGNATURE at 2A0h, and appendix
// "Digital Signatures", table "ECDSA P-384 with SHA-384 Signature": R at 00h and S at
// 48h, each 72 bytes, little-endian, zero-extended). node:crypto wants IEEE-P1363: R then
// S, 48 bytes each, big-endian. So each component is reversed, and its top 24 bytes (the
// zero extension) must be zero, else it is >= 2^384 and cannot be a valid P-384 scalar.

import { verify, type KeyObject } from 'node:crypto';
import type { Check } from '../result.ts';
import type { SnpReport } from './abi/report.ts';
import { SIGNATURE_COMPONENT_SIZE } from './abi/report.ts';

const P384_SCALAR = 48;

/** R||S big-endian (96 bytes), or a reason why the stored components cannot be a P-384 signature. */
export function signatureToP1363(r: Uint8Array, s: Uint8Array): Buffer | string {
  const out = Buffer.alloc(2 * P384_SCALAR);
  const parts: [Uint8Array, number, string][] = [
    [r, 0, 'R'],
    [s, P384_SCALAR, 'S'],
  ];
  for (const [le, at, name] of parts) {
    for (let i = P384_SCALAR; i < SIGNATURE_COMPONENT_SIZE; i++) {
      if (le[i] !== 0) return `signature ${name} has a non-zero byte at 0x${i.toString(16)} of its zero extension`;
    }
    for (let i = 0; i < P384_SCALAR; i++) out[at + i] = le[P384_SCALAR - 1 - i]!;
  }
  return out;
}

/** True when `key` is an EC P-384 public key. */
export function isP384(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'secp384r1';
}

/** The `snp.report.signature` check: the report verifies under the signer certificate's key. */
export function checkReportSignature(report: SnpReport, signerKey: KeyObject, signerName: string): Check {
  const id = 'snp.report.signature';
  if (report.keyInfo.signingKey === 'NONE') {
    return { id, ok: false, detail: 'The report is unsigned (KEY_INFO.SIGNING_KEY = 7, no key).', expected: 'VCEK or VLEK', found: 'none' };
  }
  // SNP_CONFIG MaskChipKey = 1: "the firmware writes zeroes into the SIGNATURE field instead
  // of signing the report" (SEV-SNP ABI spec §7.3). Said plainly instead of "does not verify".
  if (report.keyInfo.maskChipKey) {
    return {
      id,
      ok: false,
      detail: 'The report is unsigned: KEY_INFO.MASK_CHIP_KEY is set, so the firmware wrote zeros instead of a signature (the platform masks its chip key).',
      expected: 'MASK_CHIP_KEY clear and a signature',
      found: 'MASK_CHIP_KEY set',
    };
  }
  if (!isP384(signerKey)) {
    const found = signerKey.asymmetricKeyDetails?.namedCurve ?? signerKey.asymmetricKeyType ?? 'unknown';
    return { id, ok: false, detail: `The ${signerName} key is not an EC P-384 key, so it cannot have signed an SEV-SNP report.`, expected: 'secp384r1', found };
  }
  const sig = signatureToP1363(report.signatureR, report.signatureS);
  if (typeof sig === 'string') {
    return { id, ok: false, detail: `The report signature is malformed: ${sig}.`, expected: 'R and S below 2^384', found: sig };
  }
  let ok = false;
  try {
    ok = verify('sha384', report.signed, { key: signerKey, dsaEncoding: 'ieee-p1363' }, sig);
  } catch {
    ok = false;
  }
  return ok
    ? { id, ok, detail: `The report signature (ECDSA P-384, SHA-384 over bytes 0x000-0x29f) verifies with the ${signerName} key.` }
    : {
        id,
        ok,
        detail: `The report signature does not verify with the ${signerName} key: the report was altered or signed by another key.`,
        expected: `a signature by the ${signerName}`,
        found: 'signature mismatch',
      };
}
