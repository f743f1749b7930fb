// Secret release (DESIGN.md flow step 4): who may have a secret, decided from an attestation
// result this service issued, and the answer encrypted so that only the attested guest can
// read it. Two ways in, one decision:
//   - GET /v1/secrets/{name} with the result token as bearer: the token is verified here
//     (ES256 by a key we publish, not expired, our EAR profile);
//   - POST /v1/attest with `release: [...]`: the token was issued in the same request.
// Either way the subject is read from the token's payload by subjectOf(), so both paths
// see exactly the same claims, status and policy id.
//
// The secret is a compact JWE, ECDH-ES+A256KW with A256GCM (RFC 7518 sections 4.6 and 5.3),
// to the token's confirmation key (RFC 7800 `cnf.jwk`): holding the token without the TEE
// private key gets nothing. Every decision, release or denial, is audited with the secret
// name and version, the token's jti and the claims digest; never the value, never the token.

import { createCipheriv, createHash, createPublicKey, diffieHellman, generateKeyPairSync, randomBytes, type JsonWebKey, type KeyObject } from 'node:crypto';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWK } from 'jose';
import { canonicalJson } from '../../verifier/policy/canonical.ts';
import { evaluateReleasePolicy, PolicyValidationError, type EarStatus, type ReleasePolicy, type RuleOutcome } from '../../verifier/policy/index.ts';
import type { Claims, Tee } from '../../verifier/result.ts';
import type { ServiceContext } from '../context.ts';
import { EAR_DEVELOPER, EAR_PROFILE, type EarPayload, type PolicyId } from '../ear.ts';
import { SIGNING_ALG } from '../keys/signing-keys.ts';
import { ApiError } from '../problem.ts';
import type { EpochReading } from '../storage/epoch-cached.ts';
import { StoreCorruptError, type AuditInput } from '../storage/store.ts';
import { reportCorruption } from '../audit/corruption.ts';
import { isSecretName, releasePolicyOf, type SecretStore } from './store.ts';

export const JWE_ALG = 'ECDH-ES+A256KW';
export const JWE_ENC = 'A256GCM';

/** What a release is decided on: the attestation result, as the token states it. */
export interface ReleaseSubject {
  tee: Tee;
  claims: Claims;
  status: EarStatus;
  policy: PolicyId;
  jti: string;
  /** The TEE public key (`cnf.jwk`). */
  cnf: JWK;
  /** SHA-256 of the canonical JSON of the claims: the same digest the attestation entry records. */
  claimsDigest: string;
}

const tokenInvalid = (why: string) => new ApiError(401, 'token_invalid', `The bearer token is not an attestation result of this service: ${why}.`);

/** Read the subject out of a verified (or just issued) EAR payload; anything off-shape is token_invalid. */
/** The confirmation keys /v1/secrets encrypts to (encryptToTeeKey): public EC P-256. */
export function isP256PublicJwk(jwk: JWK): boolean {
  return jwk.kty === 'EC' && jwk.crv === 'P-256' && !('d' in jwk);
}

/**
 * `acceptCnf` says which confirmation keys the caller can encrypt to: P-256 for /v1; the KBS
 * resource path also takes P-521 and RSA keys (server/kbs/tee-pubkey.ts).
 */
export function subjectOf(payload: EarPayload, acceptCnf: (jwk: JWK) => boolean = isP256PublicJwk): ReleaseSubject {
  if (payload.eat_profile !== EAR_PROFILE || payload['ear.verifier-id']?.developer !== EAR_DEVELOPER) throw tokenInvalid('its profile or verifier is not ours');
  const submods = typeof payload.submods === 'object' && payload.submods !== null ? Object.entries(payload.submods) : [];
  // This service issues exactly one submodule, named for the attested TEE.
  if (submods.length !== 1) throw tokenInvalid('expected exactly one attested TEE');
  const [tee, sub] = submods[0]!;
  const claims = sub?.['tessera.claims'];
  const status = sub?.['ear.status'];
  const policy = sub?.['ear.appraisal-policy-id'];
  if (typeof claims !== 'object' || claims === null || claims.tee !== tee) throw tokenInvalid('its claims are missing or name another TEE');
  if (status !== 'affirming' && status !== 'warning' && status !== 'contraindicated') throw tokenInvalid('its ear.status is not an EAR status');
  if (typeof policy?.name !== 'string' || typeof policy.version !== 'number') throw tokenInvalid('its appraisal policy id is missing');
  const jwk = payload.cnf?.jwk;
  if (typeof jwk !== 'object' || jwk === null || !acceptCnf(jwk)) throw tokenInvalid(acceptCnf === isP256PublicJwk ? 'its cnf is not a public EC P-256 key' : 'its cnf is not a public key this endpoint encrypts to');
  if (typeof payload.jti !== 'string') throw tokenInvalid('it has no jti');
  return {
    tee: tee as Tee,
    claims,
    status,
    policy,
    jti: payload.jti,
    cnf: jwk,
    claimsDigest: createHash('sha256').update(canonicalJson(claims), 'utf8').digest('hex'),
  };
}

/** Public keys by kid, imported once: the JWKS changes only on rotation. */
const publicKeys = new Map<string, KeyObject>();

/**
 * Verify a result token presented as a bearer credential: ES256 signature by a key this
 * service publishes now (the JWKS), `exp` not passed at `now`, our EAR profile. Each failure
 * has its own code: token_invalid, token_unknown_key, token_expired.
 */
export async function verifyResultToken(ctx: ServiceContext, token: string, now: number = Date.now(), acceptCnf: (jwk: JWK) => boolean = isP256PublicJwk): Promise<ReleaseSubject> {
  let kid: unknown;
  try {
    kid = decodeProtectedHeader(token).kid;
  } catch {
    throw tokenInvalid('it is not a compact JWS');
  }
  if (typeof kid !== 'string') throw tokenInvalid('its header names no key (kid)');
  const published = (await ctx.keys.published(now)).find((k) => k.kid === kid);
  if (!published) {
    throw new ApiError(401, 'token_unknown_key', 'The bearer token is signed by a key this service does not publish (another issuer, or a key whose tokens have all expired).', { kid });
  }
  let key = publicKeys.get(kid);
  if (!key) {
    key = createPublicKey({ key: published.jwk as JsonWebKey, format: 'jwk' });
    publicKeys.set(kid, key);
  }
  let payload: EarPayload;
  try {
    // exp is required; no clock tolerance: a result is valid for exactly the time it states.
    ({ payload } = (await jwtVerify(token, key, { algorithms: [SIGNING_ALG], currentDate: new Date(now), requiredClaims: ['exp', 'iat', 'jti'] })) as { payload: EarPayload });
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw new ApiError(401, 'token_expired', 'The attestation result has expired; attest again.');
    if (err instanceof joseErrors.JWSSignatureVerificationFailed) throw tokenInvalid(`its signature does not verify with key ${kid}`);
    throw tokenInvalid((err as Error).message);
  }
  return subjectOf(payload, acceptCnf);
}

/** Evaluated in place of the gates of a secret that does not exist (decideRelease). */
const ABSENT_SECRET_POLICY: ReleasePolicy = releasePolicyOf({ releasePolicy: 'claims.tee == "none"', acceptPolicies: null, acceptStatuses: ['affirming', 'warning', 'contraindicated'] });

export type ReleaseDecision =
  | { released: true; name: string; version: number; jwe: string }
  | { released: false; name: string; version: number | null; status: 403 | 404 | 503; code: string; detail: string; failedRules: RuleOutcome[] };

const JWE_KW_IV = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');

/** uint32 big-endian length prefix, then the bytes (RFC 7518 section 4.6.2 "Datalen || Data"). */
const lengthPrefixed = (bytes: Buffer) => Buffer.concat([u32(bytes.length), bytes]);
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/**
 * Encrypt `value` to the TEE key as a compact JWE, ECDH-ES+A256KW with A256GCM, with
 * node:crypto synchronously: this is the hot path of attest-and-release, and jose's
 * WebCrypto route costs about 1.2 ms here against about 0.2 ms. Every step is RFC 7518:
 *   - an ephemeral P-256 key (`epk` in the protected header) and Z = ECDH(epk, cnf) (4.6);
 *   - the Concat KDF of NIST SP 800-56A 5.8.1 with SHA-256, one round for a 256-bit key:
 *     SHA-256(00000001 || Z || len(alg) || alg || len(apu)=0 || len(apv)=0 || 256) (4.6.2);
 *   - a random 256-bit CEK wrapped with AES-256 Key Wrap (RFC 3394, 4.4) under that key;
 *   - A256GCM over the value with a random 96-bit IV, AAD = the encoded protected header (5.3).
 * The tests open every JWE with jose's compactDecrypt, as the agent does.
 */
export function encryptToTeeKey(value: Uint8Array, cnf: JWK): string {
  const recipient = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: cnf.x!, y: cnf.y! }, format: 'jwk' });
  const { privateKey: ephemeral, publicKey: epkKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const epk = epkKey.export({ format: 'jwk' });
  const z = diffieHellman({ privateKey: ephemeral, publicKey: recipient });
  const header = Buffer.from(JSON.stringify({ alg: JWE_ALG, enc: JWE_ENC, epk: { kty: 'EC', crv: 'P-256', x: epk.x, y: epk.y } })).toString('base64url');
  const otherInfo = Buffer.concat([lengthPrefixed(Buffer.from(JWE_ALG, 'ascii')), u32(0), u32(0), u32(256)]);
  const kek = createHash('sha256').update(u32(1)).update(z).update(otherInfo).digest();
  const cek = randomBytes(32);
  const iv = randomBytes(12);
  try {
    const wrap = createCipheriv('id-aes256-wrap', kek, JWE_KW_IV);
    const encryptedKey = Buffer.concat([wrap.update(cek), wrap.final()]);
    const gcm = createCipheriv('aes-256-gcm', cek, iv, { authTagLength: 16 });
    gcm.setAAD(Buffer.from(header, 'ascii'));
    const ciphertext = Buffer.concat([gcm.update(value), gcm.final()]);
    return [header, encryptedKey.toString('base64url'), iv.toString('base64url'), ciphertext.toString('base64url'), gcm.getAuthTag().toString('base64url')].join('.');
  } finally {
    z.fill(0);
    kek.fill(0);
    cek.fill(0);
  }
}

/**
 * Decide one release: the secret (version) exists, its release gates pass for this subject
 * (status, appraisal policy, CEL), and if so the JWE. Records nothing: releaseAudit builds its entry.
 */
export async function decideRelease(
  ctx: ServiceContext,
  secrets: SecretStore,
  subject: ReleaseSubject,
  name: string,
  version?: number,
  reading?: EpochReading,
  /** How the released value is encrypted to `subject.cnf`: a compact JWE (/v1), or the KBS flattened JWE. */
  encrypt: (value: Uint8Array, cnf: JWK) => string = encryptToTeeKey,
): Promise<ReleaseDecision> {
  const notFound = (): ReleaseDecision => ({
    released: false,
    name,
    version: version ?? null,
    status: 404,
    code: 'secret_not_found',
    detail: version === undefined ? `There is no secret named ${name}.` : `There is no version ${version} of secret ${name}.`,
    failedRules: [],
  });
  if (!isSecretName(name)) return notFound();
  let found: Awaited<ReturnType<SecretStore['find']>>;
  try {
    found = await secrets.find(name, version);
  } catch (err) {
    if (!(err instanceof StoreCorruptError)) throw err;
    // Its gates cannot be read, so this is a refusal (fail closed), shown to the guest like
    // any other (guestDenial: no oracle); the audit entry and the log say store_corrupt.
    reportCorruption(ctx, err, 'secret release');
    return { released: false, name, version: version ?? null, status: 403, code: 'store_corrupt', detail: `Secret ${name}: its stored metadata is corrupt (${err.record}).`, failedRules: [] };
  }
  if (!found) {
    // The same work as a secret whose gates are evaluated (one compiled policy, one CEL
    // evaluation over this subject), so the time to the answer does not tell a guest that
    // the name is free: see guestDenial.
    evaluateReleasePolicy(ABSENT_SECRET_POLICY, { claims: subject.claims, status: subject.status, policyId: `${subject.policy.name}@${subject.policy.version}` }, await ctx.policies.context(reading));
    return notFound();
  }
  const { info } = found;
  let policy: ReleasePolicy;
  try {
    policy = releasePolicyOf(info);
  } catch (err) {
    // Compiled on upload, so only an upgrade of the CEL environment or an edited row gets
    // here. Fail closed for this secret alone, as a decision that is audited like any
    // other: thrown, it would refuse the whole attest request (token and other names
    // included) as a 422 about a policy the guest never sent, with no audit entry.
    if (!(err instanceof PolicyValidationError)) throw err;
    ctx.log.error({ secret: name, version: info.version, issues: err.issues }, 'the release policy of a stored secret does not compile; it is released to no one until a new version is stored');
    const rule: RuleOutcome = { id: 'release.policy', ok: false, effect: 'deny', detail: 'the stored release policy of this version does not compile; it fails closed', expected: 'a release policy that compiles', found: null };
    return { released: false, name, version: info.version, status: 403, code: 'release_denied', detail: `Secret ${name} (version ${info.version}) is not released: ${rule.detail}.`, failedRules: [rule] };
  }
  const outcome = evaluateReleasePolicy(
    policy,
    { claims: subject.claims, status: subject.status, policyId: `${subject.policy.name}@${subject.policy.version}` },
    await ctx.policies.context(reading),
  );
  if (!outcome.ok) {
    return { released: false, name, version: info.version, status: 403, code: 'release_denied', detail: `Secret ${name} (version ${info.version}) is not released to this attestation result: ${outcome.detail}.`, failedRules: [outcome] };
  }
  let value: Buffer;
  try {
    value = found.open();
  } catch (err) {
    if (!(err instanceof StoreCorruptError)) throw err;
    // Reached only once the gates passed: telling this guest the secret exists tells it nothing new.
    reportCorruption(ctx, err, 'secret release');
    return { released: false, name, version: info.version, status: 503, code: 'store_corrupt', detail: `Secret ${name} is stored but cannot be opened by this server (damaged, copied from another row, or sealed under another KEK); the operator has been told.`, failedRules: [] };
  }
  try {
    return { released: true, name, version: info.version, jwe: encrypt(value, subject.cnf) };
  } finally {
    value.fill(0);
  }
}

/** A refusal as the attested guest sees it (a 503 is store_corrupt: the gates passed, the value does not open). */
export interface GuestDenial {
  status: 403 | 503;
  code: string;
  detail: string;
  name: string;
  version: number | null;
  failedRules: RuleOutcome[];
}

/**
 * What the attested guest is told of a refusal. A missing secret (or version) and one whose
 * release gates refuse this result give the same status, code and body (no version, no
 * failed rules), so a guest cannot learn which names exist by asking for them; the audit
 * entry (releaseAudit) keeps the real reason for the operator. store_corrupt (503) is only
 * reached once the gates passed, so it tells the guest nothing it may not know; a
 * secret whose metadata is corrupt is refused like a forbidden one (its gates cannot be read).
 */
export function guestDenial(d: Extract<ReleaseDecision, { released: false }>): GuestDenial {
  if (d.status === 503) return { status: 503, code: d.code, detail: d.detail, name: d.name, version: d.version, failedRules: [] };
  return {
    status: 403,
    code: 'release_denied',
    detail: `Secret ${d.name} is not released to this attestation result: it does not exist, or its release gates refuse this result (the operator's audit log says which).`,
    name: d.name,
    version: null,
    failedRules: [],
  };
}

/** The audit entry of one decision. `subject` is null when the token itself was refused. */
export function releaseAudit(
  entry: { name: string; version: number | null; released: boolean; code?: string; failedRules?: RuleOutcome[]; via: 'secret-get' | 'attest' | 'kbs'; attestationId?: string; tee?: string },
  subject: ReleaseSubject | null,
  clientAddress: string | null,
  now: number = Date.now(),
): AuditInput {
  return {
    action: 'secret.release',
    outcome: entry.released ? 'released' : 'denied',
    actor: 'anonymous',
    subject: entry.name,
    tee: subject?.tee ?? entry.tee ?? null,
    clientAddress,
    at: now,
    details: {
      name: entry.name,
      version: entry.version,
      via: entry.via,
      ...(entry.attestationId ? { attestationId: entry.attestationId } : {}),
      tokenJti: subject?.jti ?? null,
      claimsDigest: subject?.claimsDigest ?? null,
      policy: subject?.policy ?? null,
      ...(entry.released ? {} : { code: entry.code ?? null, failedRules: (entry.failedRules ?? []).map((r) => ({ id: r.id, detail: r.detail })) }),
    },
  };
}
