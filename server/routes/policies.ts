// Appraisal policies: upload (new immutable version), read, list, activate; and the
// what-if endpoints that issue nothing: evaluate a policy on given evidence at a given
// time, and replay a draft against the stored attestations of a period.

import { createRoute, z } from '@hono/zod-openapi';
import { parseAppraisalPolicy, policyHash, evaluateAppraisalPolicy, type AppraisalPolicy } from '../../verifier/policy/index.ts';
import { verifyWithService } from '../attest.ts';
import type { ServiceContext } from '../context.ts';
import { evidenceSchema, teeSchema, toEvidence } from '../evidence-input.ts';
import { actorOf, newRouter, parseVersion, requireScope } from '../http.ts';
import { replay } from '../policies/replay.ts';
import { ApiError } from '../problem.ts';
import { bearerSecurity, decisionSchema, nameParam, problem, verificationResultSchema, adminAuthResponses, auditorAuthResponses } from './schemas.ts';

const versionInfoSchema = z
  .object({
    name: z.string(),
    version: z.number().int(),
    hash: z.string().openapi({ description: 'SHA-256 of the canonical JSON of the validated policy' }),
    format: z.enum(['yaml', 'json']),
    createdAt: z.string(),
    createdBy: z.string(),
    active: z.boolean(),
  })
  .openapi('PolicyVersion');

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];

const putRoute = createRoute({
  method: 'put',
  path: '/v1/policies/{name}',
  tags: ['policies'],
  summary: 'Upload a new version of a policy',
  description: 'JSON (application/json) or YAML (application/yaml). Validated, CEL rules compiled; errors point at the field. Uploading the same policy as the latest version creates no new version.',
  security: bearerSecurity,
  request: {
    params: z.object({ name: nameParam }),
    body: {
      required: true,
      content: {
        'application/yaml': { schema: { type: 'string', description: 'Appraisal policy, YAML' } },
        'application/json': { schema: { type: 'object', description: 'Appraisal policy, JSON' } },
      },
    },
  },
  responses: {
    200: { description: 'Unchanged: identical to the latest version', content: { 'application/json': { schema: versionInfoSchema } } },
    201: { description: 'New version stored', content: { 'application/json': { schema: versionInfoSchema } } },
    ...adminAuthResponses,
    415: problem('Neither JSON nor YAML'),
    422: problem('The policy does not validate (code policy_invalid, issues with paths)'),
  },
});

const listRoute = createRoute({
  method: 'get',
  path: '/v1/policies',
  tags: ['policies'],
  summary: 'List policies',
  security: bearerSecurity,
  responses: {
    200: {
      description: 'Policies',
      content: {
        'application/json': {
          schema: z.object({
            active: z.object({ name: z.string(), version: z.number().int(), hash: z.string() }).nullable(),
            policies: z.array(z.object({ name: z.string(), latestVersion: z.number().int(), activeVersion: z.number().int().nullable() })),
          }),
        },
      },
    },
    ...auditorAuthResponses,
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/v1/policies/{name}',
  tags: ['policies'],
  summary: 'Read a policy version (default: the latest) and the list of versions',
  security: bearerSecurity,
  request: {
    params: z.object({ name: nameParam }),
    query: z.object({ version: z.string().optional().openapi({ param: { name: 'version', in: 'query' }, example: '1' }) }),
  },
  responses: {
    200: {
      description: 'The policy',
      content: {
        'application/json': {
          schema: versionInfoSchema.extend({ source: z.string(), policy: z.record(z.string(), z.unknown()), versions: z.array(versionInfoSchema) }).openapi('PolicyDocument'),
        },
      },
    },
    ...auditorAuthResponses,
    404: problem('No such policy or version'),
  },
});

const activateRoute = createRoute({
  method: 'post',
  path: '/v1/policies/{name}/activate',
  tags: ['policies'],
  summary: 'Make a policy version the active appraisal policy',
  security: bearerSecurity,
  request: {
    params: z.object({ name: nameParam }),
    body: { required: false, content: { 'application/json': { schema: z.strictObject({ version: z.number().int().min(1).optional() }) } } },
  },
  responses: {
    200: { description: 'Activated', content: { 'application/json': { schema: versionInfoSchema } } },
    ...adminAuthResponses,
    404: problem('No such policy or version'),
  },
});

/** Which policy a what-if uses: a stored one by name, or a draft document (YAML/JSON text or JSON object). */
export const policyRefSchema = z
  .union([
    z.strictObject({ name: z.string().min(1).max(128), version: z.number().int().min(1).optional() }),
    z.strictObject({ draft: z.union([z.string().min(1).max(256 * 1024), z.record(z.string(), z.unknown())]), format: z.enum(['yaml', 'json']).optional() }),
  ])
  .openapi('PolicyRef', { description: '{name, version?} of a stored policy, or {draft} (YAML/JSON text or a JSON object). Omitted: the active policy.' });

const evaluateRoute = createRoute({
  method: 'post',
  path: '/v1/policies/evaluate',
  tags: ['policies'],
  summary: 'What-if: verify evidence and evaluate a policy, issuing nothing',
  security: bearerSecurity,
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .strictObject({
              policy: policyRefSchema.optional(),
              tee: teeSchema,
              evidence: evidenceSchema,
              at: z.iso.datetime({ offset: true }).optional().openapi({ description: 'Verification time (default now)' }),
            })
            .openapi('EvaluateRequest'),
        },
      },
    },
  },
  responses: {
    200: {
      description: 'The verification result and the policy decision with every rule explained',
      content: {
        'application/json': {
          schema: z.object({
            at: z.string(),
            policy: z.object({ name: z.string().nullable(), version: z.number().int().nullable(), hash: z.string() }),
            result: verificationResultSchema,
            decision: decisionSchema,
          }),
        },
      },
    },
    400: problem('Malformed request or evidence'),
    ...auditorAuthResponses,
    404: problem('No such policy'),
    422: problem('The draft policy does not validate'),
    503: problem('Collateral unavailable'),
  },
});

const replayRoute = createRoute({
  method: 'post',
  path: '/v1/policies/replay',
  tags: ['policies'],
  summary: 'What-if: re-evaluate stored attestations under a policy',
  description: 'Uses the verification results stored with each attestation (the evidence is not re-verified) and the current reference values.',
  security: bearerSecurity,
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .strictObject({
              policy: policyRefSchema,
              since: z.iso.datetime({ offset: true }),
              until: z.iso.datetime({ offset: true }).optional(),
            })
            .openapi('ReplayRequest'),
        },
      },
    },
  },
  responses: {
    200: {
      description: 'How many would pass and which rules would fail',
      content: {
        'application/json': {
          schema: z
            .object({
              policy: z.object({ name: z.string().nullable(), version: z.number().int().nullable(), hash: z.string() }),
              since: z.string(),
              until: z.string(),
              total: z.number().int(),
              wouldPass: z.number().int(),
              wouldFail: z.number().int(),
              byStatus: z.record(z.string(), z.number().int()),
              changed: z.number().int().openapi({ description: 'Attestations whose status would differ from the recorded one' }),
              failedRules: z.array(z.object({ id: z.string(), failures: z.number().int(), effect: z.enum(['deny', 'warn']) })),
              truncated: z.boolean(),
            })
            .openapi('ReplayReport'),
        },
      },
    },
    400: problem('Malformed request'),
    ...auditorAuthResponses,
    422: problem('The draft policy does not validate'),
  },
});

export type PolicyRef = z.infer<typeof policyRefSchema>;

/** The policy a what-if names: the active one when `ref` is undefined. */
export async function resolvePolicy(ctx: ServiceContext, ref: PolicyRef | undefined): Promise<{ name: string | null; version: number | null; hash: string; policy: AppraisalPolicy }> {
  if (ref === undefined) {
    const a = await ctx.policies.active();
    return { name: a.name, version: a.version, hash: a.hash, policy: a.policy };
  }
  if ('name' in ref) {
    const doc = await ctx.policies.get(ref.name, ref.version);
    if (!doc) throw new ApiError(404, 'policy_not_found', `There is no policy '${ref.name}'${ref.version ? ` version ${ref.version}` : ''}.`);
    return { name: doc.name, version: doc.version, hash: doc.hash, policy: doc.policy };
  }
  const policy = parseAppraisalPolicy(ref.draft, typeof ref.draft === 'string' ? ref.format : undefined);
  return { name: policy.name ?? null, version: null, hash: policyHash(policy), policy };
}

export function policyRoutes(ctx: ServiceContext) {
  const r = newRouter();
  const admin = requireScope(ctx, 'admin');
  const auditor = requireScope(ctx, 'auditor');
  // Paths first, then methods: evaluate and replay are POST routes beside /{name}.
  r.on(['POST'], ['/v1/policies/evaluate', '/v1/policies/replay'], auditor);
  r.on(['PUT'], '/v1/policies/:name', admin);
  r.on(['POST'], '/v1/policies/:name/activate', admin);
  r.on(['GET'], ['/v1/policies', '/v1/policies/:name'], auditor);

  r.openapi(putRoute, async (c) => {
    const { name } = c.req.valid('param');
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    const format = type === 'application/json' ? 'json' : YAML_TYPES.includes(type) ? 'yaml' : undefined;
    if (!format) throw new ApiError(415, 'unsupported_media_type', 'Send the policy as application/json or application/yaml.');
    const source = await c.req.text();
    const { created, info } = await ctx.policies.put(name, source, format, actorOf(c), c.get('clientAddress'));
    return c.json(info, created ? 201 : 200);
  });

  r.openapi(listRoute, async (c) => {
    let active: { name: string; version: number; hash: string } | null = null;
    try {
      const a = await ctx.policies.active();
      active = { name: a.name, version: a.version, hash: a.hash };
    } catch (err) {
      // No active policy is an answer here; a store that does not answer is not.
      if (!(err instanceof ApiError)) throw err;
      active = null;
    }
    return c.json({ active, policies: await ctx.policies.list() }, 200);
  });

  r.openapi(getRoute, async (c) => {
    const { name } = c.req.valid('param');
    const version = parseVersion(c.req.valid('query').version);
    const doc = await ctx.policies.get(name, version);
    if (!doc) throw new ApiError(404, 'policy_not_found', version === undefined ? `There is no policy named '${name}'.` : `Policy '${name}' has no version ${version}.`);
    return c.json({ ...doc, policy: doc.policy as Record<string, unknown>, versions: await ctx.policies.versions(name) }, 200);
  });

  r.openapi(activateRoute, async (c) => {
    const { name } = c.req.valid('param');
    const body = c.req.valid('json') as { version?: number };
    return c.json(await ctx.policies.activate(name, body.version, actorOf(c), c.get('clientAddress')), 200);
  });

  r.openapi(evaluateRoute, async (c) => {
    const body = c.req.valid('json');
    const policy = await resolvePolicy(ctx, body.policy);
    const at = body.at ? new Date(body.at) : new Date();
    const result = await verifyWithService(ctx, toEvidence(body.tee, body.evidence), at);
    const decision = evaluateAppraisalPolicy(policy.policy, result, await ctx.policies.context());
    return c.json(
      {
        at: at.toISOString(),
        policy: { name: policy.name, version: policy.version, hash: policy.hash },
        result: result as unknown as z.infer<typeof verificationResultSchema>,
        decision,
      },
      200,
    );
  });

  r.openapi(replayRoute, async (c) => {
    const body = c.req.valid('json');
    const policy = await resolvePolicy(ctx, body.policy);
    const since = new Date(body.since).getTime();
    const until = body.until ? new Date(body.until).getTime() : Date.now();
    if (until < since) throw new ApiError(400, 'request_invalid', 'until is before since.');
    const byStatus: Record<string, number> = { affirming: 0, warning: 0, contraindicated: 0 };
    const failures = new Map<string, { failures: number; effect: 'deny' | 'warn' }>();
    let changed = 0;
    const { total, truncated } = await replay(ctx, policy.policy, since, until, ({ row, decision }) => {
      byStatus[decision.status] = (byStatus[decision.status] ?? 0) + 1;
      if (decision.status !== row.status) changed += 1;
      for (const rule of decision.rules) {
        if (rule.ok) continue;
        const f = failures.get(rule.id) ?? { failures: 0, effect: rule.effect };
        f.failures += 1;
        failures.set(rule.id, f);
      }
    });
    const wouldFail = byStatus.contraindicated ?? 0;
    return c.json(
      {
        policy: { name: policy.name, version: policy.version, hash: policy.hash },
        since: new Date(since).toISOString(),
        until: new Date(until).toISOString(),
        total,
        wouldPass: total - wouldFail,
        wouldFail,
        byStatus,
        changed,
        failedRules: [...failures].map(([id, f]) => ({ id, ...f })).sort((a, b) => b.failures - a.failures || a.id.localeCompare(b.id)),
        truncated,
      },
      200,
    );
  });
  return r;
}
