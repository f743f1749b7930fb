/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are JSON checked field by field */
// Security review of secrets at rest and their release, against a service whose log is
// captured at the most verbose level:
//   - envelopes are bound to their record: a ciphertext moved to another name or version,
//     or half of one spliced into another, does not open, and release then refuses (503);
//   - a result token signed by a key no longer published is refused, even unexpired;
//   - no secret value, API token, result token or KEK reaches the log, a problem body, the
//     audit log, the OpenAPI document or the database file in clear.

import { createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { compactDecrypt, type JWK } from 'jose';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.ts';
import { decryptEnvelope, encryptEnvelope, EnvelopeError, type Envelope } from '../../server/crypto/envelope.ts';
import { listen, type RunningServer } from '../../server/server.ts';
import { createService, type Service } from '../../server/service.ts';
import { DB_FILE } from '../../server/storage/sqlite/connection.ts';
import type { SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { simulatorAnchors, simulatorCollateralSource } from '../../verifier/testing/simulator-anchors.ts';
import { makeChain, removeDir, snpAttestBody, tempDir, type TestServer } from '../server/helpers.ts';

const KEK = randomBytes(32);
const SECRET_A1 = `review-secret-A1-${randomBytes(8).toString('hex')}`;
const SECRET_A2 = `review-secret-A2-${randomBytes(8).toString('hex')}`;
const SECRET_B1 = `review-secret-B1-${randomBytes(8).toString('hex')}`;

let chain: SimulatorChain;
let service: Service;
let running: RunningServer;
let dataDir: string;
let adminToken = '';
const logLines: string[] = [];
/** Every response body this file received, to search for what must never appear. */
const bodies: string[] = [];
let srv: Pick<TestServer, 'call' | 'url'>;

beforeAll(async () => {
  chain = await makeChain();
  dataDir = tempDir('tessera-review-');
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  const config = loadConfig({ env: {}, overrides: { dataDir, port: 0, logLevel: 'trace', collateral: { offline: true } } });
  service = await createService({
    config,
    env: { TESSERA_KEK: KEK.toString('base64') },
    logger: pino({ level: 'trace' }, sink),
    extraTrust: { name: 'test', anchors: simulatorAnchors(chain), collateral: simulatorCollateralSource(chain) },
    announceAdminToken: (t) => {
      adminToken = t;
    },
  });
  running = await listen(service, '127.0.0.1', 0);
  srv = {
    url: running.url,
    async call(method, path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      const body = o.raw ?? (o.body !== undefined ? JSON.stringify(o.body) : undefined);
      if (body !== undefined) headers['content-type'] = o.contentType ?? 'application/json';
      if (o.token) headers.authorization = `Bearer ${o.token}`;
      const res = await fetch(running.url + path, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      bodies.push(text);
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
  };
}, 120_000);

afterAll(async () => {
  await running?.stop(2000);
  if (dataDir) removeDir(dataDir);
});

function teePair(): { privateKey: KeyObject; jwk: JWK } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const j = createPublicKey(privateKey).export({ format: 'jwk' });
  return { privateKey, jwk: { kty: 'EC', crv: 'P-256', x: j.x!, y: j.y! } };
}

async function attest() {
  const key = teePair();
  const { body } = await snpAttestBody(srv as TestServer, chain, { jwk: key.jwk });
  const res = await srv.call('POST', '/v1/attest', { body });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { token: res.body.token as string, key };
}

const open = async (jwe: string, key: KeyObject) => Buffer.from((await compactDecrypt(jwe, key)).plaintext).toString('utf8');
const put = (name: string, value: string) => srv.call('PUT', `/v1/secrets/${name}`, { token: adminToken, body: { value } });

describe('envelopes are bound to their record', () => {
  it('opens only with its own context, KEK and both of its own halves; never reuses a data key or IV', () => {
    const a1 = encryptEnvelope(KEK, Buffer.from('one'), 'secret:a:1');
    expect(decryptEnvelope(KEK, a1, 'secret:a:1').toString()).toBe('one');
    for (const other of ['secret:a:2', 'secret:b:1', 'secret:a:1 ', 'signing-key:a:1', 'server-secret:a:1']) {
      expect(() => decryptEnvelope(KEK, a1, other), other).toThrow(EnvelopeError);
    }
    expect(() => decryptEnvelope(randomBytes(32), a1, 'secret:a:1')).toThrow(EnvelopeError);
    // The same plaintext and context twice: different data key and IVs, so nothing repeats.
    const again = encryptEnvelope(KEK, Buffer.from('one'), 'secret:a:1');
    expect(again.dek).not.toBe(a1.dek);
    expect(again.data.slice(0, 16)).not.toBe(a1.data.slice(0, 16));
    // Splice: the data key of one record with the data of another, same context.
    const spliced: Envelope = { ...a1, data: again.data };
    expect(() => decryptEnvelope(KEK, spliced, 'secret:a:1')).toThrow(EnvelopeError);
    for (const bad of [{ ...a1, v: 2 }, { ...a1, alg: 'A128GCM' }, null, { ...a1, data: '' }]) {
      expect(() => decryptEnvelope(KEK, bad as Envelope, 'secret:a:1')).toThrow(EnvelopeError);
    }
  });

  it('a ciphertext copied into another name or version is refused at release (503 store_corrupt), never released as the row it sits in', async () => {
    expect((await put('swap-a', SECRET_A1)).status).toBe(201);
    expect((await put('swap-a', SECRET_A2)).status).toBe(201);
    expect((await put('swap-b', SECRET_B1)).status).toBe(201);
    const { token, key } = await attest();
    expect(await open((await srv.call('GET', '/v1/secrets/swap-b', { token })).body, key.privateKey)).toBe(SECRET_B1);

    const db = new Database(join(dataDir, DB_FILE));
    const value = (name: string, version: number) => (db.prepare('SELECT value FROM secret_versions WHERE name = ? AND version = ?').get(name, version) as { value: string }).value;
    const set = (name: string, version: number, v: string) => db.prepare('UPDATE secret_versions SET value = ? WHERE name = ? AND version = ?').run(v, name, version);
    set('swap-b', 1, value('swap-a', 1)); // another name
    set('swap-a', 1, value('swap-a', 2)); // another version of the same name
    db.close();

    for (const [name, version] of [['swap-b', 1], ['swap-a', 1]] as const) {
      const r = await srv.call('GET', `/v1/secrets/${name}?version=${version}`, { token });
      expect([r.status, r.body.code], name).toEqual([503, 'store_corrupt']);
      const entry = (await srv.call('GET', `/v1/audit?action=secret.release&subject=${name}&limit=1`, { token: adminToken })).body.entries[0];
      expect(entry, name).toMatchObject({ outcome: 'denied', details: { code: 'store_corrupt', version } });
    }
    // The untouched row still opens.
    expect(await open((await srv.call('GET', '/v1/secrets/swap-a?version=2', { token })).body, key.privateKey)).toBe(SECRET_A2);
  });
});

describe('the OpenAPI document of the release', () => {
  it('names every status GET /v1/secrets/{name} can answer, 503 store_corrupt included', async () => {
    const doc = (await srv.call('GET', '/openapi.json')).body;
    expect(Object.keys(doc.paths['/v1/secrets/{name}'].get.responses).sort()).toEqual(['200', '400', '401', '403', '429', '503']);
  });
});

describe('result tokens', () => {
  it('a token signed by a key that is no longer published is refused, although it has not expired', async () => {
    await put('rotated', 'rotated-value');
    const { token } = await attest();
    expect((await srv.call('GET', '/v1/secrets/rotated', { token })).status).toBe(200);
    // Rotation keeps the retired key published for the tokens it signed: still released.
    await service.ctx.keys.rotate(60_000, (kid) => ({ action: 'key.rotate', outcome: 'success', actor: 'test', subject: kid }));
    expect((await srv.call('GET', '/v1/secrets/rotated', { token })).status).toBe(200);
    // Rotated away with no publication window (the key is gone from the JWKS): refused.
    const { token: second } = await attest();
    await service.ctx.keys.rotate(0, (kid) => ({ action: 'key.rotate', outcome: 'success', actor: 'test', subject: kid }));
    const jwks = (await srv.call('GET', '/.well-known/jwks.json')).body.keys.map((k: any) => k.kid);
    const kid = JSON.parse(Buffer.from(second.split('.')[0]!, 'base64url').toString()).kid;
    expect(jwks).not.toContain(kid);
    const r = await srv.call('GET', '/v1/secrets/rotated', { token: second });
    expect([r.status, r.body.code]).toEqual([401, 'token_unknown_key']);
    const entry = (await srv.call('GET', '/v1/audit?action=secret.release&subject=rotated&limit=1', { token: adminToken })).body.entries[0];
    expect(entry).toMatchObject({ outcome: 'denied', details: { code: 'token_unknown_key' } });
  });
});

describe('a stored release policy that no longer compiles', () => {
  it('denies that secret alone, audited, in GET and in the attest round trip; other names and the token are unaffected', async () => {
    await put('broken-policy', 'broken-policy-value');
    await put('good-one', 'good-one-value');
    // What an upgrade that drops a CEL variable, or a hand-edited row, leaves behind.
    const db = new Database(join(dataDir, DB_FILE));
    db.prepare("UPDATE secret_versions SET release_policy = 'claims.tee ==' WHERE name = 'broken-policy'").run();
    db.close();

    const { token } = await attest();
    const r = await srv.call('GET', '/v1/secrets/broken-policy', { token });
    expect([r.status, r.body.code], JSON.stringify(r.body)).toEqual([403, 'release_denied']);
    // The guest is told only that it is not released (no oracle on names); the audit entry says why.
    expect(r.body.failedRules).toBeUndefined();
    const entry = (await srv.call('GET', '/v1/audit?action=secret.release&subject=broken-policy&limit=1', { token: adminToken })).body.entries[0];
    expect(entry).toMatchObject({ outcome: 'denied', details: { code: 'release_denied', version: 1, failedRules: [{ id: 'release.policy' }] } });

    const key = teePair();
    const { body } = await snpAttestBody(srv as TestServer, chain, { jwk: key.jwk });
    const both = await srv.call('POST', '/v1/attest', { body: { ...body, release: ['broken-policy', 'good-one'] } });
    expect(both.status, JSON.stringify(both.body)).toBe(200);
    expect(await open(both.body.secrets['good-one'], key.privateKey)).toBe('good-one-value');
    expect(both.body.releaseDenials).toEqual([expect.objectContaining({ name: 'broken-policy', code: 'release_denied' })]);
    expect(logLines.join('\n')).toMatch(/release policy of a stored secret does not compile/);
  });
});

describe('nothing secret leaks', () => {
  it('no value, token or KEK in the log, any response body, the audit log or the OpenAPI document; no value in clear in the database', async () => {
    // Error paths that carry a value in the request.
    await srv.call('PUT', '/v1/secrets/leak', { token: adminToken, body: { value: SECRET_A1, bogus: 1 } });
    await srv.call('PUT', '/v1/secrets/leak', { token: adminToken, body: { value: SECRET_A1, valueBase64: 'AAAA' } });
    await srv.call('PUT', '/v1/secrets/leak', { token: adminToken, body: { value: SECRET_A1, releasePolicy: 'claims.tee ==' } });
    await srv.call('PUT', '/v1/secrets/leak', { token: adminToken, raw: `{"value": "${SECRET_A1}",` });
    await srv.call('PUT', '/v1/secrets/leak', { token: adminToken, body: { valueBase64: `${SECRET_A1}!` } });
    await srv.call('PUT', '/v1/secrets/leak', { token: `${adminToken.slice(0, -1)}x`, body: { value: SECRET_A1 } });
    const created = await srv.call('POST', '/v1/tokens', { token: adminToken, body: { name: 'leak', scope: 'auditor' } });
    const apiToken = created.body.token as string;
    bodies.pop(); // the creation answer is the one place a token appears, by design
    const { token: resultToken } = await attest();
    bodies.pop(); // and the attestation answer is where its result token appears
    await srv.call('GET', '/v1/secrets/swap-b', { token: resultToken });
    await srv.call('GET', '/v1/secrets', { token: apiToken });
    await srv.call('GET', '/v1/secrets', { token: adminToken });
    await srv.call('GET', '/openapi.json');
    await srv.call('GET', '/v1/audit?limit=500', { token: adminToken });
    await srv.call('GET', '/v1/audit?limit=500&cursor=' + Buffer.from('s250').toString('base64url'), { token: adminToken });

    const forbidden: [string, string][] = [
      ['secret value', SECRET_A1],
      ['secret value', SECRET_A2],
      ['secret value', SECRET_B1],
      ['KEK', KEK.toString('base64')],
      ['KEK', KEK.toString('base64url')],
      ['KEK', KEK.toString('hex')],
      ['admin token secret', adminToken.slice(22)],
      ['API token secret', apiToken.slice(22)],
      ['result token signature', resultToken.split('.')[2]!],
    ];
    const haystacks: [string, string][] = [
      ['log', logLines.join('\n')],
      ['response bodies', bodies.join('\n')],
    ];
    expect(logLines.length).toBeGreaterThan(10);
    for (const [where, text] of haystacks) for (const [what, needle] of forbidden) expect(text.includes(needle), `${what} in the ${where}`).toBe(false);

    const files = [DB_FILE, `${DB_FILE}-wal`].map((f) => join(dataDir, f)).filter((f) => existsSync(f));
    for (const f of files) {
      const bytes = readFileSync(f);
      for (const [what, needle] of forbidden.slice(0, 6)) expect(bytes.includes(Buffer.from(needle)), `${what} in ${f}`).toBe(false);
    }
  });
});
