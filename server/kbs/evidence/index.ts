// The primary evidence of a KBS Attestation, per TEE, translated into the verifier's
// Evidence: one small module per shape. Azure vTPM evidence already is the agent's JSON
// that verifier/azure/evidence-json.ts reads.

import { azureEvidenceFromJson } from '../../../verifier/azure/evidence-json.ts';
import type { Evidence } from '../../../verifier/evidence.ts';
import type { KbsTee } from '../tees.ts';
import { snpEvidenceFromKbs } from './snp.ts';
import { tdxEvidenceFromKbs } from './tdx.ts';

/** Throws KbsError (kbs_evidence_invalid) or EvidenceFormatError (the Azure reader's codes). */
export function evidenceFromKbs(tee: KbsTee, primary: unknown): Evidence {
  switch (tee) {
    case 'snp':
      return snpEvidenceFromKbs(primary);
    case 'tdx':
      return tdxEvidenceFromKbs(primary);
    case 'az-snp-vtpm':
    case 'az-tdx-vtpm':
      return azureEvidenceFromJson(tee, primary);
  }
}
