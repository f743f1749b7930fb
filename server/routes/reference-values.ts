// Reference values: named sets of measurements (lower-case hex) that policies refer to as
// `{ referenceValues: <name> }`. Replacing a set is audited with what was added and removed.

import { createRoute, z } from '@hono/zod-openapi';
import type { ServiceContext } from '../context.ts';
import { actorOf, newRouter, requireScope } from '../http.ts';
import { ApiError } from '../problem.ts';
import { bearerSecurity, nameParam, problem, adminAuthResponses, auditorAuthResponses } from './schemas.ts';

const setSchema = z
  .object({ name: z.string(), values: z.array(z.string()), updatedAt: z.string(), updatedBy: z.string() })
  .openapi('ReferenceValueSet');

const hexValue = z
  .string()
  .regex(/^(?:[0-9a-fA-F]{2}){1,128}$/, 'expected hex bytes (an even number of hex digits, at most 128 bytes)')
  .openapi({ example: '195b01b74976a1faba13bd85eaf787958f0a46e6dddd45c5bdbf8673522777842b8057ae5d866b75416efb62012deaa3' });

const putRoute = createRoute({
  method: 'put',
  path: '/v1/reference-values/{name}',
  tags: ['reference values'],
  summary: 'Create or replace a reference-value set',
  security: bearerSecurity,
  request: {
    params: z.object({ name: nameParam }),
    body: { required: true, content: { 'application/json': { schema: z.strictObject({ values: z.array(hexValue).max(100_000) }).openapi('ReferenceValuesRequest') } } },
  },
  responses: {
    200: { description: 'Stored', content: { 'application/json': { schema: setSchema } } },
    400: problem('Malformed values'),
    ...adminAuthResponses,
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/v1/reference-values/{name}',
  tags: ['reference values'],
  summary: 'Read a reference-value set',
  security: bearerSecurity,
  request: { params: z.object({ name: nameParam }) },
  responses: { 200: { description: 'The set', content: { 'application/json': { schema: setSchema } } }, ...auditorAuthResponses, 404: problem('No such set') },
});

const listRoute = createRoute({
  method: 'get',
  path: '/v1/reference-values',
  tags: ['reference values'],
  summary: 'List reference-value sets',
  security: bearerSecurity,
  responses: {
    200: {
      description: 'The sets',
      content: { 'application/json': { schema: z.object({ sets: z.array(z.object({ name: z.string(), count: z.number().int(), updatedAt: z.string() })) }) } },
    },
    ...auditorAuthResponses,
  },
});

export function referenceValueRoutes(ctx: ServiceContext) {
  const r = newRouter();
  r.on(['PUT'], '/v1/reference-values/:name', requireScope(ctx, 'admin'));
  r.on(['GET'], ['/v1/reference-values', '/v1/reference-values/:name'], requireScope(ctx, 'auditor'));
  r.openapi(putRoute, async (c) => {
    const { name } = c.req.valid('param');
    return c.json(await ctx.policies.putReferenceValues(name, c.req.valid('json').values, actorOf(c), c.get('clientAddress')), 200);
  });
  r.openapi(getRoute, async (c) => {
    const { name } = c.req.valid('param');
    const set = await ctx.policies.getReferenceValues(name);
    if (!set) throw new ApiError(404, 'reference_values_not_found', `There is no reference-value set named '${name}'.`);
    return c.json(set, 200);
  });
  r.openapi(listRoute, async (c) => c.json({ sets: await ctx.policies.listReferenceValues() }, 200));
  return r;
}
