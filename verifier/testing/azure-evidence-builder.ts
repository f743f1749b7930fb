// Builds Azure confidential VM (vTPM) evidence from the simulator: a simulator SNP report
// (or TDX quote) inside an HCL report whose runtime data carries an RSA attestation key
// (HCLAkPub), and a TPM2_Quote signed by that key, in the JSON shape the CoCo
// attestation-agent sends (guest-components attester/src/az_snp_vtpm: {version, tpm_quote:
// {signature, message, pcrs}, hcl_report, vcek}; az_tdx_vtpm: td_quote instead of vcek).
// The pieces are separate so a real software TPM (swtpm) can hold the AK and sign the quote
// instead: azureRuntimeData() takes any RSA public JWK, buildAzureSnpHcl() needs no key.

import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { azureNonceFromReportData } from '../binding.ts';
import { buildHclReport, hclRuntimeDataDigest } from './hcl-report-builder.ts';
import type { SimulatorChain } from './simulated-chain.ts';
import { buildSnpReport, type SnpReportOptions } from './snp-report-builder.ts';
import { buildTdxQuote, type TdxQuoteOptions } from './tdx-quote-builder.ts';

/** An RSA JWK public key as the HCL runtime data holds it. */
export interface RsaPublicJwk {
  kty: 'RSA';
  n: string;
  e: string;
}

export interface AzureAk {
  privateKey: KeyObject;
  publicJwk: RsaPublicJwk;
}

/** An RSA-2048 attestation key, as the Azure vTPM's (persistent handle 0x81000003). */
export function createAzureAk(): AzureAk {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
  const jwk = publicKey.export({ format: 'jwk' });
  return { privateKey, publicJwk: { kty: 'RSA', n: String(jwk.n), e: String(jwk.e) } };
}

export interface RuntimeDataOptions {
  akPublicJwk: RsaPublicJwk;
  /** 64 bytes at most, written as upper-case hex zero-padded to 64 bytes (as Azure does). Default zeros. */
  userData?: Uint8Array;
  secureBoot?: boolean;
  tpmEnabled?: boolean;
  vmUniqueId?: string;
}

export const SIMULATOR_AZURE_VM_ID = '5E5E5E5E-0000-4000-8000-7E55E7A00001';

/** The runtime data JSON, with the members and key order real Azure reports have. */
export function azureRuntimeData(o: RuntimeDataOptions): Uint8Array {
  const user = Buffer.alloc(64);
  if (o.userData) {
    if (o.userData.length > 64) throw new RangeError('user-data is at most 64 bytes');
    Buffer.from(o.userData).copy(user);
  }
  const doc = {
    keys: [{ kid: 'HCLAkPub', key_ops: ['sign'], kty: 'RSA', e: o.akPublicJwk.e, n: o.akPublicJwk.n }],
    'vm-configuration': {
      'console-enabled': false,
      'secure-boot': o.secureBoot ?? true,
      'tpm-enabled': o.tpmEnabled ?? true,
      vmUniqueId: o.vmUniqueId ?? SIMULATOR_AZURE_VM_ID,
    },
    'user-data': user.toString('hex').toUpperCase(),
  };
  return new Uint8Array(Buffer.from(JSON.stringify(doc), 'utf8'));
}

/**
 * An HCL report holding a simulator SNP report whose REPORT_DATA[0:32] is SHA-256(runtimeData),
 * padded to `hclSize` bytes (default Azure's 2600; see buildHclReport).
 */
export function buildAzureSnpHcl(chain: SimulatorChain, runtimeData: Uint8Array, snp: Omit<SnpReportOptions, 'reportData'> = {}, hclSize?: number): { hclReport: Uint8Array; snpReport: Uint8Array } {
  // Azure's paravisor asks the firmware for the report at VMPL 0 (trustee az_snp_vtpm HCL_VMPL_VALUE).
  const { report } = buildSnpReport(chain, { vmpl: 0, ...snp, reportData: hclRuntimeDataDigest(runtimeData) });
  return { hclReport: buildHclReport({ tee: 'snp', hwReport: report, runtimeData }, hclSize), snpReport: new Uint8Array(report) };
}

/** A TDREPORT_STRUCT (1024 bytes; Intel TDX module ABI): REPORTTYPE 0x81 and REPORTDATA at 128, the rest zero. */
function tdReportFor(reportData: Uint8Array): Uint8Array {
  const r = Buffer.alloc(1024);
  r[0] = 0x81;
  Buffer.from(reportData).copy(r, 128);
  return new Uint8Array(r);
}

/** An HCL report holding a TD report, and the simulator TD quote with the same REPORT_DATA. */
export function buildAzureTdxHcl(chain: SimulatorChain, runtimeData: Uint8Array, tdx: Omit<TdxQuoteOptions, 'reportData'> = {}, hclSize?: number): { hclReport: Uint8Array; tdQuote: Uint8Array } {
  const reportData = Buffer.concat([hclRuntimeDataDigest(runtimeData), Buffer.alloc(32)]);
  const { quote } = buildTdxQuote(chain, { ...tdx, reportData });
  return { hclReport: buildHclReport({ tee: 'tdx', hwReport: tdReportFor(reportData), runtimeData }, hclSize), tdQuote: new Uint8Array(quote) };
}

const TPM_ALG_SHA256 = 0x000b;

/** Simulated sha256 PCR values 0..23: deterministic, distinct. */
export function simulatorPcrs(): Uint8Array[] {
  return Array.from({ length: 24 }, (_, i) => new Uint8Array(createHash('sha256').update(`tessera simulator PCR ${i}`).digest()));
}

export interface TpmQuoteParts {
  /** TPMS_ATTEST. */
  message: Uint8Array;
  /** RSASSA-PKCS1-v1_5 SHA-256 over message (the raw 256 bytes). */
  signature: Uint8Array;
  pcrs: Uint8Array[];
}

/**
 * TPMS_ATTEST of a TPM2_Quote over sha256 PCRs 0..23 (TPM 2.0 Part 2 "TPMS_ATTEST",
 * "TPMS_QUOTE_INFO"; big-endian), with `nonce` as extraData, signed by the AK.
 */
export function buildTpmQuote(ak: KeyObject, nonce: Uint8Array, pcrs: Uint8Array[] = simulatorPcrs()): TpmQuoteParts {
  if (pcrs.length !== 24) throw new RangeError('24 sha256 PCR values are needed');
  const u16 = (v: number) => { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; };
  const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(v); return b; };
  const u64 = (v: bigint) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(v); return b; };
  const tpm2b = (b: Uint8Array) => Buffer.concat([u16(b.length), b]);
  // The AK's TPM name: nameAlg then a digest; the verifier does not rely on it.
  const name = Buffer.concat([u16(TPM_ALG_SHA256), createHash('sha256').update('tessera simulator AK').digest()]);
  const pcrDigest = createHash('sha256').update(Buffer.concat(pcrs)).digest();
  const message = Buffer.concat([
    u32(0xff544347), u16(0x8018), tpm2b(name), tpm2b(nonce),
    u64(BigInt(Date.now())), u32(1), u32(0), Buffer.from([1]), u64(0x2000_0000_0001n),
    u32(1), u16(TPM_ALG_SHA256), Buffer.from([3, 0xff, 0xff, 0xff]), tpm2b(pcrDigest),
  ]);
  const signature = sign('sha256', message, ak);
  return { message: new Uint8Array(message), signature: new Uint8Array(signature), pcrs };
}

/** The JSON the CoCo attestation-agent sends for az-snp-vtpm (v2) / az-tdx-vtpm. */
export interface AzureEvidenceJson {
  version: number;
  tpm_quote: { signature: string; message: string; pcrs: string[] };
  hcl_report: string;
  vcek?: string;
  td_quote?: string;
}

export interface AzureEvidenceOptions {
  /** The 64-byte tessera REPORT_DATA binding; the TPM nonce and user-data get its Azure form. */
  reportData: Uint8Array;
  /** The TPM nonce and user-data as they are, instead of the Azure form of reportData (the KBS protocol binds the runtime-data digest itself). */
  nonce?: Uint8Array;
  ak?: AzureAk;
  pcrs?: Uint8Array[];
  secureBoot?: boolean;
  snp?: Omit<SnpReportOptions, 'reportData'>;
  tdx?: Omit<TdxQuoteOptions, 'reportData'>;
}

function tpmQuoteJson(q: TpmQuoteParts): AzureEvidenceJson['tpm_quote'] {
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  return { signature: hex(q.signature), message: hex(q.message), pcrs: q.pcrs.map(hex) };
}

/** az-snp-vtpm evidence (agent evidence version 2) for tessera's binding of `reportData`. */
export function buildAzSnpVtpmEvidence(chain: SimulatorChain, o: AzureEvidenceOptions): AzureEvidenceJson {
  const ak = o.ak ?? createAzureAk();
  const nonce = o.nonce ? Buffer.from(o.nonce) : azureNonceFromReportData(o.reportData);
  const runtime = azureRuntimeData({ akPublicJwk: ak.publicJwk, userData: nonce, ...(o.secureBoot !== undefined ? { secureBoot: o.secureBoot } : {}) });
  const { hclReport } = buildAzureSnpHcl(chain, runtime, o.snp);
  return {
    version: 2,
    tpm_quote: tpmQuoteJson(buildTpmQuote(ak.privateKey, nonce, o.pcrs)),
    hcl_report: Buffer.from(hclReport).toString('base64url'),
    vcek: chain.amd.vcek.toString('base64url'),
  };
}

/** az-tdx-vtpm evidence for tessera's binding of `reportData`. */
export function buildAzTdxVtpmEvidence(chain: SimulatorChain, o: AzureEvidenceOptions): AzureEvidenceJson {
  const ak = o.ak ?? createAzureAk();
  const nonce = o.nonce ? Buffer.from(o.nonce) : azureNonceFromReportData(o.reportData);
  const runtime = azureRuntimeData({ akPublicJwk: ak.publicJwk, userData: nonce, ...(o.secureBoot !== undefined ? { secureBoot: o.secureBoot } : {}) });
  const { hclReport, tdQuote } = buildAzureTdxHcl(chain, runtime, o.tdx);
  return {
    version: 2,
    tpm_quote: tpmQuoteJson(buildTpmQuote(ak.privateKey, nonce, o.pcrs)),
    hcl_report: Buffer.from(hclReport).toString('base64url'),
    td_quote: Buffer.from(tdQuote).toString('base64url'),
  };
}
