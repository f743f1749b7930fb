// KEK rotation: every record the server keeps under the KEK, opened with the old key and
// sealed again with the new one, in one transaction: secret values, result-signing private
// keys and server secrets (the challenge HMAC key). Each record gets a fresh data key too
// (encryptEnvelope never reuses one), with the same context as before, so a row still opens
// only as itself. If any record does not open with the old KEK nothing is changed.
//
// The running server holds the KEK in memory: rotate while it is stopped (or restart every
// replica with the new KEK right after); a server still on the old KEK fails closed.

import { decryptEnvelope, encryptEnvelope, EnvelopeError, parseEnvelope, serializeEnvelope } from '../crypto/envelope.ts';
import type { SealedRecord, SealedRecordStorage } from '../storage/store.ts';
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

/** The envelope context and a name for the operator of one sealed record, as server/keys and server/secrets seal them. */
function describe(record: SealedRecord): { context: string; what: string } {
  switch (record.kind) {
    case 'secret-version':
      return { context: secretContext(record.name, record.version), what: `secret ${record.name} version ${record.version}` };
    case 'signing-key':
      return { context: signingKeyContext(record.kid), what: `signing key ${record.kid}` };
    case 'server-secret':
      return { context: serverSecretContext(record.name), what: `server secret ${record.name}` };
  }
}

/** Re-encrypt every KEK-protected record from `oldKek` to `newKek`, all or nothing, audited as `kek.rotate`. */
export async function rotateKek(records: SealedRecordStorage, oldKek: Buffer, newKek: Buffer, actor = 'cli'): Promise<KekRotationReport> {
  if (oldKek.equals(newKek)) throw new KekRotationError('the new KEK is the current KEK');
  return records.resealAll(
    (record) => {
      const { context, what } = describe(record);
      return rewrap(oldKek, newKek, record.sealed, context, what);
    },
    (report) => ({ action: 'kek.rotate', outcome: 'success', actor, details: { ...report } }),
  );
}
