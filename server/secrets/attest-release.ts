// Release in the attestation round trip: POST /v1/attest with `release: ["name", ...]`.
// Each name is decided on its own, exactly as GET /v1/secrets/{name} would decide it with
// the token just issued (the subject is read from that token), and each decision gets its
// own audit entry, recorded by server/attest.ts with the attestation (one transaction); the
// JWEs leave the server only after it committed.

import { z } from '@hono/zod-openapi';
import { decodeJwt } from 'jose';
import type { ServiceContext } from '../context.ts';
import type { EarPayload } from '../ear.ts';
import type { EpochReading } from '../storage/epoch-cached.ts';
import type { AuditInput } from '../storage/store.ts';
import { decideRelease, guestDenial, releaseAudit, subjectOf, type ReleaseDecision } from './release.ts';
import { isSecretName } from './store.ts';

export const MAX_RELEASE_NAMES = 16;

/** The `release` field of POST /v1/attest. */
export const releaseNamesSchema = z
  .array(z.string().refine(isSecretName, 'expected a secret name (letters, digits, . _ -, at most 128, no "..")'))
  .min(1)
  .max(MAX_RELEASE_NAMES)
  .openapi({ description: `Secrets to release with the token, at most ${MAX_RELEASE_NAMES}; answered as \`secrets\` (name -> compact JWE) and \`releaseDenials\`` });

export interface ReleaseDenial {
  name: string;
  version: number | null;
  code: string;
  detail: string;
  failedRules?: unknown[];
}

export interface AttestReleases {
  /** name -> compact JWE (ECDH-ES+A256KW, A256GCM) to the token's cnf key. */
  secrets: Record<string, string>;
  /** Present when some names were not released, one entry each. */
  releaseDenials?: ReleaseDenial[];
}

export interface PreparedReleases {
  answer: AttestReleases;
  /** One audit entry per decision, to record with the attestation. */
  audit: AuditInput[];
}

/**
 * Decide the release of `names` to the result `token` issued for attestation `attestationId`,
 * without recording anything yet: the caller records the entries (`audit`) with the
 * attestation, so the round trip costs one commit, and sends the JWEs only after it.
 */
export async function prepareReleases(ctx: ServiceContext, token: string, names: readonly string[], attestationId: string, clientAddress: string | null, now: number, reading?: EpochReading): Promise<PreparedReleases> {
  const subject = subjectOf(decodeJwt(token) as EarPayload);
  const decisions: ReleaseDecision[] = [];
  for (const name of new Set(names)) decisions.push(await decideRelease(ctx, ctx.secrets, subject, name, undefined, reading));
  const answer: AttestReleases = { secrets: {} };
  const denials: ReleaseDenial[] = [];
  for (const d of decisions) {
    if (d.released) answer.secrets[d.name] = d.jwe;
    else {
      const g = guestDenial(d);
      denials.push({ name: g.name, version: g.version, code: g.code, detail: g.detail, ...(g.failedRules.length > 0 ? { failedRules: g.failedRules } : {}) });
    }
  }
  if (denials.length > 0) answer.releaseDenials = denials;
  return { answer, audit: decisions.map((d) => releaseAudit({ ...d, via: 'attest', attestationId }, subject, clientAddress, now)) };
}

/** The attestation itself was refused: every name asked for is denied, each denial audited (recorded with the attestation). */
export function refusedReleasesAudit(names: readonly string[], attestationId: string, tee: string, clientAddress: string | null, now: number): AuditInput[] {
  return [...new Set(names)].map((name) => releaseAudit({ name, version: null, released: false, code: 'attestation_denied', via: 'attest', attestationId, tee }, null, clientAddress, now));
}
