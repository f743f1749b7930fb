// Azure vTPM evidence as the CoCo attestation-agent serialises it, turned into the
// verifier's AzSnpVtpmEvidence / AzTdxVtpmEvidence. Shapes (trustee
// deps/verifier/src/az_snp_vtpm/compat.rs, az_tdx_vtpm/mod.rs; guest-components
// attester/src/az_snp_vtpm):
//   v0 SNP  {quote: {signature, message, pcrs}, report, vcek: PEM}   byte fields as JSON arrays
//   v0 TDX  {tpm_quote: {...}, hcl_report, td_quote}                 byte fields as JSON arrays
//   v1, v2  {version, tpm_quote: {signature, message, pcrs} (hex), hcl_report, vcek | td_quote
//           (base64url)}; v2 also puts the report data into the runtime data's user-data.
// Byte fields are decoded by their JSON type: an array of 0..255 is raw bytes; a string is hex
// in tpm_quote and base64 / base64url elsewhere; a vcek string starting with "-----BEGIN" is
// PEM (the VCEK, optionally followed by ASK and ARK). Unknown members and versions are refused.

import { EvidenceFormatError } from '../errors.ts';
import type { AzureEvidence, AzureTpmQuote, SnpCertificates } from '../evidence.ts';
import { parseCertificates } from '../x509/certificate.ts';

const KNOWN_VERSIONS = [1, 2];
const MAX_PCRS = 64;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const bad = (code: string, message: string) => new EvidenceFormatError(code, message);

function bytesOf(v: unknown, field: string, text: 'hex' | 'base64'): Uint8Array {
  if (Array.isArray(v)) {
    if (!v.every((x) => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 255)) throw bad('azure_evidence_bytes', `${field} is an array but not of bytes (integers 0..255).`);
    if (v.length === 0) throw bad('azure_evidence_bytes', `${field} is empty.`);
    return new Uint8Array(v as number[]);
  }
  if (typeof v !== 'string' || v.length === 0) throw bad('azure_evidence_bytes', `${field} must be a non-empty ${text} string or an array of bytes.`);
  if (text === 'hex') {
    if (!/^(?:[0-9a-fA-F]{2})+$/.test(v)) throw bad('azure_evidence_hex', `${field} is not hex.`);
    return new Uint8Array(Buffer.from(v, 'hex'));
  }
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v) && !/^[A-Za-z0-9_-]*={0,2}$/.test(v)) throw bad('azure_evidence_base64', `${field} is not base64 or base64url.`);
  const out = Buffer.from(v, /[-_]/.test(v) ? 'base64url' : 'base64');
  if (out.length === 0) throw bad('azure_evidence_base64', `${field} is empty.`);
  return new Uint8Array(out);
}

function tpmQuoteOf(v: unknown, field: string): AzureTpmQuote {
  if (!isObject(v)) throw bad('azure_evidence_tpm_quote', `${field} must be an object {signature, message, pcrs}.`);
  const extra = Object.keys(v).filter((k) => !['signature', 'message', 'pcrs'].includes(k));
  if (extra.length > 0) throw bad('azure_evidence_unknown_field', `${field} has unknown member(s): ${extra.join(', ')}.`);
  if (!Array.isArray(v.pcrs) || v.pcrs.length === 0 || v.pcrs.length > MAX_PCRS) throw bad('azure_evidence_tpm_quote', `${field}.pcrs must be an array of 1 to ${MAX_PCRS} PCR values.`);
  return {
    signature: bytesOf(v.signature, `${field}.signature`, 'hex'),
    message: bytesOf(v.message, `${field}.message`, 'hex'),
    pcrs: v.pcrs.map((p, i) => bytesOf(p, `${field}.pcrs[${i}]`, 'hex')),
  };
}

function certificatesOf(v: unknown): SnpCertificates {
  if (typeof v === 'string' && v.trimStart().startsWith('-----BEGIN')) {
    const certs = parseCertificates(v, 'vcek');
    if (certs.length > 3) throw bad('azure_evidence_vcek', `vcek holds ${certs.length} certificates; at most the VCEK, ASK and ARK.`);
    const [vcek, ask, ark] = certs;
    return { vcek: vcek!.der, ...(ask ? { ask: ask.der } : {}), ...(ark ? { ark: ark.der } : {}) };
  }
  return { vcek: bytesOf(v, 'vcek', 'base64') };
}


/** The agent's JSON evidence for `tee`. Throws EvidenceFormatError naming the field. */
export function azureEvidenceFromJson(tee: 'az-snp-vtpm' | 'az-tdx-vtpm', v: unknown): AzureEvidence {
  if (!isObject(v)) throw bad('azure_evidence_shape', 'Azure vTPM evidence must be a JSON object.');
  let version = 0;
  if (v.version !== undefined) {
    if (typeof v.version !== 'number' || !KNOWN_VERSIONS.includes(v.version)) throw bad('azure_evidence_version', `Azure vTPM evidence version ${JSON.stringify(v.version)} is not one this verifier knows (absent for v0, or ${KNOWN_VERSIONS.join(', ')}).`);
    version = v.version;
  }
  // v0 SNP evidence used `quote` and `report`; everything else uses `tpm_quote` and `hcl_report`.
  const legacySnp = tee === 'az-snp-vtpm' && version === 0 && v.quote !== undefined;
  const quoteKey = legacySnp ? 'quote' : 'tpm_quote';
  const reportKey = legacySnp ? 'report' : 'hcl_report';
  const hwKey = tee === 'az-snp-vtpm' ? 'vcek' : 'td_quote';
  const allowed = ['version', quoteKey, reportKey, hwKey];
  const extra = Object.keys(v).filter((k) => !allowed.includes(k));
  if (extra.length > 0) throw bad('azure_evidence_unknown_field', `${tee} evidence (version ${version}) has unknown member(s): ${extra.join(', ')}; expected ${allowed.join(', ')}.`);
  for (const k of [quoteKey, reportKey, ...(tee === 'az-tdx-vtpm' ? [hwKey] : [])]) {
    if (v[k] === undefined) throw bad('azure_evidence_missing', `${tee} evidence (version ${version}) needs ${k}.`);
  }
  const parts = { version, tpmQuote: tpmQuoteOf(v[quoteKey], quoteKey), hclReport: bytesOf(v[reportKey], reportKey, 'base64') };
  if (tee === 'az-snp-vtpm') return { tee, ...parts, ...(v.vcek !== undefined ? { certificates: certificatesOf(v.vcek) } : {}) };
  return { tee, ...parts, tdQuote: bytesOf(v.td_quote, 'td_quote', 'base64') };
}
