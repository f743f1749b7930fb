// The one entry point: evidence in, verdict out. In two steps for callers that want them
// apart: prepareEvidence() parses the evidence and gathers the collateral it lacks (async,
// I/O through options.collateral); verifyPrepared() does every check (synchronous, CPU only,
// plain data in and out, so a server can run it on a worker thread: server/verification/).

import type { TrustAnchors } from './anchors.ts';
import type { Evidence, VerifyOptions } from './evidence.ts';
import type { VerificationResult } from './result.ts';
import { prepareSnpEvidence, verifySnpReport, type PreparedSnpEvidence } from './snp/verify-evidence.ts';
import { prepareIntelEvidence, verifyIntelQuote, type PreparedIntelEvidence } from './tdx/verify-evidence.ts';
import { prepareAzSnpEvidence, verifyAzSnp, type PreparedAzSnpEvidence } from './azure/verify-az-snp.ts';
import { prepareAzTdxEvidence, verifyAzTdx, type PreparedAzTdxEvidence } from './azure/verify-az-tdx.ts';

/** Evidence with every collateral document its verification needs. Structured-cloneable. */
export type PreparedEvidence = PreparedSnpEvidence | PreparedIntelEvidence | PreparedAzSnpEvidence | PreparedAzTdxEvidence;

/**
 * Verify hardware evidence at `options.at` against the trust anchors (production ones by
 * default). Resolves with verified=false and the failed checks when the evidence is not
 * trustworthy; rejects with EvidenceFormatError when it cannot be parsed, and with
 * CollateralUnavailableError when a needed document cannot be had.
 */
export async function verifyEvidence(evidence: Evidence, options: VerifyOptions): Promise<VerificationResult> {
  return verifyPrepared(await prepareEvidence(evidence, options), options.anchors);
}

/** Parse `evidence` and gather its collateral: the part of verifyEvidence that may do I/O. */
export function prepareEvidence(evidence: Evidence, options: VerifyOptions): Promise<PreparedEvidence> {
  switch (evidence.tee) {
    case 'sev-snp':
      return prepareSnpEvidence(evidence, options);
    case 'tdx':
    case 'sgx':
      return prepareIntelEvidence(evidence, options);
    case 'az-snp-vtpm':
      return prepareAzSnpEvidence(evidence, options);
    case 'az-tdx-vtpm':
      return prepareAzTdxEvidence(evidence, options);
  }
}

/** Every check of prepared evidence against `anchors` (default: production). No I/O. */
export function verifyPrepared(prepared: PreparedEvidence, anchors?: TrustAnchors): VerificationResult {
  switch (prepared.tee) {
    case 'sev-snp':
      return verifySnpReport(prepared.report, prepared.material, { at: prepared.at, crl: prepared.crl, ...(anchors ? { anchors } : {}) });
    case 'tdx':
    case 'sgx':
      return verifyIntelQuote(prepared.quote, prepared.collateral, {
        at: prepared.at,
        crl: prepared.crl,
        provenance: prepared.provenance,
        ...(anchors ? { anchors: anchors.intel } : {}),
        ...(prepared.eventLog !== undefined ? { eventLog: prepared.eventLog } : {}),
      });
    case 'az-snp-vtpm':
      return verifyAzSnp(prepared, anchors);
    case 'az-tdx-vtpm':
      return verifyAzTdx(prepared, anchors);
  }
}
