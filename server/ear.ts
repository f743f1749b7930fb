// The attestation result: a JWT in the EAR shape (draft-ietf-rats-ear, "EAT Attestation
// Results"), signed ES256 by the active result-signing key, bound to the TEE key by `cnf`
// (RFC 7800). One submodule per attested TEE carries the appraisal:
//   ear.status                  affirming | warning | contraindicated (never issued)
//   ear.trustworthiness-vector  AR4SI claims (draft-ietf-rats-ar4si) from the policy rules
//   ear.appraisal-policy-id     { name, version, hash } of the policy version that decided
//   tessera.claims              the verified, normalised claims (verifier/result.ts Claims)

import { randomUUID } from 'node:crypto';
import type { JWK, JWTPayload } from 'jose';
import type { Claims, Tee } from '../verifier/result.ts';
import type { EarStatus } from '../verifier/policy/types.ts';
import { signCompactJws } from './keys/sign-jws.ts';
import type { SigningKeyStore } from './keys/signing-keys.ts';
import type { EpochReading } from './storage/epoch-cached.ts';

/** The EAR profile this service emits (draft-ietf-rats-ear section 3). */
export const EAR_PROFILE = 'tag:github.com,2023:veraison/ear';
/** `ear.verifier-id.developer`: who built the verifier (a name; the project has no canonical URL). */
export const EAR_DEVELOPER = 'tessera';

export interface PolicyId {
  name: string;
  version: number;
  hash: string;
}

export interface EarSubmod {
  'ear.status': EarStatus;
  'ear.trustworthiness-vector': Record<string, number>;
  'ear.appraisal-policy-id': PolicyId;
  'tessera.claims': Claims;
}

export interface EarPayload extends JWTPayload {
  eat_profile: string;
  iat: number;
  exp: number;
  jti: string;
  /** The challenge nonce (base64url) the evidence was bound to. */
  eat_nonce: string;
  'ear.verifier-id': { developer: string; build: string };
  submods: Partial<Record<Tee, EarSubmod>>;
  cnf: { jwk: JWK };
}

export interface IssueInput {
  tee: Tee;
  nonce: string;
  status: EarStatus;
  vector: Record<string, number>;
  policy: PolicyId;
  claims: Claims;
  teePublicKey: JWK;
  ttlSeconds: number;
  build: string;
  now: number;
  /** The request's reading of the configuration epoch, if it took one (server/storage/epoch-cached.ts). */
  configEpoch?: EpochReading;
}

export async function issueEar(keys: SigningKeyStore, input: IssueInput): Promise<{ token: string; jti: string; expiresAt: number; kid: string }> {
  const iat = Math.floor(input.now / 1000);
  const exp = iat + input.ttlSeconds;
  const jti = randomUUID();
  const payload: EarPayload = {
    eat_profile: EAR_PROFILE,
    iat,
    exp,
    jti,
    eat_nonce: input.nonce,
    'ear.verifier-id': { developer: EAR_DEVELOPER, build: input.build },
    submods: {
      [input.tee]: {
        'ear.status': input.status,
        'ear.trustworthiness-vector': input.vector,
        'ear.appraisal-policy-id': input.policy,
        'tessera.claims': input.claims,
      },
    },
    cnf: { jwk: input.teePublicKey },
  };
  const { jws, kid } = await signCompactJws(keys, 'JWT', payload, input.configEpoch);
  return { token: jws, jti, expiresAt: exp * 1000, kid };
}
