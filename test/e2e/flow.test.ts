/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are JSON checked field by field */
// The whole flow with the service and the agent as separate processes over real HTTP:
// attest and fetch secrets with the SEV-SNP and the TDX simulator; every way a guest or a
// token is refused, each with its own code and each audited; then a restart and a KEK
// rotation (`tessera keys rotate-kek`) that keep every secret, policy and audit entry,
// with the audit chain verifying at the end.

import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt, SignJWT } from 'jose';
import { AgentError, decryptSecret, evidenceJson, generateTeeKey, TesseraClient } from '../../guest-agent/client.ts';
import { SimulatorProvider } from '../../guest-agent/providers/simulator.ts';
import { expectedReportData } from '../../verifier/binding.ts';
import { loadOrCreateSimulatorChain } from '../../verifier/testing/simulator-files.ts';
import type { SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { SIMULATOR_SNP_MEASUREMENT } from '../../verifier/testing/snp-report-builder.ts';
import { SIMULATOR_TDX_MRTD } from '../../verifier/testing/tdx-quote-builder.ts';
import { ChallengeSigner } from '../../server/challenge.ts';
import { loadKek } from '../../server/crypto/kek.ts';
import { getOrCreateServerSecret } from '../../server/keys/server-secrets.ts';
import { SigningKeyStore } from '../../server/keys/signing-keys.ts';
import { DEMO_SECRET_VALUE } from '../../server/secrets/dev-seed.ts';
import { openSqliteStore } from '../../server/storage/sqlite/index.ts';
import type { Store } from '../../server/storage/store.ts';
import { issueExpiredCopy } from '../server/helpers.ts';
import { AGENT, call, removeDir, run, serve, TESSERA, tempDir, type Served } from './processes.ts';

const simDir = tempDir('tessera-e2e-sim-');
const dataDir = tempDir('tessera-e2e-data-');
const outDir = tempDir('tessera-e2e-out-');
const admin = `e2e-admin-${randomBytes(24).toString('hex')}`;
const env = { TESSERA_SIMULATOR_DIR: simDir, TESSERA_ADMIN_TOKEN: admin, TESSERA_KEK: '', TESSERA_LOG_LEVEL: 'info' };
let chain: SimulatorChain;
let server: Served | undefined;

const startServer = () => serve(process.execPath, [TESSERA, 'serve', '--dev', '--data', dataDir, '--port', '0'], env);
const agent = (...args: string[]) => run(AGENT, args, { TESSERA_SIMULATOR_DIR: simDir });
const api = (method: string, path: string, body?: unknown, token = admin) => call(server!.url, method, path, { ...(body !== undefined ? { body } : {}), token });
const client = () => new TesseraClient({ server: server!.url, retries: 0 });

async function lastAudit(query: string): Promise<any> {
  const r = await api('GET', `/v1/audit?${query}&limit=1`);
  return r.body.entries[0];
}

/** Evidence from the simulator bound to `bindKey`, for a fresh challenge (what the agent does). */
async function boundEvidence(bindKey: ReturnType<typeof generateTeeKey>, tee: 'sev-snp' | 'tdx' = 'sev-snp') {
  const ch = await client().challenge(tee);
  const reportData = await expectedReportData(Buffer.from(ch.nonce, 'base64url'), bindKey.publicJwk);
  const evidence = await new SimulatorProvider({ tee, chain }).getEvidence(reportData);
  return { challenge: ch.challenge, tee, evidence: evidenceJson(evidence) };
}

/** Keys and secrets from the data directory, as an attacker with the disk (and KEK) would forge them. */
async function withDataDir<T>(fn: (store: Store, kek: Buffer) => Promise<T>): Promise<T> {
  const store = openSqliteStore(dataDir);
  try {
    return await fn(store, loadKek({ dataDir, dev: true, env: {} }).key);
  } finally {
    await store.close();
  }
}

beforeAll(async () => {
  chain = await loadOrCreateSimulatorChain(simDir, { rsaBits: 2048 });
  server = await startServer();
}, 120_000);

afterAll(async () => {
  await server?.stop();
  for (const d of [simDir, dataDir, outDir]) removeDir(d);
});

describe('attest and fetch secrets, service and agent as separate processes', () => {
  it('SEV-SNP: tessera-agent secret get writes the released secret with mode 0600', async () => {
    expect(server!.stderr()).toContain('DEVELOPMENT MODE');
    const r = await agent('secret', 'get', 'demo', '--server', server!.url, '--provider', 'simulator', '--out-dir', outDir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('secret demo:');
    expect(readFileSync(join(outDir, 'demo'), 'utf8')).toBe(DEMO_SECRET_VALUE);
    expect(statSync(join(outDir, 'demo')).mode & 0o777).toBe(0o600);
    // The value never reaches the agent's output or the service's log.
    expect(r.stdout + r.stderr).not.toContain(DEMO_SECRET_VALUE.trim());
    expect(server!.stdout() + server!.stderr()).not.toContain(DEMO_SECRET_VALUE.trim());
  });

  it('TDX: a secret whose release policy asks for TDX, fetched with the TDX simulator', async () => {
    const put = await api('PUT', '/v1/secrets/tdx-app', { value: 'tdx-app-value', releasePolicy: `claims.tee == "tdx" && claims.measurement == "${SIMULATOR_TDX_MRTD}"` });
    expect(put.status, put.text).toBe(201);
    const r = await agent('secret', 'get', 'tdx-app', 'demo', '--server', server!.url, '--provider', 'simulator', '--tee', 'tdx', '--out-dir', outDir);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(outDir, 'tdx-app'), 'utf8')).toBe('tdx-app-value');
    const entry = await lastAudit('action=secret.release&subject=tdx-app');
    expect(entry).toMatchObject({ outcome: 'released', tee: 'tdx', details: { via: 'attest', version: 1 } });
  });
});

describe('refused, and audited, each with its own code', () => {
  it('a guest whose measurement the policy does not allow', async () => {
    const pinned = { name: 'pinned', tees: ['sev-snp', 'tdx'], snp: { allowDebug: false, measurements: [SIMULATOR_SNP_MEASUREMENT] }, tdx: { allowDebug: false, acceptedTcbStatuses: ['UpToDate'], mrtd: [SIMULATOR_TDX_MRTD] } };
    expect((await api('PUT', '/v1/policies/pinned', pinned)).status).toBe(201);
    expect((await api('POST', '/v1/policies/pinned/activate', {})).status).toBe(200);
    try {
      const r = await agent('secret', 'get', 'demo', '--server', server!.url, '--provider', 'simulator', '--sim-measurement', 'ab'.repeat(48), '--out-dir', join(outDir, 'denied'));
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('attestation_denied');
      expect(r.stderr).toContain('snp.measurements');
      const entry = await lastAudit('action=attestation');
      expect(entry).toMatchObject({ outcome: 'contraindicated', details: { measurement: 'ab'.repeat(48), failedRules: ['snp.measurements'] } });
      expect(await lastAudit('action=secret.release&subject=demo')).toMatchObject({ outcome: 'denied', details: { code: 'attestation_denied', attestationId: entry.subject } });
      // The pinned measurement itself is accepted.
      expect((await agent('attest', '--server', server!.url, '--provider', 'simulator')).code).toBe(0);
    } finally {
      expect((await api('POST', '/v1/policies/default/activate', {})).status).toBe(200);
    }
  });

  it('a replayed challenge', async () => {
    const key = generateTeeKey();
    const body = { ...(await boundEvidence(key)), teePublicKey: key.publicJwk };
    expect((await call(server!.url, 'POST', '/v1/attest', { body })).status).toBe(200);
    const again = await call(server!.url, 'POST', '/v1/attest', { body });
    expect([again.status, again.body.code]).toEqual([409, 'challenge_replayed']);
    expect(await lastAudit('action=attestation')).toMatchObject({ outcome: 'rejected', details: { code: 'challenge_replayed' } });
  });

  it('an expired challenge', async () => {
    // Signed with the service's own challenge key (from its data directory), issued long ago.
    const old = await withDataDir(async (store, kek) => new ChallengeSigner(await getOrCreateServerSecret(store.serverSecrets, kek, 'challenge-hmac', 32), 300_000).issue('sev-snp', Date.now() - 3_600_000));
    const key = generateTeeKey();
    const reportData = await expectedReportData(Buffer.from(old.nonce, 'base64url'), key.publicJwk);
    const evidence = evidenceJson(await new SimulatorProvider({ chain }).getEvidence(reportData));
    const r = await call(server!.url, 'POST', '/v1/attest', { body: { challenge: old.challenge, tee: 'sev-snp', evidence, teePublicKey: key.publicJwk } });
    expect([r.status, r.body.code]).toEqual([400, 'challenge_expired']);
    expect(await lastAudit('action=attestation')).toMatchObject({ outcome: 'rejected', details: { code: 'challenge_expired' } });
  });

  it('evidence bound to another key', async () => {
    const bound = generateTeeKey();
    const other = generateTeeKey();
    const body = { ...(await boundEvidence(bound)), teePublicKey: other.publicJwk, release: ['demo'] };
    const r = await call(server!.url, 'POST', '/v1/attest', { body });
    expect([r.status, r.body.code]).toEqual([403, 'attestation_denied']);
    expect(r.body.failedChecks.map((c: any) => c.id)).toEqual(['binding.report-data']);
    expect(await lastAudit('action=attestation')).toMatchObject({ outcome: 'contraindicated', details: { failedChecks: ['binding.report-data'] } });
    expect(await lastAudit('action=secret.release&subject=demo')).toMatchObject({ outcome: 'denied', details: { code: 'attestation_denied' } });
  });

  it('a token presented by a holder without its key cannot open the secret', async () => {
    const outcome = await client().attest(new SimulatorProvider({ chain }));
    const thief = generateTeeKey();
    const r = await call(server!.url, 'GET', '/v1/secrets/demo', { token: outcome.token });
    expect(r.status).toBe(200);
    // The release is recorded against the token's jti: the holder of the token got only ciphertext.
    expect(await lastAudit('action=secret.release&subject=demo')).toMatchObject({ outcome: 'released', details: { tokenJti: decodeJwt(outcome.token).jti, via: 'secret-get' } });
    const err = await decryptSecret(r.text, thief.privateKey).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentError);
    expect((err as AgentError).code).toBe('secret_undecryptable');
    expect(Buffer.from(await decryptSecret(r.text, outcome.teeKey.privateKey)).toString()).toBe(DEMO_SECRET_VALUE);
    // Neither the token nor the JWE appears in the service's log.
    expect(server!.stdout() + server!.stderr()).not.toContain(outcome.token.split('.')[2]);
    expect(server!.stdout() + server!.stderr()).not.toContain(r.text.split('.')[4]);
  });

  it('a token signed by another key', async () => {
    const outcome = await client().attest(new SimulatorProvider({ chain }));
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const kid = createPublicKey(privateKey).export({ format: 'jwk' }).x!;
    const forged = await new SignJWT(decodeJwt(outcome.token)).setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' }).sign(privateKey);
    const r = await call(server!.url, 'GET', '/v1/secrets/demo', { token: forged });
    expect([r.status, r.body.code]).toEqual([401, 'token_unknown_key']);
    expect(await lastAudit('action=secret.release&subject=demo')).toMatchObject({ outcome: 'denied', details: { code: 'token_unknown_key', tokenJti: null } });
  });

  it('an expired token', async () => {
    const outcome = await client().attest(new SimulatorProvider({ chain }));
    // Signed by the service's real key, but issued two hours ago for one minute.
    const expired = await withDataDir((store, kek) => issueExpiredCopy(new SigningKeyStore(store.signingKeys, store.configEpoch, kek), outcome.token, 'e2e'));
    const r = await call(server!.url, 'GET', '/v1/secrets/demo', { token: expired.token });
    expect([r.status, r.body.code]).toEqual([401, 'token_expired']);
    expect(await lastAudit('action=secret.release&subject=demo')).toMatchObject({ outcome: 'denied', details: { code: 'token_expired' } });
  });

  it('a secret whose release policy fails', async () => {
    // tdx-app is for TDX guests only: an SNP guest asks for it.
    const r = await agent('secret', 'get', 'tdx-app', '--server', server!.url, '--provider', 'simulator', '--out-dir', join(outDir, 'denied'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('release_denied');
    // The guest is not told which gate refused (that would let it probe names and gates); the audit is.
    expect(r.stderr).not.toContain('release.expr');
    expect(await lastAudit('action=secret.release&subject=tdx-app')).toMatchObject({ outcome: 'denied', tee: 'sev-snp', details: { code: 'release_denied', failedRules: [{ id: 'release.expr' }] } });
  });
});

describe('restart and KEK rotation', () => {
  it('keep every secret, policy and audit entry; the audit chain verifies after all of it', async () => {
    await api('PUT', '/v1/secrets/multi', { value: 'multi-1' });
    await api('PUT', '/v1/secrets/multi', { valueBase64: Buffer.from('multi-2').toString('base64') });
    const secrets = (await api('GET', '/v1/secrets')).body;
    const policies = (await api('GET', '/v1/policies')).body;
    const before = (await api('GET', '/v1/audit/verify')).body;
    expect(before.ok).toBe(true);
    const kekBefore = readFileSync(join(dataDir, 'kek'), 'utf8');

    expect(await server!.stop()).toBe(0);
    server = undefined;
    const rotated = await run(TESSERA, ['keys', 'rotate-kek', '--data', dataDir, '--json'], { TESSERA_KEK: '' });
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(JSON.parse(rotated.stdout)).toMatchObject({ secretVersions: 4, signingKeys: 1, serverSecrets: 2 });
    expect(readFileSync(join(dataDir, 'kek'), 'utf8')).not.toBe(kekBefore);
    expect(statSync(join(dataDir, 'kek')).mode & 0o777).toBe(0o600);

    server = await startServer();
    expect((await api('GET', '/v1/secrets')).body).toEqual(secrets);
    expect((await api('GET', '/v1/policies')).body).toEqual(policies);
    // Every version of every secret opens under the new KEK.
    const outcome = await client().attest(new SimulatorProvider({ chain }), { release: ['demo', 'multi'] });
    expect(Buffer.from(outcome.secrets.get('multi')!).toString()).toBe('multi-2');
    expect(Buffer.from(await client().getSecret(outcome.token, 'multi', outcome.teeKey.privateKey, 1)).toString()).toBe('multi-1');
    const tdx = await client().attest(new SimulatorProvider({ chain, tee: 'tdx' }), { release: ['tdx-app'] });
    expect(Buffer.from(tdx.secrets.get('tdx-app')!).toString()).toBe('tdx-app-value');

    const after = (await api('GET', '/v1/audit/verify')).body;
    expect(after.ok).toBe(true);
    expect(after.checked).toBeGreaterThan(before.checked);
    expect(await lastAudit('action=kek.rotate')).toMatchObject({ actor: 'cli', details: { secretVersions: 4 } });
    const cli = await run(TESSERA, ['audit', 'verify', '--data', dataDir], {});
    expect(cli.code, cli.stderr).toBe(0);
  });
});
