// Certification data: how a quote proves its attestation key. Intel's QE signs a report
// (QE REPORT) with the PCK key and binds the attestation key into its REPORTDATA; the PCK
// certificate chain (PEM) travels with it.
// Layout: Intel TDX DCAP Quoting Library API, "Certification Data" and "QE Report
// Certification Data" (type 6); Intel SGX ECDSA Quote Library API (v3 "Quote Signature
// Data"). QVL QuoteStructures.h CertificationData / QEReportCertificationData.

import { EvidenceFormatError } from '../../errors.ts';
import { Cursor } from './cursor.ts';
import { SGX_REPORT_SIZE, parseSgxReport, type SgxReportBody } from './sgx-report.ts';

/** Certification data types (API "Certification Data Type"): 5 = PCK chain PEM, 6 = QE report certification data. */
export const CERT_TYPE_PCK_CHAIN = 5;
export const CERT_TYPE_QE_REPORT = 6;

const CERT_TYPE_NAMES: Record<number, string> = {
  1: 'PPID in clear text',
  2: 'PPID encrypted with RSA-2048-OAEP',
  3: 'PPID encrypted with RSA-3072-OAEP',
  4: 'PCK leaf certificate alone',
  5: 'PCK certificate chain',
  6: 'QE report certification data',
  7: 'platform manifest',
};

export interface QeCertification {
  qeReport: SgxReportBody;
  /** ECDSA P-256 r||s over qeReport.raw, by the PCK leaf key. */
  qeReportSignature: Buffer;
  qeAuthData: Buffer;
  /** The PCK chain exactly as carried (PEM text, leaf first; a trailing NUL is common). */
  pckChainPem: string;
}

function typeName(type: number): string {
  return CERT_TYPE_NAMES[type] ?? 'unknown';
}

/** u16 type, u32 size, data; the data must end exactly at `end`. */
function readCertData(c: Cursor, end: number, where: string): { type: number; data: Buffer } {
  const type = c.u16(`${where} type`);
  const size = c.u32(`${where} size`);
  if (c.offset + size !== end) {
    throw new EvidenceFormatError(
      'intel_certification_data_length',
      `The ${where} declares ${size} bytes but ${end - c.offset} bytes remain for it.`,
    );
  }
  return { type, data: c.bytes(size, `${where} data`) };
}

function pckChain(type: number, data: Buffer, where: string): string {
  if (type !== CERT_TYPE_PCK_CHAIN) {
    throw new EvidenceFormatError(
      'intel_certification_data_type',
      `The ${where} is type ${type} (${typeName(type)}); only type 5 (the PCK certificate chain carried in the quote) is supported.`,
    );
  }
  return data.toString('latin1');
}

/** QE report, its signature and the QE authentication data: common to v3 and type 6. */
function readQeReportPart(c: Cursor): Omit<QeCertification, 'pckChainPem'> {
  const qeReport = parseSgxReport(c.bytes(SGX_REPORT_SIZE, 'the QE report'));
  const qeReportSignature = c.bytes(64, 'the QE report signature');
  const authLength = c.u16('the QE authentication data size');
  const qeAuthData = c.bytes(authLength, 'the QE authentication data');
  return { qeReport, qeReportSignature, qeAuthData };
}

/**
 * v4/v5: the certification data at [start, end) must be type 6 wrapping type 5, each
 * size exactly filling its container (QVL QuoteVerifier::verifyCertificationData).
 */
export function parseCertificationDataV4(buf: Buffer, start: number, end: number): QeCertification {
  const c = new Cursor(buf, 'intel_quote_truncated', start, end);
  const outer = readCertData(c, end, 'certification data');
  if (outer.type !== CERT_TYPE_QE_REPORT) {
    throw new EvidenceFormatError(
      'intel_certification_data_type',
      `The certification data is type ${outer.type} (${typeName(outer.type)}); a v4/v5 quote must carry type 6 (QE report certification data).`,
    );
  }
  // The type 6 data occupies [end - size, end): read its parts in place.
  const d = new Cursor(buf, 'intel_quote_truncated', end - outer.data.length, end);
  const qe = readQeReportPart(d);
  const nested = readCertData(d, end, 'QE certification data');
  return { ...qe, pckChainPem: pckChain(nested.type, nested.data, 'QE certification data') };
}

/** v3: QE report, signature and auth data come directly, then the certification data. */
export function parseCertificationDataV3(buf: Buffer, start: number, end: number): QeCertification {
  const c = new Cursor(buf, 'intel_quote_truncated', start, end);
  const qe = readQeReportPart(c);
  const cert = readCertData(c, end, 'certification data');
  return { ...qe, pckChainPem: pckChain(cert.type, cert.data, 'certification data') };
}
