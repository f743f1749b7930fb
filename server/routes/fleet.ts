// The fleet and the TCB-recovery what-if (issue 15, console pages 3 and 4), for scripts and
// the console alike: GET /v1/fleet lists the platforms seen in a window with their TCB and
// workloads; POST /v1/policies/what-if says which of them a candidate minimum TCB, or a draft
// policy, would refuse, and by which rule. Both read; neither changes anything.

import { createRoute, z } from '@hono/zod-openapi';
import { INTEL_TCB_STATUSES, policyHash } from '../../verifier/policy/index.ts';
import type { ServiceContext } from '../context.ts';
import { fleetOf } from '../fleet/fleet.ts';
import { draftWithTcb, whatIf, type CandidateTcb } from '../fleet/what-if.ts';
import { newRouter, requireScope } from '../http.ts';
import { ApiError } from '../problem.ts';
import { policyRefSchema, resolvePolicy } from './policies.ts';
import { auditorAuthResponses, bearerSecurity, problem } from './schemas.ts';

/** Days a window may span: a year of attestations is what replay bounds anyway (REPLAY_LIMIT). */
export const MAX_DAYS = 366;
export const DEFAULT_DAYS = 30;

// Schemas -----------------------------------------------------------------------------------

const workloadSchema = z.object({
  measurement: z.string().openapi({ description: 'SNP MEASUREMENT, TDX MRTD or SGX MRENCLAVE, hex' }),
  rtmr: z.array(z.string()).optional().openapi({ description: 'TDX RTMR0..3, hex' }),
});

const platformFactsSchema = z.object({
  id: z.string().openapi({ description: 'First 16 hex of SHA-256 of the SNP CHIP_ID or the Intel PPID; `masked:<product>` for SNP chips with MASK_CHIP_ID' }),
  vendor: z.enum(['amd', 'intel']),
  product: z.string().nullable().openapi({ description: 'SNP product (Milan, Genoa, Turin); null for Intel' }),
  snp: z
    .object({
      chipIdMasked: z.boolean(),
      signer: z.string().nullable(),
      reportedTcb: z.record(z.string(), z.number().int()).nullable().openapi({ description: 'REPORTED_TCB SPLs: bootloader, tee, snp, microcode (fmc on Turin)' }),
      firmware: z.string().nullable().openapi({ description: 'CURRENT firmware major.minor.build' }),
    })
    .optional(),
  intel: z
    .object({
      fmspc: z.string().nullable(),
      pceId: z.string().nullable(),
      tcbStatus: z.string().nullable(),
      tcbDate: z.string().nullable(),
      advisoryIds: z.array(z.string()),
      evaluationDataNumber: z.number().int().nullable(),
      pceSvn: z.number().int().nullable(),
      sgxTcbComponents: z.array(z.number().int()).nullable(),
      teeTcbSvn: z.string().nullable(),
      qe: z.object({ isvSvn: z.number().int(), status: z.string(), tcbDate: z.string().nullable() }).nullable(),
    })
    .optional(),
});

const fleetSchema = z
  .object({
    since: z.string(),
    until: z.string(),
    days: z.number().int(),
    totals: z.object({ platforms: z.number().int(), workloads: z.number().int(), attestations: z.number().int(), accepted: z.number().int(), denied: z.number().int() }),
    unattributed: z.object({ attestations: z.number().int() }).openapi({ description: 'Attestations whose evidence did not verify, or that named no platform: counted, not attributed' }),
    platforms: z.array(
      platformFactsSchema.extend({
        tees: z.array(z.string()),
        firstSeen: z.string(),
        lastSeen: z.string(),
        accepted: z.number().int(),
        denied: z.number().int(),
        workloads: z.array(workloadSchema.extend({ accepted: z.number().int(), denied: z.number().int(), firstSeen: z.string(), lastSeen: z.string() })),
      }),
    ),
    truncated: z.boolean(),
  })
  .openapi('Fleet');

const daysQuery = z
  .string()
  .regex(/^[1-9]\d{0,2}$/, `expected a whole number of days, 1 to ${MAX_DAYS}`)
  .refine((s) => Number(s) <= MAX_DAYS, { message: `expected at most ${MAX_DAYS} days` })
  .optional()
  .openapi({ param: { name: 'days', in: 'query' }, example: '30' });

const fleetRoute = createRoute({
  method: 'get',
  path: '/v1/fleet',
  tags: ['fleet'],
  summary: 'The platforms seen in the last N days, with their TCB and workloads',
  description: 'Derived from the stored attestations. Each platform once, with the TCB its newest attestation reported.',
  security: bearerSecurity,
  request: { query: z.object({ days: daysQuery }) },
  responses: {
    200: { description: 'The fleet', content: { 'application/json': { schema: fleetSchema } } },
    400: problem('Bad days (request_invalid)'),
    ...auditorAuthResponses,
    503: problem('The store is unavailable or a stored row is corrupt'),
  },
});

const spl = z.number().int().min(0).max(255);
const nonEmpty = (o: object) => Object.keys(o).length > 0;
const snpTcbSet = z
  .strictObject({ bootloader: spl.optional(), tee: spl.optional(), snp: spl.optional(), microcode: spl.optional(), fmc: spl.optional() })
  .refine(nonEmpty, { message: 'expected at least one SPL minimum: bootloader, tee, snp, microcode, fmc' });
const tcbStatuses = z.array(z.enum(INTEL_TCB_STATUSES)).min(1, 'expected at least one TCB status');

const candidateSchema = z
  .strictObject({
    snp: z
      .strictObject({ Milan: snpTcbSet.optional(), Genoa: snpTcbSet.optional(), Turin: snpTcbSet.optional() })
      .refine(nonEmpty, { message: 'expected a minimum for at least one product: Milan, Genoa, Turin' })
      .optional()
      .openapi({ description: 'Minimum REPORTED_TCB (and COMMITTED/LAUNCH, as snp.minTcb) per product; products not named keep the base policy\'s' }),
    tdx: z
      .strictObject({
        acceptedTcbStatuses: tcbStatuses.optional(),
        forbiddenAdvisories: z.array(z.string().regex(/^[A-Za-z]+-[A-Za-z]+-[0-9]+$/, 'expected an advisory id such as INTEL-SA-00960')).min(1).optional(),
        minTcbEvaluationDataNumber: z.number().int().min(0).max(0xffffffff).optional(),
      })
      .refine(nonEmpty, { message: 'expected acceptedTcbStatuses, forbiddenAdvisories or minTcbEvaluationDataNumber' })
      .optional(),
    sgx: z.strictObject({ acceptedTcbStatuses: tcbStatuses }).optional(),
  })
  .refine(nonEmpty, { message: 'expected at least one of snp, tdx, sgx' })
  .openapi('CandidateTcb');

const failedRuleSchema = z.object({ id: z.string(), effect: z.enum(['deny', 'warn']), detail: z.string(), expected: z.unknown().optional(), found: z.unknown().optional() });

const whatIfReportSchema = z
  .object({
    policy: z.object({
      name: z.string().nullable(),
      version: z.number().int().nullable(),
      hash: z.string(),
      basedOn: z.object({ name: z.string(), version: z.number().int(), hash: z.string() }).nullable().openapi({ description: 'For a candidate TCB: the active policy it was put into' }),
    }),
    since: z.string(),
    until: z.string(),
    days: z.number().int(),
    attestations: z.object({ total: z.number().int(), refused: z.number().int(), newlyRefused: z.number().int(), unattributed: z.number().int() }),
    platforms: z.object({ total: z.number().int(), refused: z.number().int(), newlyRefused: z.number().int() }),
    workloads: z.object({ total: z.number().int(), refused: z.number().int() }),
    refusedPlatforms: z.array(
      platformFactsSchema.extend({
        tees: z.array(z.string()),
        lastSeen: z.string(),
        newlyRefused: z.boolean(),
        workloads: z.array(workloadSchema.extend({ attestationId: z.string(), at: z.string(), recordedStatus: z.string() })),
        rules: z.array(failedRuleSchema),
      }),
    ),
    refusedWorkloads: z.array(workloadSchema.extend({ platforms: z.array(z.string()) })),
    rules: z.array(z.object({ id: z.string(), platforms: z.number().int(), workloads: z.number().int(), attestations: z.number().int() })),
    truncated: z.boolean(),
  })
  .openapi('WhatIfReport');

const whatIfRoute = createRoute({
  method: 'post',
  path: '/v1/policies/what-if',
  tags: ['policies', 'fleet'],
  summary: 'TCB-recovery what-if: which platforms and workloads of the last N days a candidate would refuse',
  description:
    'Give `tcb` (a candidate minimum TCB, put into the active policy in place of its own) or `policy` (a draft document, or a stored policy by name). ' +
    'The stored results of the window are evaluated again (the evidence is not re-verified); a platform or workload is judged by its newest attestation. Changes nothing.',
  security: bearerSecurity,
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .strictObject({
              days: z.number().int().min(1).max(MAX_DAYS).optional().openapi({ description: `The last N days (default ${DEFAULT_DAYS})` }),
              tcb: candidateSchema.optional(),
              policy: policyRefSchema.optional(),
            })
            .openapi('WhatIfRequest'),
        },
      },
    },
  },
  responses: {
    200: { description: 'What the candidate would refuse, and why', content: { 'application/json': { schema: whatIfReportSchema } } },
    400: problem('Malformed request, or neither or both of tcb and policy (request_invalid)'),
    ...auditorAuthResponses,
    404: problem('No such stored policy (policy_not_found)'),
    422: problem('The draft policy does not validate (policy_invalid)'),
    503: problem('The store is unavailable or a stored row is corrupt'),
  },
});

// Routes ------------------------------------------------------------------------------------

export function fleetRoutes(ctx: ServiceContext) {
  const r = newRouter();
  const auditor = requireScope(ctx, 'auditor');
  r.on(['GET'], '/v1/fleet', auditor);
  r.on(['POST'], '/v1/policies/what-if', auditor);

  r.openapi(fleetRoute, async (c) => {
    const { days } = c.req.valid('query');
    return c.json(await fleetOf(ctx.store, days === undefined ? DEFAULT_DAYS : Number(days), Date.now()), 200);
  });

  r.openapi(whatIfRoute, async (c) => {
    const body = c.req.valid('json');
    if ((body.tcb === undefined) === (body.policy === undefined)) {
      throw new ApiError(400, 'request_invalid', 'Give exactly one of tcb (a candidate minimum TCB) and policy (a draft or stored policy).');
    }
    let policy: { name: string | null; version: number | null; hash: string; basedOn: { name: string; version: number; hash: string } | null; policy: Parameters<typeof whatIf>[1] };
    if (body.tcb) {
      const active = await ctx.policies.active();
      const draft = draftWithTcb(active.policy, body.tcb as CandidateTcb);
      policy = { name: draft.name ?? null, version: null, hash: policyHash(draft), basedOn: { name: active.name, version: active.version, hash: active.hash }, policy: draft };
    } else {
      const resolved = await resolvePolicy(ctx, body.policy);
      policy = { ...resolved, basedOn: null };
    }
    const report = await whatIf(ctx, policy.policy, body.days ?? DEFAULT_DAYS, Date.now());
    return c.json({ policy: { name: policy.name, version: policy.version, hash: policy.hash, basedOn: policy.basedOn }, ...report }, 200);
  });
  return r;
}
