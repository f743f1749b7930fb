// KEK rotation: every record the server keeps under the KEK, opened with the old key and
// sealed again with the new one, in one transaction: secret values, result-signing private
// keys and server secrets (the challenge HMAC key). Each record gets a fresh data key too
// (encryptEnvelope never reuses one), with the same context as before, so a row still opens
// only as itself. If any record does not open with the old KEK nothing is changed.
//
// The running server holds the KEK in memory: rotate while it is stopped (or restart every
// replica with the new KEK right after); a server still on the old KEK fails closed.

import { eq, and, isNotNull } from 'drizzle-orm';
import { decryptEnvelope, encryptEnvelope, EnvelopeError, parseEnvelope, serializeEnvelope } from '../crypto/envelope.ts';
import { appendAudit } from '../audit/log.ts';
import type { Db } from '../storage/db.ts';
import { secretVersions } from '../storage/schema/secrets.ts';
import { serverSecrets, signingKeys } from '../storage/schema/signing-keys.ts';
import { serverSecretContext } from '../keys/server-secrets.ts';
import { signingKeyContext } from '../keys/signing-keys.ts';
import { secretContext } from './store.ts';

export interface KekRotationReport {
  secretVersions: number;
  signingKeys: number;
  serverSecrets: number;
}

export class KekRotationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KekRotationError';
  }
}

function rewrap(oldKek: Buffer, newKek: Buffer, stored: string, context: string, what: string): string {
  let plain: Buffer;
  try {
    plain = decryptEnvelope(oldKek, parseEnvelope(stored), context);
  } catch (err) {
    if (err instanceof EnvelopeError) throw new KekRotationError(`${what} does not open with the current KEK: wrong KEK for this data directory (nothing was changed)`);
    throw err;
  }
  try {
    return serializeEnvelope(encryptEnvelope(newKek, plain, context));
  } finally {
    plain.fill(0);
  }
}

/** Re-encrypt every KEK-protected record from `oldKek` to `newKek`, all or nothing, audited as `kek.rotate`. */
export function rotateKek(db: Db, oldKek: Buffer, newKek: Buffer, actor = 'cli'): KekRotationReport {
  if (oldKek.equals(newKek)) throw new KekRotationError('the new KEK is the current KEK');
  return db.$client
    .transaction((): KekRotationReport => {
      const report: KekRotationReport = { secretVersions: 0, signingKeys: 0, serverSecrets: 0 };
      for (const row of db.select().from(secretVersions).where(isNotNull(secretVersions.value)).all()) {
        const value = rewrap(oldKek, newKek, row.value!, secretContext(row.name, row.version), `secret ${row.name} version ${row.version}`);
        db.update(secretVersions).set({ value }).where(and(eq(secretVersions.name, row.name), eq(secretVersions.version, row.version))).run();
        report.secretVersions += 1;
      }
      // Contexts as server/keys/signing-keys.ts and server/keys/server-secrets.ts seal them.
      for (const row of db.select({ kid: signingKeys.kid, privateKey: signingKeys.privateKey }).from(signingKeys).all()) {
        const privateKey = rewrap(oldKek, newKek, row.privateKey, signingKeyContext(row.kid), `signing key ${row.kid}`);
        db.update(signingKeys).set({ privateKey }).where(eq(signingKeys.kid, row.kid)).run();
        report.signingKeys += 1;
      }
      for (const row of db.select().from(serverSecrets).all()) {
        const value = rewrap(oldKek, newKek, row.value, serverSecretContext(row.name), `server secret ${row.name}`);
        db.update(serverSecrets).set({ value }).where(eq(serverSecrets.name, row.name)).run();
        report.serverSecrets += 1;
      }
      appendAudit(db, { action: 'kek.rotate', outcome: 'success', actor, details: { ...report } });
      return report;
    })
    .immediate();
}
