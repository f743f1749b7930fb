// Corruption sweeps: every byte of a quote (header, body, signature data, QE report, QE
// authentication data, certification data) and of each collateral document's signed bytes
// is flipped in turn; each mutant must be rejected (EvidenceFormatError or verified=false
// with the check that guards that region failing). Trailing padding, which no signature
// covers, is the one region whose corruption must change nothing.

import { describe, expect, it } from 'vitest';
import { EvidenceFormatError } from '../../verifier/errors.ts';
import type { IntelCollateral } from '../../verifier/evidence.ts';
import type { VerificationResult } from '../../verifier/result.ts';
import { parseIntelQuote } from '../../verifier/tdx/abi/quote.ts';
import { verifyIntelQuote } from '../../verifier/tdx/verify-evidence.ts';
import { byName, type IntelCase } from './cases.ts';

type Outcome = { kind: 'format'; code: string } | { kind: 'result'; result: VerificationResult };

function attempt(quote: Uint8Array, collateral: IntelCollateral, at: Date): Outcome {
  try {
    return { kind: 'result', result: verifyIntelQuote(quote, collateral, { at }) };
  } catch (err) {
    if (err instanceof EvidenceFormatError) return { kind: 'format', code: err.code };
    throw err;
  }
}

const failedIds = (r: VerificationResult): string[] => r.checks.filter((c) => !c.ok).map((c) => c.id);

interface Region {
  name: string;
  start: number;
  end: number;
  /** Checks of which at least one must fail when the mutant parses; 'format' = it must not parse. */
  guards: string[] | 'format';
}

/** The byte regions of a quote, from the parser's own views into the buffer. */
function regions(c: IntelCase): Region[] {
  const q = parseIntelQuote(c.quote);
  const base = q.signedBytes.byteOffset; // the parser's own copy: the signed bytes start the quote
  const off = (b: Buffer) => b.byteOffset - base;
  const p = c.tee;
  const cert = q.certification;
  const sigStart = q.signedBytes.length + 4;
  const pemStart = c.quote.indexOf('-----BEGIN CERTIFICATE-----');
  const out: Region[] = [
    { name: 'header version / key type / TEE type', start: 0, end: 8, guards: 'format' },
    { name: 'header rest', start: 8, end: 48, guards: [`${p}.quote.signature`] },
    { name: 'body', start: 48, end: q.signedBytes.length, guards: [`${p}.quote.signature`] },
    { name: 'signature data size', start: q.signedBytes.length, end: sigStart, guards: 'format' },
    { name: 'quote signature', start: sigStart, end: sigStart + 64, guards: [`${p}.quote.signature`] },
    { name: 'attestation key', start: sigStart + 64, end: sigStart + 128, guards: [`${p}.quote.signature`, `${p}.qe-report.binding`] },
    { name: 'QE report', start: off(cert.qeReport.raw), end: off(cert.qeReport.raw) + 384, guards: [`${p}.qe-report.signature`] },
    { name: 'QE report signature', start: off(cert.qeReportSignature), end: off(cert.qeReportSignature) + 64, guards: [`${p}.qe-report.signature`] },
    { name: 'QE auth data size', start: off(cert.qeAuthData) - 2, end: off(cert.qeAuthData), guards: 'format' },
    { name: 'QE auth data', start: off(cert.qeAuthData), end: off(cert.qeAuthData) + cert.qeAuthData.length, guards: [`${p}.qe-report.binding`] },
    { name: 'certification data header', start: pemStart - 6, end: pemStart, guards: 'format' },
    { name: 'PCK chain (PEM)', start: pemStart, end: q.length, guards: 'format' },
  ];
  if (q.header.version === 5) out.splice(2, 0, { name: 'body descriptor', start: 48, end: 54, guards: 'format' });
  if (q.header.version === 5) out[3]!.start = 54;
  if (q.header.version !== 3) out.splice(out.length - 5, 0, { name: 'outer certification data header', start: sigStart + 128, end: sigStart + 134, guards: 'format' });
  return out;
}

const QUOTE_CASES = ['phala-b0c06f-v4-uptodate', 'gotdx-90c06f-v5-mixed-collateral', 'sgx-phala-00a067110000-v3-config-swhardening'];

describe.each(QUOTE_CASES)('every byte of the quote %s', (name) => {
  const c = byName(name);
  // The mixed case fails on its collateral already; the sweep asserts that the check
  // guarding each region fails in addition to those.
  const at = c.at;

  for (const region of regions(c)) {
    it(`${region.name} [${region.start}, ${region.end})`, () => {
      expect(region.end).toBeGreaterThan(region.start);
      const baseline = attempt(c.quote, c.collateral, at);
      if (baseline.kind !== 'result') throw new Error('baseline must parse');
      const baseFailed = new Set(failedIds(baseline.result));
      const mutant = Buffer.from(c.quote);
      for (let i = region.start; i < region.end; i++) {
        mutant[i] = c.quote[i]! ^ 0xff;
        const o = attempt(mutant, c.collateral, at);
        mutant[i] = c.quote[i]!;
        if (region.guards === 'format') {
          if (o.kind === 'result') throw new Error(`byte ${i}: expected a format error, the mutant parsed (failed: ${failedIds(o.result).join(', ')})`);
          continue;
        }
        if (o.kind === 'format') continue; // e.g. a flipped point that breaks parsing of a later field
        const newlyFailed = failedIds(o.result).filter((id) => !baseFailed.has(id));
        if (o.result.verified || !region.guards.some((g) => newlyFailed.includes(g))) {
          throw new Error(`byte ${i}: expected one of ${region.guards.join(', ')} to fail; failed: ${failedIds(o.result).join(', ') || 'none'}`);
        }
      }
    });
  }

  if (c.meta.quote.trailing_bytes > 0) {
    it('trailing padding: ignored, reported, never verified', () => {
      const q = parseIntelQuote(c.quote);
      const mutant = Buffer.from(c.quote);
      for (let i = q.length; i < mutant.length; i++) mutant[i] = c.quote[i]! ^ 0xff;
      const r = verifyIntelQuote(mutant, c.collateral, { at });
      expect(r.verified).toBe(true);
      expect(r.warnings[0]).toContain(`${c.meta.quote.trailing_bytes} bytes follow the quote's end`);
    });
  }
});

/** Flip every char of `text` in [start, end) with `xor`, expecting rejection with `guard` failing (or a format error). */
function sweepText(c: IntelCase, field: keyof IntelCollateral, start: number, end: number, xor: number, guard: string): number {
  const text = c.collateral[field] as string;
  let rejected = 0;
  for (let i = start; i < end; i++) {
    const mutated = text.slice(0, i) + String.fromCharCode(text.charCodeAt(i) ^ xor) + text.slice(i + 1);
    const o = attempt(c.quote, { ...c.collateral, [field]: mutated }, c.at);
    if (o.kind === 'result') {
      if (o.result.verified || !failedIds(o.result).includes(guard)) {
        throw new Error(`${String(field)} char ${i}: expected ${guard} to fail; failed: ${failedIds(o.result).join(', ') || 'none'}`);
      }
    }
    rejected++;
  }
  return rejected;
}

function sweepBytes(c: IntelCase, field: 'pckCrl' | 'rootCaCrl', guard: string): number {
  const bytes = c.collateral[field]!;
  let rejected = 0;
  for (let i = 0; i < bytes.length; i++) {
    const mutated = Buffer.from(bytes);
    mutated[i] = bytes[i]! ^ 0xff;
    const o = attempt(c.quote, { ...c.collateral, [field]: mutated }, c.at);
    if (o.kind === 'result' && (o.result.verified || !failedIds(o.result).includes(guard))) {
      throw new Error(`${field} byte ${i}: expected ${guard} to fail; failed: ${failedIds(o.result).join(', ') || 'none'}`);
    }
    rejected++;
  }
  return rejected;
}

/**
 * Another base64 character for `ch` (so the PEM still decodes, to different DER), or
 * undefined for what is not base64 data. Flipping 0xff, as above, only ever tests the PEM
 * reader; these reach the certificate parser and the signatures.
 */
function otherBase64(ch: string): string | undefined {
  if (/[A-Za-z]/.test(ch)) return ch === ch.toUpperCase() ? ch.toLowerCase() : ch.toUpperCase();
  if (/[0-9]/.test(ch)) return String.fromCharCode(ch.charCodeAt(0) ^ 1);
  if (ch === '+') return '/';
  if (ch === '/') return '+';
  return undefined;
}

/**
 * Positions (every `stride`-th) inside the base64 bodies of the PEM blocks of `text`, past
 * the first `from` characters; the last 4 characters of a body are left out (their unused
 * low bits may decode to the same bytes).
 */
function pemDataPositions(text: string, from: number, stride: number): number[] {
  const out: number[] = [];
  for (const m of text.slice(from).matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)) {
    const start = from + m.index + '-----BEGIN CERTIFICATE-----'.length;
    for (let i = start; i < start + m[1]!.length - 4; i += stride) if (otherBase64(text[i]!) !== undefined) out.push(i);
  }
  return out;
}

describe.each(['phala-b0c06f-v4-uptodate', 'sgx-phala-00a067110000-v3-config-swhardening'])('certificates in %s, altered to other valid base64', (name) => {
  const c = byName(name);

  it('the PCK chain in the quote (leaf, CA and the carried root): no altered copy verifies', { timeout: 120_000 }, () => {
    const text = Buffer.from(c.quote).toString('latin1');
    const positions = pemDataPositions(text, text.indexOf('-----BEGIN CERTIFICATE-----'), 3);
    expect(positions.length).toBeGreaterThan(1000);
    for (const i of positions) {
      const mutant = Buffer.from(c.quote);
      mutant[i] = otherBase64(text[i]!)!.charCodeAt(0);
      const o = attempt(mutant, c.collateral, c.at);
      if (o.kind === 'result' && o.result.verified) throw new Error(`quote byte ${i} altered to other base64, and it still verifies`);
    }
  });

  it('the TCB Info and QE Identity issuer chains: no altered copy verifies', { timeout: 120_000 }, () => {
    for (const field of ['tcbInfoIssuerChain', 'qeIdentityIssuerChain'] as const) {
      const text = c.collateral[field];
      const positions = pemDataPositions(text, 0, 5);
      expect(positions.length).toBeGreaterThan(300);
      for (const i of positions) {
        const mutated = text.slice(0, i) + otherBase64(text[i]!)! + text.slice(i + 1);
        const o = attempt(c.quote, { ...c.collateral, [field]: mutated }, c.at);
        if (o.kind === 'result' && o.result.verified) throw new Error(`${field} char ${i} altered to other base64, and it still verifies`);
      }
    }
  });
});

describe.each(['phala-b0c06f-v4-uptodate', 'sgx-phala-00a067110000-v3-config-swhardening'])('every byte of the collateral of %s', (name) => {
  const c = byName(name);
  const p = c.tee;

  it('TCB Info: the whole body, and each signature bit-flip', () => {
    const text = c.collateral.tcbInfo;
    expect(sweepText(c, 'tcbInfo', 0, text.length, 0xff, `${p}.collateral.tcb-info.signature`)).toBe(text.length);
    const sig = text.lastIndexOf('"signature":"') + 13;
    expect(sweepText(c, 'tcbInfo', sig, sig + 128, 0x01, `${p}.collateral.tcb-info.signature`)).toBe(128);
  });

  it('QE Identity: the whole body, and each signature bit-flip', () => {
    const text = c.collateral.qeIdentity;
    expect(sweepText(c, 'qeIdentity', 0, text.length, 0xff, `${p}.collateral.qe-identity.signature`)).toBe(text.length);
    const sig = text.lastIndexOf('"signature":"') + 13;
    expect(sweepText(c, 'qeIdentity', sig, sig + 128, 0x01, `${p}.collateral.qe-identity.signature`)).toBe(128);
  });

  it('issuer chains of the TCB Info and QE Identity (each certificate\'s encoded bytes)', () => {
    // Text between PEM blocks is not part of any certificate (and is signed by nothing).
    for (const [field, guard] of [
      ['tcbInfoIssuerChain', `${p}.collateral.tcb-info.chain`],
      ['qeIdentityIssuerChain', `${p}.collateral.qe-identity.chain`],
    ] as const) {
      const text = c.collateral[field];
      let swept = 0;
      for (const m of text.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)) {
        const start = m.index + '-----BEGIN CERTIFICATE-----'.length;
        swept += sweepText(c, field, start, start + m[1]!.length, 0xff, guard);
      }
      expect(swept).toBeGreaterThan(1000);
    }
  });

  // Every mutant CRL is a new parse (about 2,700 bytes and 44 entries for the Platform CA's):
  // the slowest sweep, given room on a loaded machine.
  it('PCK CRL and Root CA CRL', { timeout: 120_000 }, () => {
    expect(sweepBytes(c, 'pckCrl', `${p}.pck.crl`)).toBe(c.collateral.pckCrl!.length);
    expect(sweepBytes(c, 'rootCaCrl', `${p}.root-ca.crl`)).toBe(c.collateral.rootCaCrl!.length);
  });
});
