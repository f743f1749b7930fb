// Builds Intel TDX quotes (version 4, TD 1.0 body) in the real layout, signed by the
// simulated Intel chain. Layout: Intel TDX DCAP Quoting Library API, "Quote Format"
// (A.3: header 48 bytes, TD Quote Body 584 bytes, then u32 signature data length and the
// ECDSA quote signature data) and QVL QuoteV4 (intel/SGXDataCenterAttestationPrimitives,
// QuoteVerification/QVL/Src/AttestationLibrary/src/QuoteVerification/Quote.cpp);
// go-tdx-guest abi uses the same offsets.
//
// Signature data: ECDSA signature (64, r||s) over header+body by the attestation key;
// attestation public key (64, x||y); certification data type 6 (QE report certification
// data) = QE report (384) + QE report signature (64, by the PCK key) + QE auth data (u16
// size + data) + certification data type 5 (the PEM PCK chain). The QE report's REPORTDATA
// is SHA-256(attestation key || QE auth data) followed by 32 zero bytes.

import { createHash, createPublicKey, sign } from 'node:crypto';
import { CERT_TYPE_PCK_CHAIN, CERT_TYPE_QE_REPORT } from '../tdx/abi/certification-data.ts';
import { ATTESTATION_KEY_TYPE_ECDSA_P256, INTEL_QE_VENDOR_ID, QUOTE_HEADER_SIZE, TEE_TYPE_TDX } from '../tdx/abi/header.ts';
import { SGX_REPORT_SIZE } from '../tdx/abi/sgx-report.ts';
import { TD_REPORT10_SIZE } from '../tdx/abi/td-report.ts';
import { certificatesPem, type SimulatorChain } from './simulated-chain.ts';


/** TD attribute bits (Intel TDX Module ABI, TDATTRIBUTES). */
export const TD_ATTRIBUTES = { debug: 1n << 0n, septVeDisable: 1n << 28n, pks: 1n << 30n, kl: 1n << 31n, perfmon: 1n << 63n } as const;

export interface TdxQuoteOptions {
  /** REPORTDATA, up to 64 bytes (zero-padded). */
  reportData?: Uint8Array;
  /** MRTD, 48 bytes. Default SIMULATOR_TDX_MRTD. */
  mrTd?: Uint8Array;
  /** RTMR0..3, 48 bytes each. Default zeros. */
  rtmr?: [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  mrConfigId?: Uint8Array;
  mrOwner?: Uint8Array;
  mrOwnerConfig?: Uint8Array;
  /** TDATTRIBUTES as a 64-bit value. Default SEPT_VE_DISABLE only. */
  tdAttributes?: bigint;
  /** Shorthand: set (or clear) TDATTRIBUTES.DEBUG on top of tdAttributes. */
  debug?: boolean;
  /** XFAM, 8 bytes. Default e702060000000000. */
  xfam?: Uint8Array;
  /** TEE_TCB_SVN, 16 bytes. Default: the chain's UpToDate value. */
  teeTcbSvn?: Uint8Array;
  mrSeam?: Uint8Array;
  mrSignerSeam?: Uint8Array;
  seamAttributes?: Uint8Array;
  /** The QE report's ISVSVN. Default: the chain's QE. */
  qeSvn?: number;
  /** QE authentication data. Default 32 bytes 0x00..0x1f, as Intel's QE sends. */
  qeAuthData?: Uint8Array;
  /** Header USER_DATA, 20 bytes. */
  userData?: Uint8Array;
}

export interface BuiltTdxQuote {
  quote: Uint8Array;
}

/** The simulator's default TD MRTD: what the development policy allows. */
export const SIMULATOR_TDX_MRTD = createHash('sha384').update('tessera simulator: TDX guest').digest('hex');
const DEFAULT_MR_SEAM = createHash('sha384').update('tessera simulator: TDX module').digest();

function field(bytes: Uint8Array | undefined, size: number, what: string, fallback?: Uint8Array): Buffer {
  const v = bytes ?? fallback ?? Buffer.alloc(size);
  if (v.length !== size) throw new RangeError(`${what} must be ${size} bytes, got ${v.length}`);
  return Buffer.from(v);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, n));
  return b;
}

/** The 64-byte raw public key (x||y) of an EC P-256 key. */
function rawP256(key: Parameters<typeof createPublicKey>[0]): Buffer {
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  return Buffer.concat([Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
}

function qeReport(chain: SimulatorChain, reportData: Buffer, isvSvn: number): Buffer {
  // SGX REPORT BODY (Intel SGX SDK sgx_report_body_t): CPUSVN 16, MISCSELECT 4, reserved 28,
  // ATTRIBUTES 16, MRENCLAVE 32, reserved 32, MRSIGNER 32, reserved 96, ISVPRODID 2,
  // ISVSVN 2, reserved 60, REPORTDATA 64.
  const qe = chain.intel.qe;
  const r = Buffer.alloc(SGX_REPORT_SIZE);
  chain.intel.cpuSvn.copy(r, 0);
  r.writeUInt32LE(qe.miscselect, 16);
  qe.attributes.copy(r, 48);
  qe.mrenclave.copy(r, 64);
  qe.mrsigner.copy(r, 128);
  r.writeUInt16LE(qe.isvProdId, 256);
  r.writeUInt16LE(isvSvn, 258);
  reportData.copy(r, 320);
  return r;
}

export function buildTdxQuote(chain: SimulatorChain, options: TdxQuoteOptions = {}): BuiltTdxQuote {
  if (options.reportData && options.reportData.length > 64) throw new RangeError('reportData is at most 64 bytes');
  let attributes = options.tdAttributes ?? TD_ATTRIBUTES.septVeDisable;
  if (options.debug === true) attributes |= TD_ATTRIBUTES.debug;
  if (options.debug === false) attributes &= ~TD_ATTRIBUTES.debug;

  const header = Buffer.concat([
    u16(4), // version
    u16(ATTESTATION_KEY_TYPE_ECDSA_P256),
    u32(TEE_TYPE_TDX),
    u16(0), // reserved (QE SVN in v3): zero in TDX quotes
    u16(0), // reserved (PCE SVN in v3)
    Buffer.from(INTEL_QE_VENDOR_ID, 'hex'),
    field(options.userData, 20, 'userData'),
  ]);
  const rtmr = options.rtmr ?? [undefined, undefined, undefined, undefined];
  const body = Buffer.concat([
    field(options.teeTcbSvn, 16, 'teeTcbSvn', chain.intel.teeTcbSvn),
    field(options.mrSeam, 48, 'mrSeam', DEFAULT_MR_SEAM),
    field(options.mrSignerSeam, 48, 'mrSignerSeam'), // zeros: the Intel-signed TDX module
    field(options.seamAttributes, 8, 'seamAttributes'),
    u64(attributes),
    field(options.xfam, 8, 'xfam', Buffer.from('e702060000000000', 'hex')),
    field(options.mrTd, 48, 'mrTd', Buffer.from(SIMULATOR_TDX_MRTD, 'hex')),
    field(options.mrConfigId, 48, 'mrConfigId'),
    field(options.mrOwner, 48, 'mrOwner'),
    field(options.mrOwnerConfig, 48, 'mrOwnerConfig'),
    ...rtmr.map((m, i) => field(m, 48, `rtmr[${i}]`)),
    Buffer.concat([Buffer.from(options.reportData ?? []), Buffer.alloc(64 - (options.reportData?.length ?? 0))]),
  ]);
  if (header.length !== QUOTE_HEADER_SIZE || body.length !== TD_REPORT10_SIZE) throw new Error('internal: TDX quote layout');

  const signed = Buffer.concat([header, body]);
  const quoteSignature = sign('sha256', signed, { key: chain.intel.attestationKey, dsaEncoding: 'ieee-p1363' });
  const attestationKey = rawP256(chain.intel.attestationKey);
  const authData = Buffer.from(options.qeAuthData ?? [...Array(32).keys()]);
  if (authData.length > 0xffff) throw new RangeError('qeAuthData is at most 65535 bytes');
  const qeReportData = Buffer.concat([createHash('sha256').update(attestationKey).update(authData).digest(), Buffer.alloc(32)]);
  const report = qeReport(chain, qeReportData, options.qeSvn ?? chain.intel.qe.isvSvn);
  const qeReportSignature = sign('sha256', report, { key: chain.intel.pckKey, dsaEncoding: 'ieee-p1363' });
  // Type 5: the PCK leaf, its CA and the root as PEM; real quotes end the chain with a NUL.
  const pemChain = Buffer.concat([Buffer.from(certificatesPem(chain.intel.pck, chain.intel.pckCa, chain.intel.root), 'utf8'), Buffer.alloc(1)]);
  const qeCertData = Buffer.concat([report, qeReportSignature, u16(authData.length), authData, u16(CERT_TYPE_PCK_CHAIN), u32(pemChain.length), pemChain]);
  const signatureData = Buffer.concat([quoteSignature, attestationKey, u16(CERT_TYPE_QE_REPORT), u32(qeCertData.length), qeCertData]);
  return { quote: new Uint8Array(Buffer.concat([signed, u32(signatureData.length), signatureData])) };
}
