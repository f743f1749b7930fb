/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are JSON checked field by field */
// Secrets across the service's life: release in the attestation round trip (each name
// decided and audited on its own), the development seed, a restart, and KEK rotation
// (every version of every secret stays readable, a wrong KEK changes nothing), with the
// audit chain verifying after all of it.

import { createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactDecrypt, decodeJwt, type JWK } from 'jose';
import { verifyAuditChain } from '../../server/audit/log.ts';
import { DEMO_SECRET_NAME, DEMO_SECRET_VALUE, seedDevSecrets } from '../../server/secrets/dev-seed.ts';
import { KekRotationError, rotateKek } from '../../server/secrets/kek-rotation.ts';
import { SecretStore } from '../../server/secrets/store.ts';
import { createService, StartupError } from '../../server/service.ts';
import { loadConfig } from '../../server/config.ts';
import { openSqliteStore } from '../../server/storage/sqlite/index.ts';
import type { SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { makeChain, removeDir, snpAttestBody, startServer, tempDir, type TestServer } from '../server/helpers.ts';

let chain: SimulatorChain;
const dataDir = tempDir('tessera-secrets-');
const kek1 = randomBytes(32).toString('base64');
const kek2 = randomBytes(32).toString('base64');
const admin = `admin-${randomBytes(24).toString('hex')}`;
let srv: TestServer | undefined;

beforeAll(async () => {
  chain = await makeChain();
}, 120_000);

afterAll(async () => {
  await srv?.stop();
  removeDir(dataDir);
});

function teePair(): { privateKey: KeyObject; jwk: JWK } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const j = createPublicKey(privateKey).export({ format: 'jwk' });
  return { privateKey, jwk: { kty: 'EC', crv: 'P-256', x: j.x!, y: j.y! } };
}

const open = async (jwe: string, key: KeyObject) =>
  Buffer.from((await compactDecrypt(jwe, key, { keyManagementAlgorithms: ['ECDH-ES+A256KW'], contentEncryptionAlgorithms: ['A256GCM'] })).plaintext).toString('utf8');

const start = (kek: string) => startServer({ chain, dataDir, env: { TESSERA_KEK: kek, TESSERA_ADMIN_TOKEN: admin } });

/** Attest, and fetch every live version of every secret with the token: name@version -> value (or the refusal). */
async function readAll(s: TestServer): Promise<Record<string, string>> {
  const key = teePair();
  const { body } = await snpAttestBody(s, chain, { jwk: key.jwk });
  const token = (await s.call('POST', '/v1/attest', { body })).body.token as string;
  const out: Record<string, string> = {};
  for (const secret of (await s.call('GET', '/v1/secrets', { token: admin })).body.secrets) {
    for (const v of secret.versions) {
      const r = await s.call('GET', `/v1/secrets/${secret.name}?version=${v.version}`, { token });
      // A secret whose release policy refuses SNP results is recorded as refused, the same way each time.
      out[`${secret.name}@${v.version}`] = r.status === 200 ? await open(r.body, key.privateKey) : `${r.status} ${r.body.code}`;
    }
  }
  return out;
}

describe('release in the attestation round trip', () => {
  it('answers the token with a JWE per released name and a denial per refused one, each audited', async () => {
    srv = await start(kek1);
    await srv.call('PUT', '/v1/secrets/alpha', { body: { value: 'alpha-1' }, token: admin });
    await srv.call('PUT', '/v1/secrets/alpha', { body: { value: 'alpha-2' }, token: admin });
    await srv.call('PUT', '/v1/secrets/beta', { body: { valueBase64: Buffer.from('beta-bytes').toString('base64') }, token: admin });
    await srv.call('PUT', '/v1/secrets/tdx-only', { body: { value: 'never-for-snp', releasePolicy: 'claims.tee == "tdx"' }, token: admin });

    const key = teePair();
    const { body } = await snpAttestBody(srv, chain, { jwk: key.jwk });
    const res = await srv.call('POST', '/v1/attest', { body: { ...body, release: ['alpha', 'beta', 'tdx-only', 'missing', 'alpha'] } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const attestationId = res.body.attestationId as string;
    const out = res.body as { secrets: Record<string, string>; releaseDenials: unknown[] };
    expect(Object.keys(out.secrets).sort()).toEqual(['alpha', 'beta']);
    expect(await open(out.secrets.alpha!, key.privateKey)).toBe('alpha-2');
    expect(await open(out.secrets.beta!, key.privateKey)).toBe('beta-bytes');
    expect(out.releaseDenials).toEqual([
      // A forbidden name and a missing one look the same to the guest (no oracle on names).
      expect.objectContaining({ name: 'tdx-only', version: null, code: 'release_denied' }),
      expect.objectContaining({ name: 'missing', version: null, code: 'release_denied' }),
    ]);
    const audit = (await srv.call('GET', '/v1/audit?action=secret.release&limit=10', { token: admin })).body.entries as any[];
    const mine = audit.filter((e) => e.details.attestationId === attestationId);
    expect(mine.map((e) => [e.subject, e.outcome, e.details.code ?? null]).sort()).toEqual([
      ['alpha', 'released', null],
      ['beta', 'released', null],
      ['missing', 'denied', 'secret_not_found'],
      ['tdx-only', 'denied', 'release_denied'],
    ]);
    for (const e of mine) expect(e.details).toMatchObject({ via: 'attest', tokenJti: decodeJwt(res.body.token).jti });
    expect(JSON.stringify(audit)).not.toMatch(/alpha-2|beta-bytes/);
  });
});

describe('development seed', () => {
  it('seeds demo once, released only to simulated evidence, and never again after an update or delete', async () => {
    const s = srv!;
    const log = pino({ level: 'silent' });
    expect(await seedDevSecrets(s.service.ctx.secrets, log)).toBe(true);
    expect(await seedDevSecrets(s.service.ctx.secrets, log)).toBe(false);
    const key = teePair();
    const { body } = await snpAttestBody(s, chain, { jwk: key.jwk });
    const token = (await s.call('POST', '/v1/attest', { body })).body.token as string;
    expect(decodeJwt(token).submods).toHaveProperty(['sev-snp', 'tessera.claims', 'simulated'], true);
    const r = await s.call('GET', `/v1/secrets/${DEMO_SECRET_NAME}`, { token });
    expect(await open(r.body, key.privateKey)).toBe(DEMO_SECRET_VALUE);
    await s.call('DELETE', `/v1/secrets/${DEMO_SECRET_NAME}`, { token: admin });
    expect(await seedDevSecrets(s.service.ctx.secrets, log)).toBe(false);
    expect((await s.call('GET', '/v1/secrets', { token: admin })).body.secrets.map((x: any) => x.name)).not.toContain(DEMO_SECRET_NAME);
  });
});

describe('restart and KEK rotation', () => {
  it('keeps every secret, policy and audit entry across a restart and a KEK rotation', async () => {
    const before = await readAll(srv!);
    expect(before).toEqual({ 'alpha@1': 'alpha-1', 'alpha@2': 'alpha-2', 'beta@1': 'beta-bytes', 'tdx-only@1': '403 release_denied' });
    const policies = (await srv!.call('GET', '/v1/policies', { token: admin })).body;
    const kids = (await srv!.call('GET', '/.well-known/jwks.json')).body.keys.map((k: any) => k.kid);
    await srv!.stop();
    await srv!.service.close();
    srv = undefined;

    // A restart with the same KEK: everything still there.
    srv = await start(kek1);
    expect(await readAll(srv)).toEqual(before);
    expect((await srv.call('GET', '/v1/policies', { token: admin })).body).toEqual(policies);
    const entries = (await srv.call('GET', '/v1/audit/verify', { token: admin })).body.checked as number;
    await srv.stop();
    await srv.service.close();
    srv = undefined;

    const store = openSqliteStore(dataDir);
    try {
      // The wrong current KEK opens nothing and changes nothing.
      await expect(rotateKek(store.sealedRecords, randomBytes(32), Buffer.from(kek2, 'base64'))).rejects.toThrow(KekRotationError);
      expect((await new SecretStore(store.secrets, Buffer.from(kek1, 'base64')).find('alpha', 1))!.open().toString()).toBe('alpha-1');
      const report = await rotateKek(store.sealedRecords, Buffer.from(kek1, 'base64'), Buffer.from(kek2, 'base64'));
      expect(report).toEqual({ secretVersions: 4, signingKeys: kids.length, serverSecrets: 2 });
      const rotated = new SecretStore(store.secrets, Buffer.from(kek2, 'base64'));
      expect((await rotated.find('tdx-only', 1))!.open().toString()).toBe('never-for-snp');
      const stale = (await new SecretStore(store.secrets, Buffer.from(kek1, 'base64')).find('alpha', 1))!;
      expect(() => stale.open()).toThrow(/does not open/);
    } finally {
      await store.close();
    }

    // The old KEK no longer starts the service; the new one does, with the same keys and secrets.
    const config = loadConfig({ env: {}, overrides: { dataDir, port: 0, logLevel: 'silent', collateral: { offline: true } } });
    await expect(createService({ config, env: { TESSERA_KEK: kek1, TESSERA_ADMIN_TOKEN: admin }, logger: pino({ level: 'silent' }) })).rejects.toThrow(StartupError);
    srv = await start(kek2);
    expect((await srv.call('GET', '/.well-known/jwks.json')).body.keys.map((k: any) => k.kid)).toEqual(kids);
    expect(await readAll(srv)).toEqual(before);
    const chainReport = (await srv.call('GET', '/v1/audit/verify', { token: admin })).body;
    expect(chainReport.ok).toBe(true);
    expect(chainReport.checked).toBeGreaterThan(entries);
    const rotation = (await srv.call('GET', '/v1/audit?action=kek.rotate', { token: admin })).body.entries;
    expect(rotation).toHaveLength(1);
    expect((await verifyAuditChain(srv.service.store.audit)).ok).toBe(true);
  });
});
