// Stateless challenges (DESIGN.md flow step 1). The server signs what it handed out, so any
// replica can check a challenge without a session store:
//   challenge = base64url( payload || HMAC-SHA256(key, "tessera-challenge-v1" || payload) )
//   payload   = version (1) || tee (1) || expiresAt ms (8, big-endian) || nonce (32)
// Single use is enforced when it is consumed, at the commit of the attestation record
// (server/storage/store.ts AttestationStorage.record). Expired, forged and replayed challenges are told apart by code.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Tee } from '../verifier/result.ts';

const VERSION = 1;
const LABEL = 'tessera-challenge-v1';
export const NONCE_LENGTH = 32;
const TAG_LENGTH = 32;
const PAYLOAD_LENGTH = 1 + 1 + 8 + NONCE_LENGTH;
const TEE_CODES: Record<Tee, number> = { 'sev-snp': 0, tdx: 1, sgx: 2, 'az-snp-vtpm': 3, 'az-tdx-vtpm': 4 };

export type ChallengeErrorCode = 'challenge_malformed' | 'challenge_forged' | 'challenge_expired' | 'challenge_replayed' | 'challenge_tee_mismatch';

export class ChallengeError extends Error {
  constructor(
    readonly code: ChallengeErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ChallengeError';
  }
}

export interface IssuedChallenge {
  challenge: string;
  /** The raw nonce, base64url: what goes into the REPORT_DATA binding. */
  nonce: string;
  expiresAt: string;
}

export interface OpenedChallenge {
  nonce: Buffer;
  expiresAt: number;
}

export class ChallengeSigner {
  constructor(
    private readonly key: Buffer,
    private readonly ttlMs: number,
  ) {
    if (key.length < 32) throw new Error('challenge key must be at least 32 bytes');
  }

  private tag(payload: Buffer): Buffer {
    return createHmac('sha256', this.key).update(LABEL).update(payload).digest();
  }

  issue(tee: Tee, now: number = Date.now()): IssuedChallenge {
    const nonce = randomBytes(NONCE_LENGTH);
    const expiresAt = now + this.ttlMs;
    const payload = Buffer.alloc(PAYLOAD_LENGTH);
    payload.writeUInt8(VERSION, 0);
    payload.writeUInt8(TEE_CODES[tee], 1);
    payload.writeBigUInt64BE(BigInt(expiresAt), 2);
    nonce.copy(payload, 10);
    return {
      challenge: Buffer.concat([payload, this.tag(payload)]).toString('base64url'),
      nonce: nonce.toString('base64url'),
      expiresAt: new Date(expiresAt).toISOString(),
    };
  }

  /** Check the signature, the expiry and the TEE. Does not consume it (see AttestationStorage.record). */
  open(challenge: string, tee: Tee, now: number = Date.now()): OpenedChallenge {
    const raw = /^[A-Za-z0-9_-]+$/.test(challenge) ? Buffer.from(challenge, 'base64url') : Buffer.alloc(0);
    if (raw.length !== PAYLOAD_LENGTH + TAG_LENGTH || raw[0] !== VERSION) {
      throw new ChallengeError('challenge_malformed', 'The challenge is not one this server issues (wrong encoding, length or version).');
    }
    const payload = raw.subarray(0, PAYLOAD_LENGTH);
    // Constant time: the tag is a secret-derived authenticator.
    if (!timingSafeEqual(this.tag(payload), raw.subarray(PAYLOAD_LENGTH))) {
      throw new ChallengeError('challenge_forged', 'The challenge signature does not verify: it was not issued by this service or was altered.');
    }
    const expiresAt = Number(payload.readBigUInt64BE(2));
    if (now >= expiresAt) {
      throw new ChallengeError('challenge_expired', `The challenge expired at ${new Date(expiresAt).toISOString()}; ask for a new one.`);
    }
    if (payload[1] !== TEE_CODES[tee]) {
      const issued = (Object.keys(TEE_CODES) as Tee[]).find((t) => TEE_CODES[t] === payload[1]) ?? 'unknown';
      throw new ChallengeError('challenge_tee_mismatch', `The challenge was issued for tee ${issued}, but the evidence is for ${tee}.`);
    }
    return { nonce: Buffer.from(payload.subarray(10)), expiresAt };
  }
}

/** A challenge consumed already (by any replica): what an engine throws when the consumption finds it taken. */
export function challengeReplayed(): ChallengeError {
  return new ChallengeError('challenge_replayed', 'The challenge was already used; each challenge is valid for one attestation.');
}

/**
 * A challenge that expired before its consumption committed: what an engine throws when the
 * clock at the commit is at or past its expiry. Expired nonces are pruned, so a request that
 * opened the challenge in time but commits after a prune would otherwise find no row and use
 * it a second time. No consumption after expiry means no nonce is needed after it.
 */
export function challengeExpiredAtCommit(expiresAt: number): ChallengeError {
  return new ChallengeError('challenge_expired', `The challenge expired at ${new Date(expiresAt).toISOString()} while this attestation was being decided; ask for a new one.`);
}
