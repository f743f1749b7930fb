// When a collateral document goes out of date, read from the document itself (parse
// only, no signature check): RFC 5280 nextUpdate for CRLs, `nextUpdate` in Intel TCB Info
// (PCS API appendix A) and QE Identity (appendix B), the earliest notAfter of a
// certificate chain. A VCEK has none: it is fixed for its chip and TCB.
// Parsing also rejects a body that is not the document it claims to be (an HTML error
// page, a truncated download) before it is cached.

import { EvidenceFormatError } from '../errors.ts';
import { parseCertificate, parseCertificates } from '../x509/certificate.ts';
import { parseCrl } from '../x509/crl.ts';
import { parseQeIdentity } from '../tdx/qe-identity.ts';
import { parseTcbInfo } from '../tdx/tcb-info.ts';
import type { CollateralKind } from './document.ts';

export interface DocumentDates {
  /** When a newer document is due: past this the cache refreshes it, and serves it only as stale. */
  nextUpdate?: Date;
  /** When the vendor issued it (CRL thisUpdate, issueDate), if it says. */
  issuedAt?: Date;
}

/** Dates of a document of `kind`. Throws EvidenceFormatError when the bytes are not such a document. */
export function documentDates(kind: CollateralKind, bytes: Uint8Array): DocumentDates {
  switch (kind) {
    case 'snp-vcek':
      parseCertificate(bytes, 'VCEK certificate');
      return {};
    case 'snp-cert-chain': {
      const certs = parseCertificates(bytes, 'AMD certificate chain');
      if (certs.length !== 2) throw new EvidenceFormatError('collateral_malformed', `An AMD cert_chain holds 2 certificates (intermediate, ARK), this one ${certs.length}.`);
      return { nextUpdate: new Date(Math.min(...certs.map((c) => c.notAfter.getTime()))) };
    }
    case 'snp-crl':
    case 'intel-pck-crl':
    case 'intel-root-ca-crl': {
      const crl = parseCrl(bytes, kind === 'snp-crl' ? 'AMD CRL' : kind === 'intel-pck-crl' ? 'PCK CRL' : 'Root CA CRL');
      return { ...(crl.nextUpdate ? { nextUpdate: crl.nextUpdate } : {}), issuedAt: crl.thisUpdate };
    }
    case 'intel-tcb-info': {
      const doc = parseTcbInfo(Buffer.from(bytes).toString('utf8'));
      return { nextUpdate: doc.nextUpdate, issuedAt: doc.issueDate };
    }
    case 'intel-qe-identity': {
      const doc = parseQeIdentity(Buffer.from(bytes).toString('utf8'));
      return { nextUpdate: doc.nextUpdate, issuedAt: doc.issueDate };
    }
  }
}
