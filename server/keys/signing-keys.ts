// Result-signing keys: ES256 (P-256), private keys stored as envelopes under the KEK, kid =
// RFC 7638 thumbprint. One key is active; rotation retires it but keeps its public key in
// the JWKS until every token it signed has expired (retirement + token lifetime), so
// relying parties never see a valid token they cannot verify.
//
// The active key is kept decrypted with the configuration epoch it was read at
// (server/storage/config-epoch.ts): every signature reads that one integer, and the key row
// only when it moved, which any write to signing_keys does through a trigger, whichever
// connection writes. So a rotation by the CLI or another replica applies to the next token.

import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { desc, gt, isNull, or } from 'drizzle-orm';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { decryptEnvelope, encryptEnvelope, parseEnvelope, serializeEnvelope } from '../crypto/envelope.ts';
import { EpochCached } from '../storage/config-epoch.ts';
import type { Db } from '../storage/db.ts';
import { signingKeys } from '../storage/schema/signing-keys.ts';

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

async function newKeyRow(kek: Buffer, now: number) {
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

export class SigningKeyStore {
  private readonly cached: EpochCached<ActiveSigningKey>;
  // Prepared once: runs whenever the configuration epoch moved, and in every write path.
  private readonly activeQuery;

  constructor(
    private readonly db: Db,
    private readonly kek: Buffer,
  ) {
    this.activeQuery = db
      .select({ kid: signingKeys.kid, privateKey: signingKeys.privateKey })
      .from(signingKeys)
      .where(isNull(signingKeys.retiredAt))
      .orderBy(desc(signingKeys.createdAt))
      .limit(1)
      .prepare();
    this.cached = new EpochCached(db.$client, (previous) => this.loadActive(previous));
  }

  /** Create the first key when there is no active one. Returns true when it created one. */
  async ensureActive(now: number = Date.now()): Promise<boolean> {
    if (this.activeRow()) return false;
    const row = await newKeyRow(this.kek, now);
    this.db.$client
      .transaction(() => {
        // Another replica may have created one meanwhile: keep theirs.
        if (!this.activeRow()) this.db.insert(signingKeys).values(row).run();
      })
      .immediate();
    this.active();
    return true;
  }

  private activeRow() {
    return this.activeQuery.get();
  }

  /** The key to sign with now: read again only when the configuration epoch moved. */
  active(): ActiveSigningKey {
    return this.cached.get();
  }

  /** The active row, decrypted unless it is still `previous`'s kid (decryption is the costly part). */
  private loadActive(previous: ActiveSigningKey | undefined): ActiveSigningKey {
    const row = this.activeRow();
    if (!row) throw new Error('no active signing key');
    if (previous?.kid === row.kid) return previous;
    const pkcs8 = decryptEnvelope(this.kek, parseEnvelope(row.privateKey), signingKeyContext(row.kid));
    try {
      return { kid: row.kid, privateKey: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }) };
    } finally {
      pkcs8.fill(0);
    }
  }

  /**
   * Retire the active key (published until now + `publishForMs`, the longest lifetime of a
   * token it signed) and make a new one active. Returns the new and the retired kid.
   */
  async rotate(publishForMs: number, now: number = Date.now()): Promise<{ kid: string; retired: string | null }> {
    const row = await newKeyRow(this.kek, now);
    let retired: string | null = null;
    this.db.$client
      .transaction(() => {
        const current = this.activeRow();
        retired = current?.kid ?? null;
        this.db.update(signingKeys).set({ retiredAt: now, publishUntil: now + publishForMs }).where(isNull(signingKeys.retiredAt)).run();
        this.db.insert(signingKeys).values(row).run();
      })
      .immediate();
    return { kid: row.kid, retired };
  }

  /** Keys to publish at `now`: the active one and retired ones whose tokens may still be valid. */
  published(now: number = Date.now()): PublicSigningKey[] {
    return this.db
      .select()
      .from(signingKeys)
      .where(or(isNull(signingKeys.retiredAt), gt(signingKeys.publishUntil, now)))
      .orderBy(desc(signingKeys.createdAt))
      .all()
      .map((r) => ({ kid: r.kid, createdAt: r.createdAt, retiredAt: r.retiredAt, publishUntil: r.publishUntil, jwk: JSON.parse(r.publicJwk) as JWK }));
  }

  /** Every key ever made (the CLI's `keys list`), newest first. */
  all(): PublicSigningKey[] {
    return this.db
      .select()
      .from(signingKeys)
      .orderBy(desc(signingKeys.createdAt))
      .all()
      .map((r) => ({ kid: r.kid, createdAt: r.createdAt, retiredAt: r.retiredAt, publishUntil: r.publishUntil, jwk: JSON.parse(r.publicJwk) as JWK }));
  }

  /** Check that the KEK opens the stored active key (a wrong KEK must stop the start, not the first attestation). */
  checkKek(): void {
    const row = this.activeRow();
    if (row) this.active();
  }
}
