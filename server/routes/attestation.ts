// POST /v1/challenge and POST /v1/attest: the unauthenticated half of the API, used by
// guest agents. Both are rate limited per client address.

import { createRoute, z } from '@hono/zod-openapi';
import { attest } from '../attest.ts';
import type { ServiceContext } from '../context.ts';
import { evidenceSchema, teePublicKeySchema, teeSchema, toEvidence, toTeePublicKey } from '../evidence-input.ts';
import { newRouter, rateLimit } from '../http.ts';
import { ApiError, problemResponse } from '../problem.ts';
import { releaseNamesSchema } from '../secrets/attest-release.ts';
import type { Evidence } from '../../verifier/evidence.ts';
import { problem } from './schemas.ts';

const challengeRoute = createRoute({
  method: 'post',
  path: '/v1/challenge',
  tags: ['attestation'],
  summary: 'Get a single-use challenge',
  description: 'A challenge signed by the server with its expiry. Its nonce goes into the REPORT_DATA binding.',
  request: { body: { required: true, content: { 'application/json': { schema: z.strictObject({ tee: teeSchema }).openapi('ChallengeRequest') } } } },
  responses: {
    200: {
      description: 'The challenge',
      content: {
        'application/json': {
          schema: z
            .object({
              challenge: z.string().openapi({ description: 'Opaque; send it back with the evidence' }),
              nonce: z.string().openapi({ description: '32 random bytes, base64url: the nonce of the REPORT_DATA binding' }),
              expiresAt: z.string().openapi({ format: 'date-time' }),
            })
            .openapi('Challenge'),
        },
      },
    },
    400: problem('Malformed request'),
    429: problem('Rate limited'),
  },
});

const attestRoute = createRoute({
  method: 'post',
  path: '/v1/attest',
  tags: ['attestation'],
  summary: 'Submit evidence for an attestation result',
  description:
    'Consumes the challenge, checks REPORT_DATA = SHA-512("tessera-attest-v1" || nonce || RFC 7638 thumbprint of teePublicKey), verifies the evidence, appraises it with the active policy and returns an EAR token bound to teePublicKey (cnf). A denial is a 403 listing every failed check and rule.',
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .strictObject({
              challenge: z.string().min(1).max(512),
              tee: teeSchema,
              evidence: evidenceSchema,
              teePublicKey: teePublicKeySchema,
              release: releaseNamesSchema.optional(),
            })
            .openapi('AttestRequest'),
        },
      },
    },
  },
  responses: {
    200: {
      description: 'Attestation result issued',
      content: {
        'application/json': {
          schema: z
            .object({
              token: z.string().openapi({ description: 'EAR JWT, ES256; verify with /.well-known/jwks.json' }),
              expiresAt: z.string().openapi({ format: 'date-time' }),
              status: z.enum(['affirming', 'warning']),
              attestationId: z.string(),
              secrets: z.record(z.string(), z.string()).optional().openapi({ description: 'name -> compact JWE (ECDH-ES+A256KW, A256GCM) to teePublicKey, for the names in `release`' }),
              releaseDenials: z
                .array(z.object({ name: z.string(), version: z.number().int().nullable(), code: z.string(), detail: z.string(), failedRules: z.array(z.unknown()).optional() }))
                .optional(),
            })
            .openapi('AttestResult'),
        },
      },
    },
    400: problem('Malformed request, evidence or challenge (expired, forged, malformed, wrong tee)'),
    403: problem('Denied: failedChecks and failedRules say why (code attestation_denied)'),
    409: problem('The challenge was already used (code challenge_replayed)'),
    429: problem('Rate limited'),
    503: problem('collateral_unavailable, no_active_policy, server_busy (verification queue full; Retry-After), or database_unavailable (a decision could not be made durable)'),
  },
});

/**
 * Revocation lists and TCB documents on the attest path come from the server's collateral
 * cache, not from the attester, unless the operator allows it (collateral.acceptFromEvidence):
 * an attester choosing its own still-valid but older TCB Info or CRL could hide a TCB recovery
 * or a revocation. (POST /v1/policies/evaluate is an admin what-if and accepts them.)
 */
export function refuseAttesterCollateral(ctx: ServiceContext, evidence: Evidence): void {
  if (ctx.config.collateral.acceptFromEvidence) return;
  const snpLike = evidence.tee === 'sev-snp' || evidence.tee === 'az-snp-vtpm';
  const sent = snpLike ? evidence.crl !== undefined : evidence.collateral !== undefined;
  if (sent) {
    throw new ApiError(
      400,
      'evidence_collateral_refused',
      `This server takes CRLs and TCB documents from its own collateral cache, not from the attester; send the evidence without ${snpLike ? 'evidence.crl' : 'evidence.collateral'}.`,
    );
  }
}

export function attestationRoutes(ctx: ServiceContext) {
  const r = newRouter();
  r.use('/v1/challenge', rateLimit(ctx, 'challenge'));
  r.use('/v1/attest', rateLimit(ctx, 'attest'));

  r.openapi(challengeRoute, (c) => c.json(ctx.challenges.issue(c.req.valid('json').tee), 200));

  r.openapi(attestRoute, async (c) => {
    const started = performance.now();
    const body = c.req.valid('json');
    let outcome = 'error';
    try {
      const teePublicKey = toTeePublicKey(body.teePublicKey);
      const evidence = toEvidence(body.tee, body.evidence);
      refuseAttesterCollateral(ctx, evidence);
      const result = await attest(ctx, {
        challenge: body.challenge,
        tee: body.tee,
        evidence,
        teePublicKey,
        clientAddress: c.get('clientAddress'),
        ...(body.release ? { release: body.release } : {}),
      });
      outcome = result.status;
      if (result.issued) {
        return c.json(
          {
            token: result.token,
            expiresAt: new Date(result.expiresAt).toISOString(),
            status: result.status as 'affirming' | 'warning',
            attestationId: result.attestationId,
            ...result.releases,
          },
          200,
        );
      }
      const { failedChecks, failedRules } = result.denial;
      return problemResponse(
        c,
        403,
        'attestation_denied',
        `The evidence was not accepted: ${failedChecks.length} failed check(s) and ${failedRules.length} failed policy rule(s).`,
        { earStatus: 'contraindicated', attestationId: result.attestationId, failedChecks, failedRules },
      ) as never;
    } catch (err) {
      // Refusals carry a code (ApiError, ChallengeError, the verifier's errors); anything else is a bug.
      outcome = err instanceof ApiError || (typeof err === 'object' && err !== null && 'code' in err) ? 'rejected' : 'error';
      throw err;
    } finally {
      ctx.metrics.attestationSeconds.observe({ tee: body.tee, outcome }, (performance.now() - started) / 1000);
    }
  });
  return r;
}
