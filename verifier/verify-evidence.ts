// The one entry point: evidence in, verdict out.

import type { Evidence, VerifyOptions } from './evidence.ts';
import type { VerificationResult } from './result.ts';
import { verifySnpEvidence } from './snp/verify-evidence.ts';
import { verifyIntelEvidence } from './tdx/verify-evidence.ts';

/**
 * Verify hardware evidence at `options.at` against the trust anchors (production ones by
 * default). Resolves with verified=false and the failed checks when the evidence is not
 * trustworthy; rejects with EvidenceFormatError when it cannot be parsed, and with
 * CollateralUnavailableError when a needed document cannot be had.
 */
export async function verifyEvidence(evidence: Evidence, options: VerifyOptions): Promise<VerificationResult> {
  switch (evidence.tee) {
    case 'sev-snp':
      return verifySnpEvidence(evidence, options);
    case 'tdx':
    case 'sgx':
      return verifyIntelEvidence(evidence, options);
  }
}
