// Schemas shared by several routes (and named in the OpenAPI document).

import { z } from '@hono/zod-openapi';

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().openapi({ description: 'Stable, machine-readable error code' }),
    instance: z.string().optional(),
  })
  .passthrough()
  .openapi('Problem', { description: 'RFC 9457 problem details' });

export const problemContent = { 'application/problem+json': { schema: problemSchema } } as const;

export const problem = (description: string) => ({ description, content: problemContent });

export const nameParam = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'expected a name of letters, digits, . _ - (at most 128, starting with a letter or digit)')
  .openapi({ param: { name: 'name', in: 'path' }, example: 'production' });

export const checkSchema = z
  .object({ id: z.string(), ok: z.boolean(), detail: z.string(), expected: z.unknown().optional(), found: z.unknown().optional() })
  .openapi('Check');

export const ruleOutcomeSchema = z
  .object({
    id: z.string(),
    ok: z.boolean(),
    effect: z.enum(['deny', 'warn']),
    detail: z.string(),
    expected: z.unknown().optional(),
    found: z.unknown().optional(),
  })
  .openapi('RuleOutcome');

export const decisionSchema = z
  .object({
    status: z.enum(['affirming', 'warning', 'contraindicated']),
    allowed: z.boolean(),
    trustworthinessVector: z.record(z.string(), z.number()),
    rules: z.array(ruleOutcomeSchema),
  })
  .openapi('PolicyDecision');

export const verificationResultSchema = z
  .object({
    verified: z.boolean(),
    tee: z.enum(['sev-snp', 'tdx', 'sgx', 'az-snp-vtpm', 'az-tdx-vtpm']),
    product: z.string().optional(),
    signer: z.string().optional(),
    claims: z.record(z.string(), z.unknown()).optional(),
    checks: z.array(checkSchema),
    warnings: z.array(z.string()),
    tcb: z.record(z.string(), z.unknown()).optional(),
    platform: z.record(z.string(), z.unknown()).optional().openapi({ description: 'Intel only: SHA-256 of the PPID, the PCE-ID and the QE identity' }),
    collateral: z.array(z.record(z.string(), z.unknown())),
  })
  .openapi('VerificationResult');

export const bearerSecurity = [{ bearerAuth: [] }];

// The refusals of requireScope (server/http.ts), for the responses of a route behind it.
// Every valid token has at least scope auditor, so only admin routes answer 403.
const authRefusals = {
  401: problem('No valid token (unauthenticated, token_revoked)'),
  429: problem('Too many refused authentications from this address (rate_limited, with Retry-After)'),
};
export const auditorAuthResponses = authRefusals;
export const adminAuthResponses = { ...authRefusals, 403: problem('Token lacks scope admin (insufficient_scope)') };
