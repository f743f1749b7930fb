// The attestation decision (DESIGN.md flow steps 3 and 5): challenge, verification, binding,
// appraisal, result token, and the records of it, in that order. What is stored is written
// in one transaction at the end, so a request refused as malformed, or whose collateral
// could not be had, consumes nothing and records nothing.

import { createHash, randomUUID } from 'node:crypto';
import type { JWK } from 'jose';
import { expectedAzureNonce, expectedReportData } from '../verifier/binding.ts';
import { CollateralUnavailableError, EvidenceFormatError } from '../verifier/errors.ts';
import type { Evidence } from '../verifier/evidence.ts';
import { canonicalJson } from '../verifier/policy/canonical.ts';
import { evaluateAppraisalPolicy, type AppraisalPolicy, type EarStatus, type PolicyDecision, type RuleOutcome } from '../verifier/policy/index.ts';
import { failedChecks, type Check, type Claims, type Tee, type VerificationResult } from '../verifier/result.ts';
import { intelChainReachesAnchors } from '../verifier/tdx/verify-evidence.ts';
import { prepareEvidence } from '../verifier/verify-evidence.ts';
import { ChallengeError, challengeReplayed, type OpenedChallenge } from './challenge.ts';
import type { ServiceContext } from './context.ts';
import { issueEar, type PolicyId } from './ear.ts';
import { prepareReleases, refusedReleasesAudit, type AttestReleases } from './secrets/attest-release.ts';
import { readEpoch, type EpochReading } from './storage/epoch-cached.ts';
import type { AuditInput } from './storage/store.ts';

export const BINDING_CHECK_ID = 'binding.report-data';

/**
 * No domain could gather the collateral of this Intel quote. If its PCK chain reaches none of
 * the domains' roots (a forged or corrupted quote: its FMSPC names no real platform), waiting
 * cannot help: the answer is a 400 naming the chain, not a 503 with Retry-After.
 */
function untrustedIntelChain(ctx: ServiceContext, evidence: Evidence): EvidenceFormatError | undefined {
  if (evidence.tee !== 'tdx' && evidence.tee !== 'sgx') return undefined;
  const checks = ctx.trust.map((domain) => intelChainReachesAnchors(evidence.quote, domain.anchors.intel));
  if (checks.some((c) => c.ok)) return undefined;
  return new EvidenceFormatError('intel_pck_untrusted', `The quote's PCK certificate chain leads to no trusted Intel root, so its collateral is not sought: ${checks[0]?.detail ?? ''}`);
}

/**
 * Verify the evidence in each trust domain in turn (one in production), with the CRL mode,
 * counted in the metrics: its collateral gathered here, its checks run by the verifier pool
 * (off the event loop). The first domain under which the evidence verifies wins; if none
 * does, the result with the fewest failed checks explains the refusal. A domain whose
 * collateral is unavailable is skipped; if every domain throws, the first error is thrown.
 */
export async function verifyWithService(ctx: ServiceContext, evidence: Evidence, at: Date, alone = false, nonce?: Uint8Array): Promise<VerificationResult> {
  let best: VerificationResult | undefined;
  let firstError: unknown;
  for (const [index, domain] of ctx.trust.entries()) {
    let r: VerificationResult;
    try {
      const prepared = await prepareEvidence(evidence, { at, anchors: domain.anchors, collateral: domain.collateral, crl: ctx.config.crl, ...(nonce ? { nonce } : {}) });
      r = await ctx.verifier.verify(prepared, index, alone);
    } catch (err) {
      // Malformed evidence is malformed in every domain: no point trying the others.
      if (!(err instanceof CollateralUnavailableError) || ctx.trust.length === 1) {
        ctx.metrics.verifications.inc({ tee: evidence.tee, outcome: err instanceof EvidenceFormatError ? 'malformed' : err instanceof CollateralUnavailableError ? 'collateral_unavailable' : 'error' });
        throw err;
      }
      firstError ??= err;
      continue;
    }
    if (r.verified) {
      best = r;
      break;
    }
    if (!best || failedChecks(r).length < failedChecks(best).length) best = r;
  }
  if (!best) {
    const untrusted = untrustedIntelChain(ctx, evidence);
    if (untrusted) {
      ctx.metrics.verifications.inc({ tee: evidence.tee, outcome: 'malformed' });
      throw untrusted;
    }
    ctx.metrics.verifications.inc({ tee: evidence.tee, outcome: 'collateral_unavailable' });
    throw firstError;
  }
  ctx.metrics.verifications.inc({ tee: evidence.tee, outcome: best.verified ? 'verified' : 'rejected' });
  return best;
}

const isAzure = (tee: Tee): tee is 'az-snp-vtpm' | 'az-tdx-vtpm' => tee === 'az-snp-vtpm' || tee === 'az-tdx-vtpm';

/**
 * The nonce Azure vTPM evidence must carry in its TPM quote (and v2 user-data), given to the
 * verifier so that it checks them (verifier/binding.ts: the Azure form of the binding).
 */
export async function verifierNonce(tee: Tee, nonce: Buffer, teePublicKey: JWK): Promise<Uint8Array | undefined> {
  return isAzure(tee) ? expectedAzureNonce(nonce, teePublicKey) : undefined;
}

/**
 * The REPORT_DATA binding of DESIGN.md step 2, as a check with expected and found values. On
 * Azure the hardware REPORT_DATA is the paravisor's, so the binding is the TPM quote's nonce.
 */
export async function bindingCheck(result: VerificationResult, nonce: Buffer, teePublicKey: JWK): Promise<Check> {
  if (isAzure(result.tee)) {
    const expected = (await expectedAzureNonce(nonce, teePublicKey)).toString('hex');
    const found = result.claims?.tpm?.nonce;
    const ok = typeof found === 'string' && found.toLowerCase() === expected;
    return {
      id: BINDING_CHECK_ID,
      ok,
      detail: ok
        ? 'The TPM quote nonce binds the challenge nonce and the TEE public key'
        : 'The TPM quote nonce is not SHA-384("tessera-attest-azure-v1" || SHA-512("tessera-attest-v1" || nonce || JWK thumbprint of teePublicKey)): the evidence was not made for this challenge and key',
      expected,
      found: found ?? null,
    };
  }
  const expected = (await expectedReportData(nonce, teePublicKey)).toString('hex');
  const found = result.claims?.reportData;
  const ok = typeof found === 'string' && found.toLowerCase() === expected;
  return {
    id: BINDING_CHECK_ID,
    ok,
    detail: ok
      ? 'REPORT_DATA binds the challenge nonce and the TEE public key'
      : 'REPORT_DATA is not SHA-512("tessera-attest-v1" || nonce || JWK thumbprint of teePublicKey): the evidence was not made for this challenge and key',
    expected,
    found: found ?? null,
  };
}

/** SHA-256 (hex) of the canonical JSON of the claims: what the audit log records of them. */
export function claimsDigest(result: VerificationResult): string | null {
  return result.claims ? createHash('sha256').update(canonicalJson(result.claims), 'utf8').digest('hex') : null;
}

export interface Appraisal {
  result: VerificationResult;
  decision: PolicyDecision;
}

/** Appraise an already-verified result under `policy` with the reference values (as of `reading`, else now). */
export async function appraise(ctx: ServiceContext, policy: AppraisalPolicy, result: VerificationResult, reading?: EpochReading): Promise<PolicyDecision> {
  return evaluateAppraisalPolicy(policy, result, await ctx.policies.context(reading));
}

/**
 * A refused challenge (forged, expired, replayed, for another TEE) is a security event: it is
 * audited as a rejected attestation with its code, though nothing else is stored.
 */
async function auditChallengeRefusal(ctx: ServiceContext, input: AttestInput, err: unknown, now: number): Promise<void> {
  if (!(err instanceof ChallengeError)) return;
  await ctx.store.audit.append([{ action: 'attestation', outcome: 'rejected', actor: 'anonymous', tee: input.tee, clientAddress: input.clientAddress, at: now, details: { code: err.code } }]);
}

export interface AttestInput {
  challenge: string;
  tee: Tee;
  evidence: Evidence;
  teePublicKey: JWK;
  clientAddress: string | null;
  /** Secrets to release with the token (server/secrets/attest-release.ts). */
  release?: readonly string[];
}

export interface Denial {
  failedChecks: Check[];
  failedRules: RuleOutcome[];
}

export type AttestOutcome =
  | {
      issued: true;
      attestationId: string;
      token: string;
      jti: string;
      expiresAt: number;
      status: EarStatus;
      decision: PolicyDecision;
      result: VerificationResult;
      /** Present when `release` named secrets. */
      releases?: AttestReleases;
    }
  | { issued: false; attestationId: string; status: 'contraindicated'; denial: Denial; decision: PolicyDecision; result: VerificationResult };

export async function attest(ctx: ServiceContext, input: AttestInput, now: number = Date.now()): Promise<AttestOutcome> {
  return inFlight(ctx, () => decide(ctx, input, now));
}

/** decideBound, counted in flight like attest (for protocols that establish freshness themselves: KBS). */
export function attestBound(ctx: ServiceContext, input: BoundAttestInput, now: number = Date.now()): Promise<AttestOutcome> {
  return inFlight(ctx, () => decideBound(ctx, input, now));
}

async function inFlight<T>(ctx: ServiceContext, run: () => Promise<T>): Promise<T> {
  // Counted from here to the durable verdict: a request still committing keeps the next one
  // off the event loop's own verification (see decideBound, step 2).
  ctx.attestationsInFlight++;
  try {
    return await run();
  } finally {
    ctx.attestationsInFlight--;
  }
}

async function decide(ctx: ServiceContext, input: AttestInput, now: number): Promise<AttestOutcome> {
  // 1. The challenge: signature, expiry, TEE; a cheap replay refusal before the expensive part.
  let opened: OpenedChallenge;
  try {
    opened = ctx.challenges.open(input.challenge, input.tee, now);
    if (await ctx.store.challenges.isConsumed(opened.nonce.toString('base64url'))) throw challengeReplayed();
  } catch (err) {
    await auditChallengeRefusal(ctx, input, err, now);
    throw err;
  }
  try {
    return await decideBound(
      ctx,
      {
        tee: input.tee,
        evidence: input.evidence,
        teePublicKey: input.teePublicKey,
        clientAddress: input.clientAddress,
        ...(input.release ? { release: input.release } : {}),
        nonce: opened.nonce.toString('base64url'),
        expiresAt: opened.expiresAt,
        verifierNonce: await verifierNonce(input.tee, opened.nonce, input.teePublicKey),
        bindings: async (result) => [await bindingCheck(result, opened.nonce, input.teePublicKey)],
      },
      now,
    );
  } catch (err) {
    // Another request consumed the challenge between the early check and now.
    await auditChallengeRefusal(ctx, input, err, now);
    throw err;
  }
}

/**
 * What steps 2 to 5 need once the freshness of the request is established: the evidence, the
 * key the token is bound to (cnf), the nonce recorded as consumed at commit (single use,
 * judged by the store), and the binding checks of this protocol (/v1: bindingCheck; KBS:
 * server/kbs/attest.ts). `claims` adds verified facts outside the hardware report (KBS
 * init-data) before the policy sees the claims; its checks must be among `bindings`.
 */
export interface BoundAttestInput {
  tee: Tee;
  evidence: Evidence;
  teePublicKey: JWK;
  clientAddress: string | null;
  release?: readonly string[];
  nonce: string;
  expiresAt: number;
  /** Azure vTPM: the nonce the verifier compares with the TPM quote's extraData (VerifyOptions.nonce). */
  verifierNonce?: Uint8Array;
  bindings: (result: VerificationResult) => Promise<Check[]>;
  extraClaims?: (result: VerificationResult) => Partial<Claims> | undefined;
  /** More audit entries recorded with the decision (the protocol's own, e.g. kbs.attest). */
  audit?: (outcome: { attestationId: string; status: EarStatus; tokenJti: string | null; failedChecks: string[] }) => AuditInput[];
}

/** Steps 2 to 5 of an attestation whose freshness the caller established (see BoundAttestInput). */
export async function decideBound(ctx: ServiceContext, input: BoundAttestInput, now: number): Promise<AttestOutcome> {
  // 2. The evidence, at the current time. Malformed evidence and missing collateral throw
  //    here, before anything is consumed or stored. Verified on a worker thread, unless this
  //    is the only attestation in progress (server/verification/pool.ts).
  const verified = await verifyWithService(ctx, input.evidence, new Date(now), ctx.attestationsInFlight === 1, input.verifierNonce);
  const extra = verified.claims ? input.extraClaims?.(verified) : undefined;
  const result: VerificationResult = extra && verified.claims ? { ...verified, claims: { ...verified.claims, ...extra } } : verified;

  // 3. The binding to this request's nonce and TEE key, then the active policy.
  const bindings = await input.bindings(result);
  //    One reading of the configuration epoch serves the policy, the reference values, the
  //    signing key and the releases of this attestation: one round trip to the store.
  const reading = await readEpoch(ctx.store.configEpoch);
  const active = await ctx.policies.active(reading);
  const decision = await appraise(ctx, active.policy, result, reading);
  const policyId: PolicyId = { name: active.name, version: active.version, hash: active.hash };

  const allowed = result.verified && bindings.every((b) => b.ok) && decision.allowed && decision.status !== 'contraindicated';
  const status: EarStatus = allowed ? decision.status : 'contraindicated';
  const nonce = input.nonce;

  let issued: { token: string; jti: string; expiresAt: number; kid: string } | undefined;
  if (allowed && result.claims) {
    issued = await issueEar(ctx.keys, {
      tee: input.tee,
      nonce,
      status,
      vector: decision.trustworthinessVector,
      policy: policyId,
      claims: result.claims,
      teePublicKey: input.teePublicKey,
      ttlSeconds: ctx.config.tokenTtlSeconds,
      build: ctx.build,
      now,
      configEpoch: reading,
    });
  }

  // 4. Secrets named in `release`, decided with the token just issued; nothing leaves the
  //    server before step 5 committed.
  const attestationId = randomUUID();
  const releases = issued && input.release ? await prepareReleases(ctx, issued.token, input.release, attestationId, input.clientAddress, now, reading) : undefined;

  // 5. Record it: consume the nonce (authoritative single use, judged at the commit),
  //    store the attestation for replay, and append the audit entries, all or nothing.
  const digest = claimsDigest(result);
  const stored = { ...result, checks: [...result.checks, ...bindings] };
  const failedCheckIds = stored.checks.filter((c) => !c.ok).map((c) => c.id);
  const decisionAudit: AuditInput = {
    action: 'attestation',
    outcome: status,
    actor: 'anonymous',
    subject: attestationId,
    tee: input.tee,
    clientAddress: input.clientAddress,
    at: now,
    details: {
      policy: policyId,
      claimsDigest: digest,
      tokenJti: issued?.jti ?? null,
      kid: issued?.kid ?? null,
      measurement: result.claims?.measurement ?? null,
      failedChecks: failedCheckIds,
      failedRules: decision.rules.filter((r) => !r.ok).map((r) => r.id),
    },
  };
  const releaseAudits = releases ? releases.audit : !issued && input.release ? refusedReleasesAudit(input.release, attestationId, input.tee, input.clientAddress, now) : [];
  const protocolAudits = input.audit?.({ attestationId, status, tokenJti: issued?.jti ?? null, failedChecks: failedCheckIds }) ?? [];
  // Resolves only after the commit (on SQLite, the group commit of this event-loop turn),
  // so nothing is answered before it is durable.
  await ctx.store.attestations.record({
    challenge: { nonce, expiresAt: input.expiresAt },
    attestation: {
      id: attestationId,
      createdAt: now,
      tee: input.tee,
      status,
      policyName: policyId.name,
      policyVersion: policyId.version,
      policyHash: policyId.hash,
      claimsDigest: digest,
      tokenJti: issued?.jti ?? null,
      clientAddress: input.clientAddress,
      // The decision goes with the result, so that the console and GET /v1/attestations/{id}
      // show every rule with expected and found as decided (replay ignores it: it re-appraises).
      result: JSON.stringify({ ...stored, appraisal: { status: decision.status, rules: decision.rules } }),
    },
    audit: [decisionAudit, ...releaseAudits, ...protocolAudits],
  });

  if (issued) {
    return { issued: true, attestationId, token: issued.token, jti: issued.jti, expiresAt: issued.expiresAt, status, decision, result, ...(releases ? { releases: releases.answer } : {}) };
  }
  return {
    issued: false,
    attestationId,
    status: 'contraindicated',
    denial: { failedChecks: stored.checks.filter((c) => !c.ok), failedRules: decision.rules.filter((r) => !r.ok) },
    decision,
    result,
  };
}
