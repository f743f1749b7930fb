/* eslint-disable @typescript-eslint/no-explicit-any -- request and response bodies are JSON, built and checked field by field */
// Review: whatever an attester sends to POST /v1/attest, the server answers below 500, and what
// it stores matches the answer (README "The attestation flow"):
//   - 200: one attestation row, one consumed challenge, and the audit entries of the decision;
//   - 403 attestation_denied: the same, with no token;
//   - a refused challenge (challenge_*): one audit entry, nothing else;
//   - any other 4xx: nothing at all.
// Requests go over real HTTP; the mutated bodies start from genuine, bound evidence with a fresh
// challenge each, so the mutations reach the evidence parsers and the verifier, not only the schema.

import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { asSqliteStore } from '../../server/storage/sqlite/index.ts';
import { NO_RATE_LIMITS, snpAttestBody, startChainServer, stopServer, tdxAttestBody, type TestServer } from './helpers.ts';

let chain: SimulatorChain;
let srv: TestServer;

beforeAll(async () => {
  ({ chain, srv } = await startChainServer(NO_RATE_LIMITS));
}, 120_000);

afterAll(() => stopServer(srv));

/** Answers seen by the current test: status and code -> count. */
const seen = new Map<string, number>();
beforeEach(() => seen.clear());
/** The mutations reached the verifier: some were denied by its checks, some refused by its parsers. */
function expectReachedTheVerifier(parserCode: RegExp) {
  expect(seen.get('403 attestation_denied'), JSON.stringify([...seen])).toBeGreaterThan(0);
  expect([...seen.keys()].some((k) => parserCode.test(k)), JSON.stringify([...seen])).toBe(true);
}

function counts() {
  const sqlite = asSqliteStore(srv.service.store).sqlite;
  const n = (table: string) => (sqlite.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  return { attestations: n('attestations'), consumed: n('consumed_challenges'), audit: n('audit_log') };
}

/** Send `body` (an object, or raw text) and check the status and what it stored. */
async function sendAndCheck(body: unknown, raw = false): Promise<{ status: number; code?: string }> {
  const before = counts();
  const res = raw ? await srv.call('POST', '/v1/attest', { raw: body as string }) : await srv.call('POST', '/v1/attest', { body });
  const after = counts();
  const delta = { attestations: after.attestations - before.attestations, consumed: after.consumed - before.consumed, audit: after.audit - before.audit };
  const code = typeof res.body === 'object' && res.body !== null ? (res.body.code as string | undefined) : undefined;
  const what = `${res.status} ${code ?? ''} ${JSON.stringify(res.body).slice(0, 300)}`;
  expect(res.status, what).toBeLessThan(500);
  if (res.status === 200 || code === 'attestation_denied') {
    expect(delta.attestations, what).toBe(1);
    expect(delta.consumed, what).toBe(1);
    expect(delta.audit, what).toBeGreaterThanOrEqual(1);
    if (res.status === 200) {
      const row = asSqliteStore(srv.service.store).sqlite.prepare('SELECT status, token_jti FROM attestations WHERE id = ?').get(res.body.attestationId) as any;
      expect(row.status).toBe(res.body.status);
      expect(row.token_jti).toBeTypeOf('string');
    } else {
      expect(res.status).toBe(403);
      const row = asSqliteStore(srv.service.store).sqlite.prepare('SELECT status, token_jti FROM attestations WHERE id = ?').get(res.body.attestationId) as any;
      expect(row).toEqual({ status: 'contraindicated', token_jti: null });
    }
  } else if (code?.startsWith('challenge_')) {
    expect(delta, what).toEqual({ attestations: 0, consumed: 0, audit: 1 });
  } else {
    expect(delta, what).toEqual({ attestations: 0, consumed: 0, audit: 0 });
  }
  seen.set(`${res.status} ${code ?? ''}`, (seen.get(`${res.status} ${code ?? ''}`) ?? 0) + 1);
  return { status: res.status, ...(code ? { code } : {}) };
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const fromB64 = (s: string) => Buffer.from(s, 'base64');

/** A byte-level mutation of `bytes`: bit flips, truncation, extension, a splice of random bytes. */
const byteMutation = fc.oneof(
  fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 4 }).map((flips) => (b: Buffer) => {
    const c = Buffer.from(b);
    for (const [i, bit] of flips) c[i % c.length]! ^= 1 << bit;
    return c;
  }),
  fc.nat().map((n) => (b: Buffer) => b.subarray(0, n % (b.length + 1))),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((extra) => (b: Buffer) => Buffer.concat([b, extra])),
  fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 32 })).map(([at, data]) => (b: Buffer) => {
    const c = Buffer.from(b);
    c.set(data.subarray(0, Math.max(0, c.length - (at % c.length))), at % c.length);
    return c;
  }),
  // Little-endian u16/u32 length fields set to extremes: where the Intel quote's sizes live.
  fc.tuple(fc.nat(), fc.constantFrom(0, 1, 0xff, 0xffff, 0xffffffff)).map(([at, v]) => (b: Buffer) => {
    const c = Buffer.from(b);
    const i = at % Math.max(1, c.length - 4);
    c.writeUInt32LE(v >>> 0, i);
    return c;
  }),
);

/** JSON values an attacker might put anywhere. */
const junk = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom('', '=', 'AA==', '____', '-_-_', 'AAAA\n', ' AAAA', 'A', 'AB', '\u0000', 'A'.repeat(5000), '__proto__', 'constructor', 1e308, -0, NaN),
  fc.string(),
);

describe('POST /v1/attest under hostile input', () => {
  it('answers arbitrary JSON bodies below 500 and stores nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (body) => {
        await sendAndCheck(body);
      }),
      { numRuns: 150 },
    );
  }, 120_000);

  it('answers arbitrary raw text below 500 and stores nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.constantFrom('{"__proto__":{"challenge":"x"}}', '{"challenge":', '[]', 'null', '{}', '{"tee":"sev-snp","tee":"tdx"}')), async (text) => {
        await sendAndCheck(text, true);
      }),
      { numRuns: 100 },
    );
  }, 120_000);

  it('answers a genuine SEV-SNP body with one field replaced by junk below 500, storing only what the answer says', async () => {
    const fields = ['challenge', 'tee', 'evidence', 'teePublicKey', 'release', 'extra', 'evidence.report', 'evidence.certificates', 'evidence.certificates.vcek', 'evidence.crl', 'evidence.quote', 'evidence.collateral', 'teePublicKey.x', 'teePublicKey.y', 'teePublicKey.crv', 'teePublicKey.kty', 'teePublicKey.d', 'teePublicKey.__proto__'];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...fields), junk, async (field, value) => {
        const { body } = await snpAttestBody(srv, chain);
        const path = field.split('.');
        let target: any = body;
        for (const p of path.slice(0, -1)) target = target[p] = { ...target[p] };
        Object.defineProperty(target, path.at(-1)!, { value, enumerable: true, writable: true, configurable: true });
        await sendAndCheck(body);
      }),
      { numRuns: 200 },
    );
  }, 180_000);

  it('answers mutated SEV-SNP reports and VCEKs below 500', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('report', 'vcek'), byteMutation, fc.boolean(), async (which, mutate, url) => {
        const { body } = await snpAttestBody(srv, chain);
        const ev = body.evidence as any;
        const enc = (b: Buffer) => (url ? b.toString('base64url') : b64(b));
        if (which === 'report') ev.report = enc(mutate(fromB64(ev.report)));
        else ev.certificates = { vcek: enc(mutate(fromB64(ev.certificates.vcek))) };
        await sendAndCheck(body);
      }),
      { numRuns: 200 },
    );
    expectReachedTheVerifier(/^400 snp_/);
  }, 180_000);

  it('answers mutated TDX quotes, also labelled SGX, below 500', async () => {
    await fc.assert(
      fc.asyncProperty(byteMutation, fc.boolean(), async (mutate, asSgx) => {
        const { body } = await tdxAttestBody(srv, chain);
        const ev = body.evidence as any;
        ev.quote = b64(mutate(fromB64(ev.quote)));
        if (asSgx) {
          // A challenge for SGX too, so the quote (not the challenge) decides.
          const ch = await srv.call('POST', '/v1/challenge', { body: { tee: 'sgx' } });
          Object.assign(body, { tee: 'sgx', challenge: ch.body.challenge });
        }
        await sendAndCheck(body);
      }),
      { numRuns: 200 },
    );
    expectReachedTheVerifier(/^400 intel_/);
  }, 180_000);

  it('a PCK leaf whose FMSPC was altered (no domain has its collateral) is a 400 naming the chain, not a 503', async () => {
    // Found by the property above: an FMSPC byte flipped inside the PCK certificate names a
    // platform no collateral source knows. Retrying cannot help a chain no pinned root signed.
    const { body } = await tdxAttestBody(srv, chain);
    const quote = fromB64((body.evidence as any).quote);
    const text = quote.toString('latin1');
    const pem = /-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=\n]+?)\n-----END CERTIFICATE-----/.exec(text)!;
    const der = Buffer.from(pem[1]!.replace(/\n/g, ''), 'base64');
    const at = der.indexOf(chain.intel.fmspc);
    expect(at).toBeGreaterThan(0);
    der[at] = der[at]! ^ 0x01;
    const b64Lines = der.toString('base64').match(/.{1,64}/g)!.join('\n');
    expect(b64Lines.length).toBe(pem[1]!.length);
    quote.write(b64Lines, pem.index + '-----BEGIN CERTIFICATE-----\n'.length, 'latin1');
    (body.evidence as any).quote = b64(quote);
    const r = await sendAndCheck(body);
    expect(r).toMatchObject({ status: 400, code: 'intel_pck_untrusted' });
  });

  it('answers a quote whose header claims SGX, under either label, below 500', async () => {
    for (const label of ['tdx', 'sgx'] as const) {
      const { body } = await tdxAttestBody(srv, chain);
      const quote = fromB64((body.evidence as any).quote);
      quote.writeUInt32LE(0, 4); // header TEE type: 0x00 SGX, 0x81 TDX
      (body.evidence as any).quote = b64(quote);
      const ch = await srv.call('POST', '/v1/challenge', { body: { tee: label } });
      Object.assign(body, { tee: label, challenge: ch.body.challenge });
      const r = await sendAndCheck(body);
      expect(r.status).toBeGreaterThanOrEqual(400);
    }
  });
});
