// Result-signing keys: ES256 (P-256), private keys stored as envelopes under the KEK, kid =
// RFC 7638 thumbprint. One key is active; rotation retires it but keeps its public key in
// the JWKS until every token it signed has expired (retirement + token lifetime), so
// relying parties never see a valid token they cannot verify.
//
// The active key is kept decrypted with the configuration epoch it was read at
// (server/storage/epoch-cached.ts): every signature reads that one integer, and the key row
// only when it moved, which any write to the signing keys does, whoever writes. So a
// rotation by the CLI or another replica applies to the next token.

import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { decryptEnvelope, encryptEnvelope, EnvelopeError, parseEnvelope, serializeEnvelope } from '../crypto/envelope.ts';
import { decodeJson } from '../storage/decode.ts';
import { StoreCorruptError } from '../storage/store.ts';
import { EpochCached, type EpochReading } from '../storage/epoch-cached.ts';
import type { AuditInput, AuditOf, ConfigEpochStorage, PublicSigningKeyRow, SigningKeyRow, SigningKeyStorage } from '../storage/store.ts';

export const SIGNING_ALG = 'ES256';

export interface ActiveSigningKey {
  kid: string;
  privateKey: KeyObject;
}

export interface PublicSigningKey {
  kid: string;
  createdAt: number;
  retiredAt: number | null;
  publishUntil: number | null;
  jwk: JWK;
}

/** Envelope context of signing key `kid`'s private key: the envelope opens only as that key's row. */
export const signingKeyContext = (kid: string): string => `signing-key:${kid}`;

async function newKeyRow(kek: Buffer, now: number): Promise<SigningKeyRow> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const exported = publicKey.export({ format: 'jwk' }) as JWK;
  const jwkCore: JWK = { kty: 'EC', crv: 'P-256', x: exported.x!, y: exported.y! };
  const kid = await calculateJwkThumbprint(jwkCore, 'sha256');
  const publicJwk: JWK = { ...jwkCore, kid, alg: SIGNING_ALG, use: 'sig' };
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  return {
    kid,
    createdAt: now,
    retiredAt: null,
    publishUntil: null,
    publicJwk: JSON.stringify(publicJwk),
    privateKey: serializeEnvelope(encryptEnvelope(kek, pkcs8, signingKeyContext(kid))),
  };
}

const toPublic = (r: PublicSigningKeyRow): PublicSigningKey => ({ kid: r.kid, createdAt: r.createdAt, retiredAt: r.retiredAt, publishUntil: r.publishUntil, jwk: decodeJson<JWK>(`signing_keys ${r.kid}`, 'public_jwk', r.publicJwk) });

export class SigningKeyStore {
  private readonly cached: EpochCached<ActiveSigningKey>;

  constructor(
    private readonly rows: SigningKeyStorage,
    epoch: ConfigEpochStorage,
    private readonly kek: Buffer,
  ) {
    this.cached = new EpochCached(epoch, (previous) => this.loadActive(previous));
  }

  /** Create the first key, audited by `audit(kid)`, when there is no active one. Returns the kid it created, if it did. */
  async ensureActive(audit: AuditOf<string>, now: number = Date.now()): Promise<string | undefined> {
    if (await this.rows.active()) return undefined;
    const row = await newKeyRow(this.kek, now);
    // Another replica may have created one meanwhile: then theirs is kept.
    return (await this.rows.createIfNoActive(row, audit(row.kid))) ? row.kid : undefined;
  }

  /** The key to sign with now: read again only when the configuration epoch (`reading`, or read now) moved. */
  active(reading?: EpochReading): Promise<ActiveSigningKey> {
    return this.cached.get(reading);
  }

  /** The active row, decrypted unless it is still `previous`'s kid (decryption is the costly part). */
  private async loadActive(previous: ActiveSigningKey | undefined): Promise<ActiveSigningKey> {
    const row = await this.rows.active();
    if (!row) throw new Error('no active signing key');
    if (previous?.kid === row.kid) return previous;
    let pkcs8: Buffer;
    try {
      pkcs8 = decryptEnvelope(this.kek, parseEnvelope(row.privateKey), signingKeyContext(row.kid));
    } catch (err) {
      if (err instanceof EnvelopeError) throw new StoreCorruptError(`signing_keys ${row.kid}`, `its private key does not open under this server's KEK (${err.message})`);
      throw err;
    }
    try {
      return { kid: row.kid, privateKey: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }) };
    } finally {
      pkcs8.fill(0);
    }
  }

  /**
   * Retire the active key (published until now + `publishForMs`, the longest lifetime of a
   * token it signed), make a new one active and audit it with `audit(kid, retired)`, in one
   * transaction. Returns the new and the retired kid.
   */
  async rotate(publishForMs: number, audit: (kid: string, retired: string | null) => AuditInput, now: number = Date.now()): Promise<{ kid: string; retired: string | null }> {
    const row = await newKeyRow(this.kek, now);
    const { retired } = await this.rows.rotate(row, now + publishForMs, (retired) => audit(row.kid, retired));
    return { kid: row.kid, retired };
  }

  /** Keys to publish at `now`: the active one and retired ones whose tokens may still be valid. */
  async published(now: number = Date.now()): Promise<PublicSigningKey[]> {
    return (await this.rows.published(now)).map(toPublic);
  }

  /** Check that the KEK opens the stored active key (a wrong KEK must stop the start, not the first attestation). */
  async checkKek(): Promise<void> {
    if (await this.rows.active()) await this.active();
  }
}

/** Every key ever made, newest first, public halves only (no KEK needed: `tessera audit verify`, `keys list`). */
export async function allPublicKeys(rows: SigningKeyStorage): Promise<PublicSigningKey[]> {
  return (await rows.all()).map(toPublic);
}
