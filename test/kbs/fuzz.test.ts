// No body makes a KBS endpoint answer 500: arbitrary JSON (and shapes close to the real
// ones, with random members) to auth and attest, arbitrary paths to resource. Every answer
// is a 4xx in the KBS shape with a stable code.

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, stopServer, NO_RATE_LIMITS, type TestServer } from '../server/helpers.ts';
import { KbsGuest } from './helpers.ts';

let srv: TestServer;

beforeAll(async () => {
  srv = await startServer({ config: { ...NO_RATE_LIMITS, kbs: { enabled: true } } });
}, 60_000);
afterAll(() => stopServer(srv));

function expectKbsRefusal(res: { status: number; body: unknown; headers: Headers }): void {
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  expect(res.headers.get('x-tessera-code')).toMatch(/^[a-z0-9_]+$/);
  const body = res.body as { type?: unknown; detail?: unknown };
  expect(typeof body.type).toBe('string');
  expect(typeof body.detail).toBe('string');
}

describe('KBS input fuzzing', () => {
  it('auth: arbitrary JSON and near-Requests', async () => {
    const near = fc.record({ version: fc.oneof(fc.constant('0.4.0'), fc.string()), tee: fc.oneof(fc.constantFrom('snp', 'tdx', 'az-snp-vtpm'), fc.jsonValue()), 'extra-params': fc.jsonValue() }, { requiredKeys: [] });
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue(), near), async (body) => {
        const res = await new KbsGuest(srv).call('POST', '/kbs/v0/auth', { body });
        if (res.status === 200) return;
        expectKbsRefusal(res);
      }),
      { numRuns: 150 },
    );
  });

  it('attest: arbitrary JSON and near-Attestations on a live session', async () => {
    const g = new KbsGuest(srv);
    const near = (nonce: string) =>
      fc.record(
        {
          'init-data': fc.oneof(fc.jsonValue(), fc.record({ format: fc.constant('toml'), body: fc.string() })),
          'runtime-data': fc.oneof(fc.jsonValue(), fc.record({ nonce: fc.constantFrom(nonce, 'x'), 'tee-pubkey': fc.jsonValue() })),
          'tee-evidence': fc.oneof(fc.jsonValue(), fc.record({ primary_evidence: fc.jsonValue(), additional_evidence: fc.constantFrom('', '{}') })),
        },
        { requiredKeys: [] },
      );
    for (const tee of ['snp', 'tdx', 'az-snp-vtpm', 'az-tdx-vtpm']) {
      const auth = await g.auth(tee);
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.jsonValue(), near(auth.body.nonce)), async (body) => {
          expectKbsRefusal(await g.call('POST', '/kbs/v0/attest', { body }));
        }),
        { numRuns: 60 },
      );
    }
  });

  it('resource: arbitrary paths', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 4 }), async (segments) => {
        const res = await new KbsGuest(srv).call('GET', `/kbs/v0/resource/${segments.map(encodeURIComponent).join('/')}`);
        expectKbsRefusal(res);
      }),
      { numRuns: 150 },
    );
  });
});
