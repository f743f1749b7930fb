// Stored attestation decisions over HTTP (scope auditor): a filtered list, newest first,
// keyset-paginated; one decision with every check and rule, its claims and its audit entry;
// and counts over time for the console's overview. Reads only: nothing here decides.

import { createRoute, z } from '@hono/zod-openapi';
import { queryAudit } from '../audit/log.ts';
import { evaluateAppraisalPolicy } from '../../verifier/policy/index.ts';
import type { RuleOutcome } from '../../verifier/policy/types.ts';
import type { VerificationResult } from '../../verifier/result.ts';
import type { ServiceContext } from '../context.ts';
import { newRouter, requireScope } from '../http.ts';
import { ApiError } from '../problem.ts';
import { StoreCorruptError, type AttestationFilter, type AttestationRow, type AttestationSummary } from '../storage/store.ts';
import { policyRefSchema, resolvePolicy } from './policies.ts';
import { auditorAuthResponses, bearerSecurity, decisionSchema, problem, ruleOutcomeSchema, verificationResultSchema } from './schemas.ts';

const STATUSES = ['affirming', 'warning', 'contraindicated'] as const;
const TEES = ['sev-snp', 'tdx', 'sgx', 'az-snp-vtpm', 'az-tdx-vtpm'] as const;

const summarySchema = z
  .object({
    id: z.string(),
    createdAt: z.string(),
    tee: z.string(),
    status: z.enum(STATUSES),
    policy: z.object({ name: z.string(), version: z.number().int(), hash: z.string() }),
    claimsDigest: z.string().nullable(),
    tokenJti: z.string().nullable().openapi({ description: 'The issued result token id; null for a denial' }),
    clientAddress: z.string().nullable(),
  })
  .openapi('AttestationSummary');

const q = (name: string, description: string) => z.string().max(256).optional().openapi({ param: { name, in: 'query' }, description });

const listRoute = createRoute({
  method: 'get',
  path: '/v1/attestations',
  tags: ['attestations'],
  summary: 'List stored attestation decisions (newest first)',
  security: bearerSecurity,
  request: {
    query: z.object({
      outcome: q('outcome', 'affirming, warning or contraindicated'),
      tee: q('tee', TEES.join(', ')),
      policy: q('policy', 'the appraisal policy name'),
      subject: q('subject', 'the attestation id, its token id (jti), its claims digest, or the measurement (hex)'),
      from: q('from', 'ISO-8601 instant, inclusive'),
      to: q('to', 'ISO-8601 instant, inclusive'),
      limit: q('limit', '1..200, default 50'),
      cursor: q('cursor', 'nextCursor of the previous page'),
    }),
  },
  responses: {
    200: { description: 'A page', content: { 'application/json': { schema: z.object({ attestations: z.array(summarySchema), nextCursor: z.string().nullable() }).openapi('AttestationPage') } } },
    400: problem('Bad filter or cursor'),
    ...auditorAuthResponses,
  },
});

const auditEntrySchema = z.object({ seq: z.number().int(), at: z.string(), action: z.string(), outcome: z.string(), actor: z.string(), details: z.record(z.string(), z.unknown()), prevHash: z.string(), hash: z.string() });

const getRoute = createRoute({
  method: 'get',
  path: '/v1/attestations/{id}',
  tags: ['attestations'],
  summary: 'One attestation decision: every check and rule with expected and found, the claims, the token id and the audit entry',
  security: bearerSecurity,
  request: { params: z.object({ id: z.string().openapi({ param: { name: 'id', in: 'path' }, description: 'The attestation id (a UUID)' }) }) },
  responses: {
    200: {
      description: 'The decision',
      content: {
        'application/json': {
          schema: summarySchema
            .extend({
              result: verificationResultSchema,
              appraisal: z
                .object({
                  recorded: z.boolean().openapi({ description: 'true: the rules as decided; false: re-evaluated now under the recorded policy version (decisions stored before the rules were)' }),
                  status: z.enum(STATUSES),
                  rules: z.array(ruleOutcomeSchema),
                })
                .nullable(),
              audit: auditEntrySchema.nullable(),
            })
            .openapi('AttestationDetail'),
        },
      },
    },
    400: problem('Not an attestation id'),
    ...auditorAuthResponses,
    404: problem('No such attestation (attestation_not_found)'),
  },
});

const statsRoute = createRoute({
  method: 'get',
  path: '/v1/attestations/stats',
  tags: ['attestations'],
  summary: 'Attestations over time per TEE (accepted, denied) and the reasons of the denials',
  security: bearerSecurity,
  request: {
    query: z.object({
      from: q('from', 'ISO-8601 instant, inclusive; default 7 days before `to`'),
      to: q('to', 'ISO-8601 instant, inclusive; default now'),
      bucket: z.enum(['hour', 'day']).optional().openapi({ param: { name: 'bucket', in: 'query' }, description: 'Default day' }),
    }),
  },
  responses: {
    200: {
      description: 'Counts',
      content: {
        'application/json': {
          schema: z
            .object({
              from: z.string(),
              to: z.string(),
              bucketSeconds: z.number().int(),
              series: z.array(z.object({ start: z.string(), tee: z.string(), accepted: z.number().int(), denied: z.number().int() })),
              denials: z.array(z.object({ id: z.string(), count: z.number().int() })).openapi({ description: 'Failed rules and checks of the denials examined, most frequent first' }),
              denialsExamined: z.number().int(),
              truncated: z.boolean().openapi({ description: 'More denials than examined: the reasons are those of the newest' }),
            })
            .openapi('AttestationStats'),
        },
      },
    },
    400: problem('Bad range'),
    ...auditorAuthResponses,
  },
});

const evaluateRoute = createRoute({
  method: 'post',
  path: '/v1/attestations/{id}/evaluate',
  tags: ['attestations'],
  summary: 'What-if: evaluate a policy (a draft, a stored version, or the active one) on a stored attestation',
  description: 'Uses the verification result stored with the attestation (the evidence is not re-verified) and the current reference values. Issues and records nothing.',
  security: bearerSecurity,
  request: {
    params: z.object({ id: z.string().openapi({ param: { name: 'id', in: 'path' } }) }),
    body: { required: true, content: { 'application/json': { schema: z.strictObject({ policy: policyRefSchema.optional() }).openapi('EvaluateStoredRequest') } } },
  },
  responses: {
    200: {
      description: 'The decision the policy would make, with every rule explained, beside the recorded outcome',
      content: {
        'application/json': {
          schema: z.object({
            attestation: z.object({ id: z.string(), status: z.enum(STATUSES), policy: z.object({ name: z.string(), version: z.number().int(), hash: z.string() }) }),
            policy: z.object({ name: z.string().nullable(), version: z.number().int().nullable(), hash: z.string() }),
            decision: decisionSchema,
          }),
        },
      },
    },
    400: problem('Malformed request'),
    ...auditorAuthResponses,
    404: problem('No such attestation or policy'),
    422: problem('The draft policy does not validate (policy_invalid, issues with paths)'),
  },
});

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Denial audit entries examined per stats request: bounded work. */
export const STATS_DENIALS_LIMIT = 5000;
/** Buckets per stats request at most (a month of hours). */
const MAX_BUCKETS = 24 * 31;

function instant(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const t = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(t)) throw new ApiError(400, 'request_invalid', `${name} must be an ISO-8601 instant, e.g. 2025-01-31T00:00:00Z.`);
  return t;
}

function summary(row: AttestationSummary) {
  return {
    id: row.id,
    createdAt: new Date(row.createdAt).toISOString(),
    tee: row.tee,
    status: row.status as (typeof STATUSES)[number],
    policy: { name: row.policyName, version: row.policyVersion, hash: row.policyHash },
    claimsDigest: row.claimsDigest,
    tokenJti: row.tokenJti,
    clientAddress: row.clientAddress,
  };
}

const encodeCursor = (row: AttestationSummary) => Buffer.from(`${row.createdAt}.${row.id}`).toString('base64url');

function decodeCursor(cursor: string): { createdAt: number; id: string } {
  const m = /^[A-Za-z0-9_-]+$/.test(cursor) ? /^(\d{1,16})\.([0-9a-f-]{36})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8')) : null;
  if (!m || !UUID_RE.test(m[2]!)) throw new ApiError(400, 'cursor_invalid', 'cursor is not one this server returned.');
  return { createdAt: Number(m[1]), id: m[2]! };
}

interface StoredResult extends VerificationResult {
  appraisal?: { status: (typeof STATUSES)[number]; rules: RuleOutcome[] };
}

function parseStored(row: AttestationRow): StoredResult {
  try {
    const parsed = JSON.parse(row.result) as unknown;
    if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as VerificationResult).checks)) throw new Error('not a verification result');
    return parsed as StoredResult;
  } catch (err) {
    throw new StoreCorruptError(`attestations ${row.id}`, `the stored result is not the JSON this version writes (${(err as Error).message})`);
  }
}

export function attestationReadRoutes(ctx: ServiceContext) {
  const r = newRouter();
  r.use('/v1/attestations', requireScope(ctx, 'auditor'));
  r.use('/v1/attestations/*', requireScope(ctx, 'auditor'));

  r.openapi(listRoute, async (c) => {
    const p = c.req.valid('query');
    let limit = 50;
    if (p.limit !== undefined) {
      if (!/^\d{1,3}$/.test(p.limit) || Number(p.limit) < 1 || Number(p.limit) > 200) throw new ApiError(400, 'request_invalid', 'limit must be an integer from 1 to 200.');
      limit = Number(p.limit);
    }
    if (p.outcome !== undefined && !(STATUSES as readonly string[]).includes(p.outcome)) throw new ApiError(400, 'request_invalid', `outcome must be one of ${STATUSES.join(', ')}.`);
    if (p.tee !== undefined && !(TEES as readonly string[]).includes(p.tee)) throw new ApiError(400, 'tee_unknown', `tee must be one of ${TEES.join(', ')}.`);
    const filter: AttestationFilter = {
      from: instant(p.from, 'from'),
      to: instant(p.to, 'to'),
      status: p.outcome,
      tee: p.tee,
      policyName: p.policy || undefined,
      // Ids and digests are stored lower case; a pasted upper-case one still finds them.
      subject: p.subject ? p.subject.trim().toLowerCase() : undefined,
      before: p.cursor !== undefined ? decodeCursor(p.cursor) : undefined,
    };
    const rows = await ctx.store.attestations.list(filter, limit + 1);
    const page = rows.slice(0, limit);
    return c.json({ attestations: page.map(summary), nextCursor: rows.length > limit ? encodeCursor(page.at(-1)!) : null }, 200);
  });

  r.openapi(statsRoute, async (c) => {
    const p = c.req.valid('query');
    const to = instant(p.to, 'to') ?? Date.now();
    const from = instant(p.from, 'from') ?? to - 7 * 86_400_000;
    if (to < from) throw new ApiError(400, 'request_invalid', 'to is before from.');
    const bucketMs = (p.bucket ?? 'day') === 'hour' ? 3_600_000 : 86_400_000;
    if ((to - from) / bucketMs > MAX_BUCKETS) throw new ApiError(400, 'request_invalid', `at most ${MAX_BUCKETS} buckets per request: shorten the range or use bucket=day.`);
    const buckets = await ctx.store.attestations.histogram(from, to, bucketMs);
    const series = new Map<string, { start: string; tee: string; accepted: number; denied: number }>();
    for (const b of buckets) {
      const key = `${b.start}|${b.tee}`;
      const s = series.get(key) ?? { start: new Date(b.start).toISOString(), tee: b.tee, accepted: 0, denied: 0 };
      if (b.status === 'contraindicated') s.denied += b.count;
      else s.accepted += b.count;
      series.set(key, s);
    }
    // The reasons come from the decisions' audit entries, which name every failed rule and check.
    const denials = await ctx.store.audit.query({ action: 'attestation', outcome: 'contraindicated', from, to }, STATS_DENIALS_LIMIT + 1);
    const tally = new Map<string, number>();
    for (const d of denials.slice(0, STATS_DENIALS_LIMIT)) {
      let details: { failedRules?: unknown; failedChecks?: unknown; code?: unknown };
      try {
        details = JSON.parse(d.details) as typeof details;
      } catch {
        continue;
      }
      const ids = [...(Array.isArray(details.failedRules) ? details.failedRules : []), ...(Array.isArray(details.failedChecks) ? details.failedChecks : [])];
      // A refused challenge is audited as a denial with only its code.
      if (ids.length === 0 && typeof details.code === 'string') ids.push(details.code);
      for (const id of new Set(ids.filter((x): x is string => typeof x === 'string'))) tally.set(id, (tally.get(id) ?? 0) + 1);
    }
    return c.json(
      {
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        bucketSeconds: bucketMs / 1000,
        series: [...series.values()],
        denials: [...tally].map(([id, count]) => ({ id, count })).sort((a, b) => b.count - a.count || a.id.localeCompare(b.id)),
        denialsExamined: Math.min(denials.length, STATS_DENIALS_LIMIT),
        truncated: denials.length > STATS_DENIALS_LIMIT,
      },
      200,
    );
  });

  r.openapi(evaluateRoute, async (c) => {
    const { id } = c.req.valid('param');
    if (!UUID_RE.test(id)) throw new ApiError(400, 'request_invalid', 'id must be an attestation id (a lower-case UUID).');
    const body = c.req.valid('json');
    const row = await ctx.store.attestations.get(id);
    if (!row) throw new ApiError(404, 'attestation_not_found', `There is no attestation ${id}.`);
    const policy = await resolvePolicy(ctx, body.policy);
    const { appraisal: _recorded, ...result } = parseStored(row);
    const decision = evaluateAppraisalPolicy(policy.policy, result, await ctx.policies.context());
    return c.json(
      {
        attestation: { id: row.id, status: row.status as (typeof STATUSES)[number], policy: { name: row.policyName, version: row.policyVersion, hash: row.policyHash } },
        policy: { name: policy.name, version: policy.version, hash: policy.hash },
        decision,
      },
      200,
    );
  });

  r.openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    if (!UUID_RE.test(id)) throw new ApiError(400, 'request_invalid', 'id must be an attestation id (a lower-case UUID).');
    const row = await ctx.store.attestations.get(id);
    if (!row) throw new ApiError(404, 'attestation_not_found', `There is no attestation ${id}.`);
    const { appraisal: stored, ...result } = parseStored(row);
    let appraisal: { recorded: boolean; status: (typeof STATUSES)[number]; rules: RuleOutcome[] } | null = stored ? { recorded: true, ...stored } : null;
    if (!appraisal) {
      // Decided before the rules were stored: re-evaluated under the same policy version
      // (when it is still the same document), with today's reference values, and said so.
      const doc = await ctx.policies.get(row.policyName, row.policyVersion);
      if (doc && doc.hash === row.policyHash) {
        const d = evaluateAppraisalPolicy(doc.policy, result, await ctx.policies.context());
        appraisal = { recorded: false, status: d.status, rules: d.rules };
      }
    }
    const audit = (await queryAudit(ctx.store.audit, { action: 'attestation', subject: id, limit: 1 })).entries[0];
    return c.json(
      {
        ...summary(row),
        result: result as unknown as z.infer<typeof verificationResultSchema>,
        appraisal,
        audit: audit ? { seq: audit.seq, at: audit.at, action: audit.action, outcome: audit.outcome, actor: audit.actor, details: audit.details, prevHash: audit.prevHash, hash: audit.hash } : null,
      },
      200,
    );
  });
  return r;
}
