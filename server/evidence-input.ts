// Evidence and TEE keys as they arrive over HTTP: JSON with base64 fields, turned into the
// verifier's Evidence type. Each way it can be wrong has its own problem code.

import { z } from '@hono/zod-openapi';
import { p256 } from '@noble/curves/nist.js';
import type { JWK } from 'jose';
import type { Evidence, IntelCollateral, SnpCertificates } from '../verifier/evidence.ts';
import type { Tee } from '../verifier/result.ts';
import { azureEvidenceFromJson } from '../verifier/azure/evidence-json.ts';
import { ApiError } from './problem.ts';

/** Standard base64 (padded) or base64url (unpadded); whitespace is not accepted. */
const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$|^[A-Za-z0-9_-]*$/;

const b64 = (what: string) => z.string().min(1).max(1_000_000).openapi({ description: `${what}, base64`, format: 'byte' });

export const snpCertificatesSchema = z
  .strictObject({
    vcek: b64('VCEK certificate (DER)').optional(),
    vlek: b64('VLEK certificate (DER)').optional(),
    ask: b64('ASK certificate (DER)').optional(),
    asvk: b64('ASVK certificate (DER)').optional(),
    ark: b64('ARK certificate (DER); informational, the pinned ARK is used').optional(),
  })
  .openapi('SnpCertificates');

export const intelCollateralSchema = z
  .strictObject({
    tcbInfo: z.string().min(1).max(1_000_000).openapi({ description: 'Intel PCS TCB Info body, exactly as served' }),
    tcbInfoIssuerChain: z.string().min(1).max(100_000),
    qeIdentity: z.string().min(1).max(1_000_000).openapi({ description: 'Intel PCS QE Identity body, exactly as served' }),
    qeIdentityIssuerChain: z.string().min(1).max(100_000),
    pckCrl: b64('PCK CRL (DER)').optional(),
    pckCrlIssuerChain: z.string().min(1).max(100_000).optional(),
    rootCaCrl: b64('Intel SGX Root CA CRL (DER)').optional(),
  })
  .openapi('IntelCollateral');

// Azure vTPM evidence as the CoCo attestation-agent sends it (verifier/azure/evidence-json.ts):
// byte fields are hex / base64url strings (v1, v2) or JSON byte arrays (v0).
const azureBytes = (what: string) =>
  z.union([z.string().min(1).max(1_000_000), z.array(z.number().int().min(0).max(255)).min(1).max(1_000_000)]).openapi({ description: `${what}: a string (hex in tpm_quote, else base64url) or an array of bytes` });
export const azureTpmQuoteSchema = z
  .strictObject({
    signature: azureBytes('RSASSA SHA-256 signature by the HCL attestation key (bare, or a TPMT_SIGNATURE)'),
    message: azureBytes('the TPMS_ATTEST the TPM signed'),
    pcrs: z.array(azureBytes('a sha256 PCR value')).min(1).max(64),
  })
  .openapi('AzureTpmQuote');

export const evidenceSchema = z
  .strictObject({
    report: z.union([b64('SEV-SNP ATTESTATION_REPORT (1184 bytes)'), azureBytes('az-snp-vtpm v0: the HCL report')]).optional(),
    quote: z.union([b64('TDX or SGX DCAP quote'), azureTpmQuoteSchema]).optional(),
    certificates: snpCertificatesSchema.optional(),
    crl: b64('AMD KDS CRL (DER)').optional(),
    collateral: intelCollateralSchema.optional(),
    version: z.number().int().min(1).max(2).optional().openapi({ description: 'Azure vTPM: the attestation-agent evidence version (absent for v0)' }),
    tpm_quote: azureTpmQuoteSchema.optional(),
    hcl_report: azureBytes('Azure vTPM: the HCL report from vTPM NV index 0x01400001').optional(),
    vcek: azureBytes('az-snp-vtpm: the VCEK (base64url DER, or PEM optionally followed by ASK and ARK)').optional(),
    td_quote: azureBytes('az-tdx-vtpm: the TD quote').optional(),
    eventLog: b64('TDX: the CC event log, as the guest reads it from /sys/firmware/acpi/tables/data/CCEL (trailing padding may be cut)').optional(),
  })
  .openapi('Evidence', {
    description:
      'SEV-SNP: report (+ certificates, crl). TDX/SGX: quote (+ collateral; TDX: + eventLog, replayed against the RTMRs). az-snp-vtpm / az-tdx-vtpm: the attestation-agent evidence {version, tpm_quote, hcl_report, vcek | td_quote} (v0: quote, report). Absent collateral comes from the cache.',
  });
export type EvidenceInput = z.infer<typeof evidenceSchema>;

export const teeSchema = z.enum(['sev-snp', 'tdx', 'sgx', 'az-snp-vtpm', 'az-tdx-vtpm']).openapi({ description: 'The TEE that produced the evidence' });

export const teePublicKeySchema = z
  .object({
    kty: z.string(),
    crv: z.string(),
    x: z.string(),
    y: z.string(),
  })
  .passthrough()
  .openapi('TeePublicKey', { description: 'The TEE key: a public EC P-256 JWK (no private part).' });

function decodeB64(text: string, field: string): Buffer {
  if (!B64_RE.test(text)) throw new ApiError(400, 'evidence_base64_invalid', `${field} is not valid base64.`, { field });
  const bytes = Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64');
  if (bytes.length === 0) throw new ApiError(400, 'evidence_base64_invalid', `${field} is empty.`, { field });
  return bytes;
}

const AZURE_FIELDS = ['version', 'tpm_quote', 'hcl_report', 'vcek', 'td_quote'] as const;

function toIntelCollateral(c: NonNullable<EvidenceInput['collateral']>): IntelCollateral {
  return {
    tcbInfo: c.tcbInfo,
    tcbInfoIssuerChain: c.tcbInfoIssuerChain,
    qeIdentity: c.qeIdentity,
    qeIdentityIssuerChain: c.qeIdentityIssuerChain,
    ...(c.pckCrl !== undefined ? { pckCrl: decodeB64(c.pckCrl, 'evidence.collateral.pckCrl') } : {}),
    ...(c.pckCrlIssuerChain !== undefined ? { pckCrlIssuerChain: c.pckCrlIssuerChain } : {}),
    ...(c.rootCaCrl !== undefined ? { rootCaCrl: decodeB64(c.rootCaCrl, 'evidence.collateral.rootCaCrl') } : {}),
  };
}

/** Azure vTPM evidence: the agent's JSON (EvidenceFormatError -> 400 with its code), plus a CRL or Intel collateral. */
function toAzureEvidence(tee: 'az-snp-vtpm' | 'az-tdx-vtpm', input: EvidenceInput): Evidence {
  const other = tee === 'az-snp-vtpm' ? input.collateral : input.crl ?? input.certificates;
  if (other !== undefined) throw new ApiError(400, 'evidence_invalid', `${tee} evidence takes ${tee === 'az-snp-vtpm' ? 'crl' : 'collateral'}, not ${tee === 'az-snp-vtpm' ? 'collateral' : 'crl or certificates'}.`);
  const { certificates, crl, collateral, ...agent } = input;
  const evidence = azureEvidenceFromJson(tee, agent);
  if (evidence.tee === 'az-snp-vtpm') {
    const certs: SnpCertificates = { ...(evidence.certificates ?? {}) };
    for (const [k, v] of Object.entries(certificates ?? {})) {
      if (v !== undefined) certs[k as keyof SnpCertificates] = decodeB64(v, `evidence.certificates.${k}`);
    }
    return { ...evidence, ...(Object.keys(certs).length > 0 ? { certificates: certs } : {}), ...(crl !== undefined ? { crl: decodeB64(crl, 'evidence.crl') } : {}) };
  }
  return { ...evidence, ...(collateral ? { collateral: toIntelCollateral(collateral) } : {}) };
}

/** Build the verifier's Evidence for `tee`, refusing fields that belong to the other TEE family. */
export function toEvidence(tee: Tee, input: EvidenceInput): Evidence {
  if (input.eventLog !== undefined && tee !== 'tdx') {
    throw new ApiError(400, 'evidence_invalid', `evidence.eventLog (the CC event log) comes with tdx evidence only, not ${tee}.`);
  }
  if (tee === 'az-snp-vtpm' || tee === 'az-tdx-vtpm') return toAzureEvidence(tee, input);
  const azure = AZURE_FIELDS.filter((k) => input[k] !== undefined);
  if (azure.length > 0 || (input.quote !== undefined && typeof input.quote !== 'string') || (input.report !== undefined && typeof input.report !== 'string')) {
    throw new ApiError(400, 'evidence_invalid', `${tee} evidence has no Azure vTPM fields (${[...azure, 'quote or report as an object or byte array'].join(', ')}): use tee az-snp-vtpm or az-tdx-vtpm.`);
  }
  if (tee === 'sev-snp') {
    if (input.quote !== undefined || input.collateral !== undefined) {
      throw new ApiError(400, 'evidence_invalid', 'SEV-SNP evidence has a report (and optional certificates and crl), not a quote or Intel collateral.');
    }
    if (input.report === undefined) throw new ApiError(400, 'evidence_missing', 'evidence.report (the SEV-SNP attestation report, base64) is required.');
    const certificates: SnpCertificates = {};
    for (const [k, v] of Object.entries(input.certificates ?? {})) {
      if (v !== undefined) certificates[k as keyof SnpCertificates] = decodeB64(v, `evidence.certificates.${k}`);
    }
    return {
      tee,
      report: decodeB64(input.report as string, 'evidence.report'),
      ...(input.certificates ? { certificates } : {}),
      ...(input.crl !== undefined ? { crl: decodeB64(input.crl, 'evidence.crl') } : {}),
    };
  }
  if (input.report !== undefined || input.certificates !== undefined || input.crl !== undefined) {
    throw new ApiError(400, 'evidence_invalid', `${tee.toUpperCase()} evidence has a quote (and optional collateral), not an SEV-SNP report or certificates.`);
  }
  if (input.quote === undefined) throw new ApiError(400, 'evidence_missing', `evidence.quote (the ${tee.toUpperCase()} quote, base64) is required.`);
  const collateral = input.collateral ? toIntelCollateral(input.collateral) : undefined;
  return {
    tee,
    quote: decodeB64(input.quote as string, 'evidence.quote'),
    ...(collateral ? { collateral } : {}),
    ...(input.eventLog !== undefined ? { eventLog: decodeB64(input.eventLog, 'evidence.eventLog') } : {}),
  };
}

/**
 * Accept only a public EC P-256 JWK whose point passes full public-key validation, and
 * return just its public members (kty, crv, x, y): what the thumbprint and `cnf` are
 * computed over.
 */
export function toTeePublicKey(input: Record<string, unknown>): JWK {
  const bad = (why: string) => new ApiError(400, 'tee_public_key_invalid', `teePublicKey must be a public EC P-256 JWK: ${why}.`);
  if ('d' in input) throw bad('it contains a private key (d); send only the public key');
  if (input.kty !== 'EC') throw bad(`kty is ${JSON.stringify(input.kty)}, expected "EC"`);
  if (input.crv !== 'P-256') throw bad(`crv is ${JSON.stringify(input.crv)}, expected "P-256"`);
  const coordinate = (coord: 'x' | 'y'): bigint => {
    const v = input[coord];
    // 43 base64url characters carry 258 bits; the last 2 must be zero (RFC 4648 section 3.5,
    // canonical encoding), otherwise one key has several spellings and so several RFC 7638
    // thumbprints, since the thumbprint is computed over the string as sent.
    const bytes = typeof v === 'string' && /^[A-Za-z0-9_-]{43}$/.test(v) ? Buffer.from(v, 'base64url') : undefined;
    if (bytes === undefined || bytes.length !== 32 || bytes.toString('base64url') !== v) {
      throw bad(`${coord} must be 32 bytes, base64url without padding`);
    }
    return BigInt(`0x${bytes.toString('hex')}`);
  };
  const x = coordinate('x');
  const y = coordinate('y');
  try {
    // This is full public-key validation, not only an on-curve test. SEC 1 v2 section 3.2.2.1
    // and NIST SP 800-56A rev. 3 section 5.6.2.3.3 ask for: (1) Q is not the point at infinity,
    // (2) x and y are integers in [0, p-1], (3) y^2 = x^3 + ax + b (mod p), (4) nQ = infinity.
    // fromAffine refuses x or y >= p (2) and maps (0, 0), the usual way to write infinity in
    // affine form, to the point at infinity, which assertValidity refuses (1); assertValidity
    // then checks the curve equation (3). P-256 has cofactor h = 1, so the group of curve points
    // has prime order n and every point other than infinity has order n: step (4) always holds
    // once (1)-(3) do, which is why the partial validation of SP 800-56A section 5.6.2.3.4 (steps
    // 1-3) is as strong as full validation on this curve. This replaces node:crypto
    // createPublicKey, which made the same decision at ~30x the cost on the attest hot path
    // (test/server/tee-public-key.test.ts checks that both agree).
    p256.Point.fromAffine({ x, y }).assertValidity();
  } catch {
    throw bad('the point (x, y) is not on the P-256 curve');
  }
  return { kty: 'EC', crv: 'P-256', x: input.x as string, y: input.y as string };
}
