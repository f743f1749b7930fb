// Secrets over HTTP. Operators (scope admin): PUT a new version, list metadata (never values),
// DELETE a version or all. Guests: GET /v1/secrets/{name} with their attestation result as
// the bearer token, answered with a compact JWE to the result's TEE key (server/secrets/release.ts).

import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { PolicyValidationError } from '../../verifier/policy/index.ts';
import type { ServiceContext } from '../context.ts';
import { actorOf, newRouter, parseVersion, rateLimit, requireScope, type AppEnv } from '../http.ts';
import { ApiError, problemResponse } from '../problem.ts';
import { decideRelease, guestDenial, releaseAudit, verifyResultToken, type GuestDenial } from '../secrets/release.ts';
import { isSecretName, MAX_SECRET_BYTES } from '../secrets/store.ts';
import { bearerSecurity, problem, adminAuthResponses } from './schemas.ts';

const EAR_STATUSES = ['affirming', 'warning', 'contraindicated'] as const;

const secretNameParam = z.string().openapi({
  param: { name: 'name', in: 'path' },
  description: 'Letters, digits, . _ - (at most 128, starting with a letter or digit, no "..")',
  example: 'db-password',
});
const versionQuery = z.object({ version: z.string().optional().openapi({ param: { name: 'version', in: 'query' }, description: 'A version number; default the newest' }) });

const putBodySchema = z
  .strictObject({
    value: z.string().optional().openapi({ description: 'The secret as UTF-8 text (exactly one of value and valueBase64)' }),
    valueBase64: z.string().optional().openapi({ description: 'The secret as base64 (RFC 4648 section 4), for binary values' }),
    releasePolicy: z.string().min(1).max(4096).optional().openapi({
      description: 'CEL over the result: claims, tcb, status, policyId, refs. E.g. claims.tee == "sev-snp" && claims.measurement in refs.web_prod',
    }),
    acceptPolicies: z.array(z.string().min(1).max(128)).min(1).max(32).optional().openapi({ description: 'Appraisal policy names whose results are accepted; default any' }),
    acceptStatuses: z.array(z.enum(EAR_STATUSES)).min(1).optional().openapi({ description: 'EAR statuses accepted; default ["affirming"]' }),
    description: z.string().max(1024).optional(),
    labels: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/, 'expected a label key of letters, digits, . _ / -'), z.string().max(256)).optional(),
  })
  .openapi('PutSecretRequest');

const versionInfoSchema = z
  .object({
    name: z.string(),
    version: z.number().int(),
    createdAt: z.string(),
    createdBy: z.string(),
    description: z.string().nullable(),
    labels: z.record(z.string(), z.string()),
    releasePolicy: z.string().nullable(),
    acceptPolicies: z.array(z.string()).nullable(),
    acceptStatuses: z.array(z.enum(EAR_STATUSES)),
    size: z.number().int().openapi({ description: 'Length of the value in bytes' }),
    deletedAt: z.string().nullable(),
  })
  .openapi('SecretVersion');

const putRoute = createRoute({
  method: 'put',
  path: '/v1/secrets/{name}',
  tags: ['secrets'],
  summary: 'Store a new version of a secret',
  description: 'Every call makes a new version. The value is encrypted at rest under its own data key wrapped by the KEK; the release policy is compiled on upload.',
  security: bearerSecurity,
  request: { params: z.object({ name: secretNameParam }), body: { required: true, content: { 'application/json': { schema: putBodySchema } } } },
  responses: {
    201: { description: 'Stored', content: { 'application/json': { schema: versionInfoSchema } } },
    400: problem('Bad name (secret_name_invalid), value (secret_value_invalid) or request'),
    ...adminAuthResponses,
    422: problem('The release policy does not compile (release_policy_invalid, issues point at the CEL error)'),
  },
});

const listRoute = createRoute({
  method: 'get',
  path: '/v1/secrets',
  tags: ['secrets'],
  summary: 'List secrets: names, versions and metadata, never values',
  security: bearerSecurity,
  responses: {
    200: {
      description: 'Secrets',
      content: {
        'application/json': {
          schema: z.object({
            secrets: z.array(
              z.object({
                name: z.string(),
                latestVersion: z.number().int(),
                versions: z.array(versionInfoSchema),
                releases: z.object({ count: z.number().int(), lastAt: z.string().nullable() }).openapi({ description: 'Successful releases (audit entries secret.release released) and the last one' }),
              }),
            ),
          }),
        },
      },
    },
    ...adminAuthResponses,
  },
});

const deleteRoute = createRoute({
  method: 'delete',
  path: '/v1/secrets/{name}',
  tags: ['secrets'],
  summary: 'Delete one version, or every version, of a secret',
  description: 'The ciphertext is erased; version numbers are never reused.',
  security: bearerSecurity,
  request: { params: z.object({ name: secretNameParam }), query: versionQuery },
  responses: {
    200: { description: 'Deleted', content: { 'application/json': { schema: z.object({ name: z.string(), deletedVersions: z.array(z.number().int()) }) } } },
    400: problem('Bad name or version'),
    ...adminAuthResponses,
    404: problem('No such secret or version (secret_not_found)'),
  },
});

const releaseRoute = createRoute({
  method: 'get',
  path: '/v1/secrets/{name}',
  tags: ['secrets'],
  summary: 'Release a secret to an attested guest',
  description:
    'Authorization: Bearer <attestation result token>. The token must be signed by a key in /.well-known/jwks.json and unexpired; the secret\'s release policy must pass. The answer is a compact JWE (ECDH-ES+A256KW, A256GCM) encrypted to the token\'s cnf key.',
  security: bearerSecurity,
  request: { params: z.object({ name: secretNameParam }), query: versionQuery },
  responses: {
    200: { description: 'The secret, as a compact JWE', content: { 'application/jose': { schema: z.string() } } },
    400: problem('Bad name or version'),
    401: problem('token_missing, token_invalid, token_unknown_key or token_expired'),
    403: problem('Not released to this result (release_denied): the secret or version does not exist, or its release gates refuse the result. Both look the same to the guest; the audit entry says which'),
    429: problem('Rate limited'),
    503: problem('The release gates passed but the stored value does not open (store_corrupt: damaged, copied from another row, or sealed under another KEK; the operator sees which record in the log and the audit), or the database is unreachable (store_unavailable)'),
  },
});

function checkName(name: string): string {
  if (!isSecretName(name)) {
    throw new ApiError(400, 'secret_name_invalid', `${JSON.stringify(name.slice(0, 140))} is not a secret name: use letters, digits, . _ - (at most 128, starting with a letter or digit, no "..").`);
  }
  return name;
}

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Exactly one of value / valueBase64, decoded; 1 to MAX_SECRET_BYTES bytes. */
function valueOf(body: z.infer<typeof putBodySchema>): Buffer {
  const bad = (why: string) => new ApiError(400, 'secret_value_invalid', why);
  if ((body.value === undefined) === (body.valueBase64 === undefined)) throw bad('Give exactly one of value (text) and valueBase64.');
  let value: Buffer;
  if (body.value !== undefined) value = Buffer.from(body.value, 'utf8');
  else {
    // Strict RFC 4648 section 4: Buffer.from would silently skip anything that is not base64.
    if (!BASE64_RE.test(body.valueBase64!)) throw bad('valueBase64 is not base64 (RFC 4648 section 4, with padding).');
    value = Buffer.from(body.valueBase64!, 'base64');
  }
  if (value.length === 0) throw bad('The value is empty.');
  if (value.length > MAX_SECRET_BYTES) throw bad(`The value is ${value.length} bytes; at most ${MAX_SECRET_BYTES}.`);
  return value;
}

const BEARER_RE = /^Bearer\s+(\S+)$/i;

export function secretRoutes(ctx: ServiceContext) {
  const r = newRouter();
  const admin = requireScope(ctx, 'admin');

  r.openapi({ ...putRoute, middleware: [admin] }, async (c) => {
    const name = checkName(c.req.valid('param').name);
    const body = c.req.valid('json');
    const value = valueOf(body);
    try {
      const info = await ctx.secrets.put(
        name,
        {
          value,
          ...(body.releasePolicy !== undefined ? { releasePolicy: body.releasePolicy } : {}),
          ...(body.acceptPolicies !== undefined ? { acceptPolicies: body.acceptPolicies } : {}),
          ...(body.acceptStatuses !== undefined ? { acceptStatuses: body.acceptStatuses } : {}),
          ...(body.description !== undefined ? { description: body.description } : {}),
          ...(body.labels !== undefined ? { labels: body.labels } : {}),
        },
        actorOf(c),
        c.get('clientAddress'),
      );
      return c.json(info, 201);
    } catch (err) {
      if (err instanceof PolicyValidationError) {
        const issues = err.issues.map((i) => ({ ...i, path: i.path === 'expr' ? 'releasePolicy' : i.path === 'appraisalPolicies' ? 'acceptPolicies' : i.path === 'acceptedStatuses' ? 'acceptStatuses' : i.path }));
        throw new ApiError(422, 'release_policy_invalid', `The release policy is not valid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
      }
      throw err;
    } finally {
      value.fill(0);
    }
  });

  r.openapi({ ...listRoute, middleware: [admin] }, async (c) => {
    const secrets = await ctx.secrets.list();
    // Releases are audit entries (server/secrets/release.ts releaseAudit): counted there, one source of truth.
    const withReleases = await Promise.all(
      secrets.map(async (s) => {
        const filter = { action: 'secret.release', outcome: 'released', subject: s.name };
        const [count, last] = await Promise.all([ctx.store.audit.count(filter), ctx.store.audit.query(filter, 1)]);
        return { ...s, releases: { count, lastAt: last[0] ? new Date(last[0].at).toISOString() : null } };
      }),
    );
    return c.json({ secrets: withReleases }, 200);
  });

  r.openapi({ ...deleteRoute, middleware: [admin] }, async (c) => {
    const name = checkName(c.req.valid('param').name);
    const version = parseVersion(c.req.valid('query').version);
    const deleted = await ctx.secrets.delete(name, version, actorOf(c), c.get('clientAddress'));
    if (deleted.length === 0) {
      throw new ApiError(404, 'secret_not_found', version === undefined ? `There is no secret named ${name}.` : `There is no version ${version} of secret ${name}.`);
    }
    return c.json({ name, deletedVersions: deleted }, 200);
  });

  r.openapi({ ...releaseRoute, middleware: [rateLimit(ctx, 'attest')] }, async (c) => {
    const name = checkName(c.req.valid('param').name);
    const version = parseVersion(c.req.valid('query').version);
    const clientAddress = c.get('clientAddress');
    const header = c.req.header('authorization');
    const token = header ? BEARER_RE.exec(header)?.[1] : undefined;
    let subject;
    try {
      if (!token) throw new ApiError(401, 'token_missing', 'Present the attestation result as Authorization: Bearer <token> (POST /v1/attest gives one).');
      subject = await verifyResultToken(ctx, token);
    } catch (err) {
      if (err instanceof ApiError) await ctx.store.audit.append([releaseAudit({ name, version: version ?? null, released: false, code: err.code, via: 'secret-get' }, null, clientAddress)]);
      throw err;
    }
    const d = await decideRelease(ctx, ctx.secrets, subject, name, version);
    // Recorded before the answer leaves: no release without its audit entry.
    await ctx.store.audit.append([releaseAudit({ ...d, via: 'secret-get' }, subject, clientAddress)]);
    if (!d.released) return deny(c, guestDenial(d)) as never;
    return c.body(d.jwe, 200, { 'content-type': 'application/jose', 'cache-control': 'no-store' });
  });

  return r;
}

function deny(c: Context<AppEnv>, d: GuestDenial): Response {
  return problemResponse(c, d.status, d.code, d.detail, { secret: d.name, version: d.version, ...(d.failedRules.length > 0 ? { failedRules: d.failedRules } : {}) });
}
