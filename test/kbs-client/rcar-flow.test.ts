/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are JSON checked field by field */
// The whole KBS RCAR flow (auth, attest, resource) against real `tessera serve --dev`
// processes, driven by the conformance client (guest-agent/kbs, written from the CoCo
// attestation-agent, never from server/kbs): simulator SEV-SNP and TDX evidence in the
// agent's JSON shapes, bound to the REPORT_DATA the client computes; the resource decrypted
// with the agent's AAD rule. Then every refusal the protocol needs, each a Trustee-shaped
// {type, detail} with the status Trustee sends (kbs/src/error.rs: 401 for everything but a
// bad path), and a JWE whose header bytes were reordered, which the client must refuse.

import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { decodeJwt, flattenedDecrypt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KbsClient, KbsProblem, type AttestationBody } from '../../guest-agent/kbs/client.ts';
import { kbsPrimaryEvidence } from '../../guest-agent/kbs/evidence.ts';
import { agentAad, agentHeaderJson, decodeProtectedHeader, decryptContent, fromBase64url, JweError } from '../../guest-agent/kbs/jwe.ts';
import { kbsReportData } from '../../guest-agent/kbs/runtime-data.ts';
import { TEE_KEY_ALGORITHMS, TeeKeyPair } from '../../guest-agent/kbs/tee-key.ts';
import { SimulatorProvider } from '../../guest-agent/providers/simulator.ts';
import { loadOrCreateSimulatorChain } from '../../verifier/testing/simulator-files.ts';
import type { SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { call, removeDir, serve, TESSERA, tempDir, type Served } from '../e2e/processes.ts';

const simDir = tempDir('tessera-kbs-sim-');
const dataDir = tempDir('tessera-kbs-data-');
const shortDir = tempDir('tessera-kbs-short-');
const admin = `kbs-admin-${randomBytes(24).toString('hex')}`;
const env = { TESSERA_SIMULATOR_DIR: simDir, TESSERA_ADMIN_TOKEN: admin, TESSERA_KEK: '', TESSERA_LOG_LEVEL: 'info' };
/** The smallest kbs.sessionTtlSeconds the configuration allows. */
const SESSION_TTL_SECONDS = 10;

let chain: SimulatorChain;
let server: Served | undefined;
let shortLived: Served | undefined;

const RESOURCES = {
  snp: { path: 'default/key/snp', secret: 'default.key.snp', value: `snp-resource-${randomBytes(8).toString('hex')}` },
  tdx: { path: 'default/key/tdx', secret: 'default.key.tdx', value: `tdx-resource-${randomBytes(8).toString('hex')}` },
  denied: { path: 'default/key/sgx-only', secret: 'default.key.sgx-only', value: 'never released to this guest' },
  initData: { path: 'default/key/init-data', secret: 'default.key.init-data', value: `init-data-resource-${randomBytes(8).toString('hex')}` },
  azure: { path: 'default/key/azure', secret: 'default.key.azure', value: `azure-resource-${randomBytes(8).toString('hex')}` },
};

const snp = () => new SimulatorProvider({ tee: 'sev-snp', chain });
const tdx = () => new SimulatorProvider({ tee: 'tdx', chain });
const kbs = (options: Partial<ConstructorParameters<typeof KbsClient>[0]> = {}, url = server!.url) => new KbsClient({ url, ...options });

async function putSecret(url: string, name: string, value: string, releasePolicy?: string): Promise<void> {
  const r = await call(url, 'PUT', `/v1/secrets/${name}`, { body: { value, ...(releasePolicy ? { releasePolicy } : {}) }, token: admin });
  expect(r.status, r.text).toBe(201);
}

/** The KBS refusal from `promise`: a KbsProblem with Trustee's ErrorInformation shape. */
async function refusal(promise: Promise<unknown>): Promise<KbsProblem> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the KBS accepted what it must refuse').toBeInstanceOf(KbsProblem);
  const p = err as KbsProblem;
  expect(typeof p.type).toBe('string');
  expect(p.type.length).toBeGreaterThan(0);
  expect(p.detail.length).toBeGreaterThan(0);
  return p;
}

/** The Trustee error kind (kbs/src/error.rs variant) at the end of an ErrorInformation type URL. */
const TRUSTEE_ERRORS = 'https://github.com/confidential-containers/kbs/errors/';
function kind(body: unknown): string {
  const type = (body as { type?: unknown } | undefined)?.type;
  expect(typeof type === 'string' && type.startsWith(TRUSTEE_ERRORS), `type ${String(type)}`).toBe(true);
  return (type as string).slice(TRUSTEE_ERRORS.length);
}

/** Auth, then evidence for that challenge bound to `bindKey` (default: the client's own key). */
async function boundAttestation(client: KbsClient, provider: SimulatorProvider, bindKey?: TeeKeyPair): Promise<AttestationBody> {
  const tee = (await provider.tee()) === 'tdx' ? 'tdx' : 'snp';
  const challenge = await client.auth(tee);
  const { runtime, reportData } = client.reportData(challenge);
  const bound = bindKey ? kbsReportData({ nonce: challenge.nonce, 'tee-pubkey': bindKey.exportPubkey() }) : reportData;
  return client.attestationBody(runtime, kbsPrimaryEvidence(await provider.getEvidence(bound)));
}

beforeAll(async () => {
  chain = await loadOrCreateSimulatorChain(simDir, { rsaBits: 2048 });
  [server, shortLived] = await Promise.all([
    serve(process.execPath, [TESSERA, 'serve', '--dev', '--data', dataDir, '--port', '0'], env),
    serve(process.execPath, [TESSERA, 'serve', '--dev', '--data', shortDir, '--port', '0'], { ...env, TESSERA_KBS_SESSION_TTL: String(SESSION_TTL_SECONDS) }),
  ]);
  await putSecret(server.url, RESOURCES.snp.secret, RESOURCES.snp.value, 'claims.tee == "sev-snp"');
  await putSecret(server.url, RESOURCES.tdx.secret, RESOURCES.tdx.value, 'claims.tee == "tdx"');
  await putSecret(server.url, RESOURCES.denied.secret, RESOURCES.denied.value, 'claims.tee == "sgx"');
  await putSecret(server.url, RESOURCES.azure.secret, RESOURCES.azure.value);
  await putSecret(server.url, RESOURCES.initData.secret, RESOURCES.initData.value, 'has(claims.initData) && claims.initData.algorithm == "sha384"');
  await putSecret(shortLived.url, RESOURCES.snp.secret, RESOURCES.snp.value);
}, 120_000);

afterAll(async () => {
  await Promise.all([server?.stop(), shortLived?.stop()]);
  for (const d of [simDir, dataDir, shortDir]) removeDir(d);
});

describe('RCAR against tessera serve: auth, attest, resource', () => {
  it('SEV-SNP with the session cookie: the token is a JWT with exp, the resource decrypts to the secret', async () => {
    const client = kbs();
    const token = await client.handshake(snp());
    const claims = decodeJwt(token);
    expect(typeof claims.exp).toBe('number'); // token.rs reads exp/nbf only
    expect(client.sessionCookie).toBeDefined();
    expect((await client.getResource(RESOURCES.snp.path)).toString()).toBe(RESOURCES.snp.value);
    // The same session serves more than one resource request.
    expect((await client.getResource(RESOURCES.snp.path)).toString()).toBe(RESOURCES.snp.value);
  });

  it('TDX with the session cookie', async () => {
    const client = kbs();
    await client.handshake(tdx());
    expect((await client.getResource(RESOURCES.tdx.path)).toString()).toBe(RESOURCES.tdx.value);
  });

  it.each(['az-snp-vtpm', 'az-tdx-vtpm'] as const)('%s: the TPM nonce and HCL user-data are the runtime-data digest itself', async (tee) => {
    const provider = new SimulatorProvider({ tee, chain });
    const client = kbs();
    await client.handshake(provider);
    expect((await client.getResource(RESOURCES.azure.path)).toString()).toBe(RESOURCES.azure.value);
    // Evidence bound the tessera /v1 way (the Azure form of the padded REPORT_DATA) is refused.
    const other = kbs();
    const challenge = await other.auth(tee);
    const { runtime, reportData } = other.reportData(challenge);
    const p = await refusal(other.attestWith(other.attestationBody(runtime, kbsPrimaryEvidence(await provider.getEvidence(reportData)))));
    expect(p.status).toBe(401);
  });

  it('TDX with init-data: its SHA-384 is MRCONFIGID, and its claims reach the release policy', async () => {
    const toml = 'version = "0.1.0"\nalgorithm = "sha384"\n\n[data]\n"policy.rego" = \'\'\'\npackage agent_policy\n\'\'\'\n';
    const mrConfigId = createHash('sha384').update(toml).digest();
    const client = kbs({ initData: toml });
    await client.handshake(new SimulatorProvider({ tee: 'tdx', chain, tdx: { mrConfigId } }));
    expect((await client.getResource(RESOURCES.initData.path)).toString()).toBe(RESOURCES.initData.value);
    // Without init-data the same resource is refused; with a TD launched for other init-data, the attestation is.
    const plain = kbs();
    await plain.handshake(tdx());
    expect((await plain.requestResource(RESOURCES.initData.path)).status).toBe(401);
    const other = kbs({ initData: toml });
    const p = await refusal(other.handshake(new SimulatorProvider({ tee: 'tdx', chain, tdx: { mrConfigId: createHash('sha384').update('other').digest() } })));
    expect(p.status).toBe(401);
  });

  it('Bearer: the token alone, without the session cookie (token_client.rs)', async () => {
    const client = kbs({ auth: 'bearer' });
    await client.handshake(snp());
    const r = await client.requestResource(RESOURCES.snp.path);
    expect(r.status, r.text).toBe(200);
    expect(client.teeKey.decryptResponse(r.json).toString()).toBe(RESOURCES.snp.value);
    // The JWE is to the attested key: another key cannot open it, so a stolen token is useless.
    expect(() => TeeKeyPair.generate().decryptResponse(r.json)).toThrow(JweError);
  });

  it.each(TEE_KEY_ALGORITHMS)('tee key %s', async (keyAlgorithm) => {
    const client = kbs({ keyAlgorithm });
    await client.handshake(snp());
    expect((await client.getResource(RESOURCES.snp.path)).toString()).toBe(RESOURCES.snp.value);
  });

  it('the protected header is emitted byte for byte in the agent form, and no aad is needed', async () => {
    const client = kbs();
    await client.handshake(snp());
    const r = await client.requestResource(RESOURCES.snp.path);
    expect(r.status, r.text).toBe(200);
    const body = r.json as any;
    const received = fromBase64url(body.protected, 'protected').toString('utf8');
    const header = decodeProtectedHeader(body.protected);
    expect(header).toMatchObject({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', epk: { crv: 'P-256', kty: 'EC' } });
    expect(received).toBe(agentHeaderJson(header));
  });

  it('a 401 on resource makes the agent run a new handshake, then the resource is served', async () => {
    const client = kbs();
    await client.auth('snp'); // a session that never attests
    client.token = 'not-yet';
    const { value, handshakes } = await client.fetchResource(snp(), RESOURCES.snp.path);
    expect(value.toString()).toBe(RESOURCES.snp.value);
    expect(handshakes).toBe(1);
  });
});

describe('refusals, each {type, detail} with the status the agent expects', () => {
  it('a protocol version other than 0.4.0: 401 naming the version spoken', async () => {
    const p = await refusal(kbs().auth('snp', '0.3.0'));
    expect(p.status).toBe(401);
    expect(p.detail).toContain('0.4.0');
    expect(p.detail).toContain('KBS Client Protocol Version Mismatch'); // what the agent's own test looks for
    expect(kind(p)).toBe('AttestationError');
    await refusal(kbs().auth('snp', 'not-a-version'));
  });

  it('a replayed attestation (an earlier session\'s nonce and evidence) in a new session: 401', async () => {
    const client = kbs();
    const body = await boundAttestation(client, snp());
    await client.attestWith(body);
    await client.auth('snp'); // a new session, a new nonce
    const p = await refusal(client.attestWith(body));
    expect(p.status).toBe(401);
    expect(kind(p)).toBe('AttestationError');
  });

  // Deliberate deviation, confirmed by the server side (README "Compared with Trustee": "A
  // second attest on an attested session is refused (kbs_nonce_used)"): Trustee answers a
  // second /attest in an attested session with the session's old token
  // (kbs/src/attestation/backend.rs `__attest`: "Session ... is already attested. Skip
  // attestation and return the old token"); tessera uses each nonce once.
  it('tessera: the same attestation again in its attested session is refused (each nonce is used once)', async () => {
    const client = kbs();
    const body = await boundAttestation(client, snp());
    const token = await client.attestWith(body);
    const p = await refusal(client.attestWith(body));
    expect(p.status).toBe(401);
    expect(p.detail).toMatch(/already attested/);
    // The token from the first attestation still serves the session.
    expect(client.token).toBe(token);
  });

  it('the nonce of another open session: 401', async () => {
    const a = kbs();
    const b = kbs({ teeKey: a.teeKey });
    const bodyForA = await boundAttestation(a, snp());
    await b.auth('snp');
    const p = await refusal(b.attestWith(bodyForA));
    expect(p.status).toBe(401);
    // A's own session still accepts it: the refusal was about the session, not the evidence.
    await a.attestWith(bodyForA);
  });

  it('evidence bound to another tee-pubkey than runtime-data carries: 401, and no token', async () => {
    const client = kbs();
    const body = await boundAttestation(client, snp(), TeeKeyPair.generate());
    const p = await refusal(client.attestWith(body));
    expect(p.status).toBe(401);
    expect(kind(p)).toBe('AttestationError');
    expect(client.token).toBeUndefined();
    const r = await client.requestResource(RESOURCES.snp.path);
    expect(r.status).toBe(401);
    expect(kind(r.json)).toBe('TokenNotFound');
  });

  it('TDX evidence bound to another tee-pubkey: 401', async () => {
    const client = kbs();
    const p = await refusal(client.attestWith(await boundAttestation(client, tdx(), TeeKeyPair.generate())));
    expect(p.status).toBe(401);
  });

  it('a resource before attest (session cookie of an unattested session), or with no credentials: 401', async () => {
    const client = kbs();
    await client.auth('snp');
    const r = await client.requestResource(RESOURCES.snp.path);
    expect(r.status).toBe(401);
    expect(kind(r.json)).toBe('TokenNotFound'); // api_server.rs: no token from the session nor a Bearer header
    const none = await kbs().send('GET', `/kbs/v0/resource/${RESOURCES.snp.path}`);
    expect(none.status).toBe(401);
    expect(kind(none.json)).toBe('TokenNotFound');
    const forged = await kbs().send('GET', `/kbs/v0/resource/${RESOURCES.snp.path}`, undefined, { authorization: 'Bearer eyJhbGciOiJFUzI1NiJ9.e30.AAAA' });
    expect(forged.status).toBe(401);
    expect(kind(forged.json)).toBe('TokenVerifierError');
  });

  it('a resource whose release policy refuses this guest: 401 (Trustee PolicyDeny), the value never sent', async () => {
    const client = kbs();
    await client.handshake(snp());
    const r = await client.requestResource(RESOURCES.denied.path);
    expect(r.status).toBe(401);
    expect(kind(r.json)).toBe('PolicyDeny');
    expect(r.text).not.toContain(RESOURCES.denied.value);
    // The TDX-only resource is refused to an SEV-SNP guest too.
    expect((await client.requestResource(RESOURCES.tdx.path)).status).toBe(401);
  });

  it(`an expired session (kbs.sessionTtlSeconds ${SESSION_TTL_SECONDS}): resource and attest answer 401`, async () => {
    const attested = kbs({}, shortLived!.url);
    await attested.handshake(snp());
    expect((await attested.getResource(RESOURCES.snp.path)).toString()).toBe(RESOURCES.snp.value);
    const pending = kbs({}, shortLived!.url);
    const body = await boundAttestation(pending, snp());
    await new Promise((resolve) => setTimeout(resolve, SESSION_TTL_SECONDS * 1000 + 1500));
    const expired = await attested.requestResource(RESOURCES.snp.path);
    expect(expired.status).toBe(401);
    expect(kind(expired.json)).toBe('TokenNotFound'); // the session no longer yields a token
    const late = await refusal(pending.attestWith(body));
    expect(late.status).toBe(401);
    expect(kind(late)).toBe('AttestationError');
  }, 30_000);

  it('a KBS that emits the protected header in another byte order is refused by the client (the AAD check bites)', async () => {
    const client = kbs();
    await client.handshake(snp());
    const r = await client.requestResource(RESOURCES.snp.path);
    expect(r.status, r.text).toBe(200);
    const body = r.json as any;
    const header = decodeProtectedHeader(body.protected);
    const cek = client.teeKey.unwrapCek(header, fromBase64url(body.encrypted_key, 'encrypted_key'));
    const plaintext = decryptContent(cek, body, agentAad(header));
    expect(plaintext.toString()).toBe(RESOURCES.snp.value);
    // What tessera would send if it wrote the same header in another byte order: the same CEK
    // and payload, the AAD being the header bytes it sent (RFC 7516 section 5.1 step 14).
    const reemit = (text: string) => {
      const protectedB64 = Buffer.from(text).toString('base64url');
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', cek, iv);
      c.setAAD(Buffer.from(protectedB64, 'ascii'));
      const ciphertext = Buffer.concat([c.update(plaintext), c.final()]);
      return { ...body, protected: protectedB64, iv: iv.toString('base64url'), ciphertext: ciphertext.toString('base64url'), tag: c.getAuthTag().toString('base64url') };
    };
    const { alg, enc, epk, ...rest } = header as any;
    const reorderings = [
      JSON.stringify({ enc, alg, epk, ...rest }), // enc before alg
      JSON.stringify({ alg, enc, epk: { x: epk.x, crv: epk.crv, kty: epk.kty, y: epk.y }, ...rest }), // epk as jose writes it
      JSON.stringify({ alg, enc, epk, ...rest }, null, 1), // not compact
    ];
    for (const text of reorderings) {
      const other = reemit(text);
      expect(() => client.teeKey.decryptResponse(other), text).toThrow(/does not decrypt/);
      // It is a valid JWE all the same: a generic JOSE library opens it. Only the agent's rule refuses it.
      expect(Buffer.from((await flattenedDecrypt(other, client.teeKey.privateKey)).plaintext).toString()).toBe(RESOURCES.snp.value);
    }
    // The control: re-emitted in the agent form, the client opens it.
    expect(client.teeKey.decryptResponse(reemit(agentHeaderJson(header))).toString()).toBe(RESOURCES.snp.value);
  });
});

describe('audit', () => {
  it('auth, attest and resource (released and denied) are in the audit log, tied by the token', async () => {
    const client = kbs();
    const jti = decodeJwt(await client.handshake(snp())).jti;
    await client.getResource(RESOURCES.snp.path);
    expect((await client.requestResource(RESOURCES.denied.path)).status).toBe(401);
    const audit = async (query: string) => (await call(server!.url, 'GET', `/v1/audit?${query}&limit=50`, { token: admin })).body.entries as any[];
    expect((await audit('action=kbs.auth')).length).toBeGreaterThan(0);
    expect((await audit('action=kbs.attest')).find((e) => e.details?.tokenJti === jti)).toMatchObject({ outcome: 'affirming', tee: 'sev-snp', details: { hashAlg: 'sha384' } });
    expect((await audit(`action=secret.release&subject=${RESOURCES.snp.secret}`)).find((e) => e.details?.tokenJti === jti)).toMatchObject({ outcome: 'released', details: { via: 'kbs' } });
    expect((await audit(`action=secret.release&subject=${RESOURCES.denied.secret}`)).find((e) => e.details?.tokenJti === jti)).toMatchObject({ outcome: 'denied', details: { via: 'kbs', code: 'release_denied' } });
  });
});
