// POST /kbs/v0/attest: the Attestation {init-data?, runtime-data: {nonce, tee-pubkey},
// tee-evidence: {primary_evidence, additional_evidence}} (kbs-types 0.18 Attestation,
// CompositeEvidence; trustee kbs/src/attestation/backend.rs `__attest`), decided by the same
// verifier, policy, EAR and audit as POST /v1/attest (server/attest.ts decideBound).
//
// Binding: REPORT_DATA must be the hash (the session's algorithm) of the JCS of
// {"tee-pubkey", "nonce", "additional-evidence"} (server/kbs/report-data.ts), zero-padded to
// 64 bytes; for Azure vTPM evidence the unpadded digest is the TPM quote's nonce (trustee
// az_snp_vtpm verify_tpm_nonce). The nonce must be the session's, and is consumed at the
// commit of the decision, like a /v1 challenge (a KBS nonce is padded standard base64, 44
// characters, so it never equals a /v1 nonce, 43 characters of base64url).
//
// Deviations from Trustee, both failing closed: a session that already attested is refused
// (Trustee answers its old token again without looking at the evidence), and non-empty
// additional_evidence (device attestation) is refused, since nothing here verifies it.

import { timingSafeEqual } from 'node:crypto';
import type { JWK } from 'jose';
import { ChallengeError } from '../challenge.ts';
import type { ServiceContext } from '../context.ts';
import { attestBound, BINDING_CHECK_ID, type AttestOutcome } from '../attest.ts';
import type { AuditInput, KbsSessionRow } from '../storage/store.ts';
import type { Check, VerificationResult } from '../../verifier/result.ts';
import { EvidenceFormatError } from '../../verifier/errors.ts';
import { ApiError } from '../problem.ts';
import { refuseAttesterCollateral } from '../routes/attestation.ts';
import { attestFailed, KbsError } from './errors.ts';
import { evidenceFromKbs } from './evidence/index.ts';
import { initDataCheck, readInitData } from './init-data.ts';
import { isKbsHashAlgorithm, kbsReportData } from './report-data.ts';
import { sameString } from './session.ts';
import { readTeePubkey, type KbsTeeKey } from './tee-pubkey.ts';
import { KBS_TEES, isKbsTee } from './tees.ts';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export interface KbsAttestInput {
  /** The session's stored key (SHA-256 of the cookie) and row. */
  key: string;
  session: KbsSessionRow;
  body: unknown;
  clientAddress: string | null;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function reportDataCheck(result: VerificationResult, expected: Buffer, digest: Buffer): Check {
  const azure = result.tee === 'az-snp-vtpm' || result.tee === 'az-tdx-vtpm';
  const want = azure ? hex(digest) : hex(expected);
  const found = azure ? result.claims?.tpm?.nonce : result.claims?.reportData;
  const ok = typeof found === 'string' && found.length === want.length && timingSafeEqual(Buffer.from(found.toLowerCase()), Buffer.from(want));
  return {
    id: BINDING_CHECK_ID,
    ok,
    detail: ok
      ? `${azure ? "The TPM quote's nonce" : 'REPORT_DATA'} binds the KBS nonce and tee-pubkey`
      : `${azure ? "The TPM quote's nonce is not" : 'REPORT_DATA is not'} the hash of the canonical JSON of the runtime data {nonce, tee-pubkey, additional-evidence}: the evidence was not made for this session and key`,
    expected: want,
    found: found ?? null,
  };
}

/** Read and bind the Attestation, then decide it. Throws KbsError for every refusal of the request itself. */
export async function kbsAttest(ctx: ServiceContext, input: KbsAttestInput, now: number): Promise<{ outcome: AttestOutcome; teeKey: KbsTeeKey }> {
  const { session, body } = input;
  // trustee: "Session ... is already attested" (see the header comment).
  if (session.state !== 'auth') throw attestFailed('kbs_nonce_used', 'this session already attested; its nonce is used once (start again with /auth)');
  if (!isKbsTee(session.tee) || !isKbsHashAlgorithm(session.hashAlg)) throw attestFailed('kbs_session_invalid', 'the session is not one this server opened');
  if (!isRecord(body)) throw attestFailed('kbs_request_invalid', 'deserialize Attestation: expected a JSON object');
  const runtime = body['runtime-data'];
  const evidence = body['tee-evidence'];
  if (!isRecord(runtime) || typeof runtime.nonce !== 'string') throw attestFailed('kbs_request_invalid', 'deserialize Attestation: runtime-data must be {nonce, tee-pubkey}');
  if (!isRecord(evidence) || !('primary_evidence' in evidence) || typeof evidence.additional_evidence !== 'string') {
    throw attestFailed('kbs_request_invalid', 'deserialize Attestation: tee-evidence must be {primary_evidence, additional_evidence}');
  }
  // trustee: "the nonce in the handshake session is different from the client side ..."
  if (!sameString(runtime.nonce, session.nonce)) {
    throw attestFailed('kbs_nonce_mismatch', "the nonce in the handshake session is different from the client side in KBS protocol's Attestation message");
  }
  if (evidence.additional_evidence !== '') throw attestFailed('kbs_additional_evidence_unsupported', 'additional_evidence (device attestation) is not supported by this server; send it empty');
  const teeKey = readTeePubkey(runtime['tee-pubkey']);
  const init = readInitData(body['init-data']);
  const translated = evidenceFromKbs(session.tee, evidence.primary_evidence);
  try {
    // The same rule as /v1/attest: CRLs and TCB documents come from our cache, not the attester.
    refuseAttesterCollateral(ctx, translated);
  } catch (err) {
    if (err instanceof ApiError) throw attestFailed(err.code, err.detail);
    throw err;
  }

  // The runtime data as trustee rebuilds it for the primary evidence (backend.rs).
  const runtimeData = { 'tee-pubkey': teeKey, nonce: session.nonce, 'additional-evidence': evidence.additional_evidence };
  const expected = kbsReportData(runtimeData, session.hashAlg);
  const digest = expected.subarray(0, { sha256: 32, sha384: 48, sha512: 64 }[session.hashAlg]);
  const tee = KBS_TEES[session.tee];
  const azure = tee === 'az-snp-vtpm' || tee === 'az-tdx-vtpm';

  const audit = (o: { attestationId: string; status: string; tokenJti: string | null; failedChecks: string[] }): AuditInput[] => [
    {
      action: 'kbs.attest',
      outcome: o.status,
      actor: 'anonymous',
      subject: input.key.slice(0, 16),
      tee,
      clientAddress: input.clientAddress,
      at: now,
      details: { attestationId: o.attestationId, tokenJti: o.tokenJti, hashAlg: session.hashAlg, initData: init ? init.claims.digest : null, failedChecks: o.failedChecks },
    },
  ];
  try {
    const outcome = await attestBound(
      ctx,
      {
        tee,
        evidence: translated,
        teePublicKey: teeKey as JWK,
        clientAddress: input.clientAddress,
        nonce: session.nonce,
        expiresAt: session.expiresAt,
        ...(azure ? { verifierNonce: digest } : {}),
        extraClaims: () => (init ? { initData: init.claims } : undefined),
        bindings: async (result) => [
          reportDataCheck(result, expected, digest),
          ...(init ? [initDataCheck(result, init)] : []),
        ],
        audit,
      },
      now,
    );
    return { outcome, teeKey };
  } catch (err) {
    // The nonce was consumed by another request between the session read and the commit.
    if (err instanceof ChallengeError) {
      throw attestFailed(err.code === 'challenge_expired' ? 'kbs_session_expired' : 'kbs_nonce_used', err.code === 'challenge_expired' ? 'session expired' : 'this session\'s nonce was used already');
    }
    if (err instanceof EvidenceFormatError) throw attestFailed(err.code, `verify TEE evidence failed: ${err.message}`);
    throw err;
  }
}

/** Whether a thrown value is a refusal with a code (audited as kbs.attest rejected). */
export function refusalCode(err: unknown): string | undefined {
  if (err instanceof KbsError) return err.code;
  if (typeof err === 'object' && err !== null && 'code' in err && typeof (err as { code: unknown }).code === 'string') return (err as { code: string }).code;
  return undefined;
}
