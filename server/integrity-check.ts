// `tessera db check`: every stored record the service must be able to read, read. The audit
// chain is walked (verifyAuditChain), every sealed record (live secret versions, signing
// keys, server secrets) is opened under the KEK with the context it was sealed with, and the
// listings whose rows are decoded from stored JSON (secrets, reference values, signing
// keys) are read. A record that fails is named, so the operator can restore it from a
// backup or delete it (a secret version) instead of meeting it as a 503 store_corrupt.

import { decryptEnvelope, EnvelopeError, parseEnvelope } from './crypto/envelope.ts';
import { verifyAuditChain, type ChainReport } from './audit/log.ts';
import { serverSecretContext } from './keys/server-secrets.ts';
import { allPublicKeys, signingKeyContext } from './keys/signing-keys.ts';
import { secretContext } from './secrets/store.ts';
import { sealedRecordName } from './storage/decode.ts';
import { StoreCorruptError, type SealedRecord, type Store } from './storage/store.ts';

export interface CorruptRecord {
  record: string;
  reason: string;
}

export interface IntegrityReport {
  ok: boolean;
  auditChain: ChainReport;
  /** Sealed records opened under the KEK. */
  sealedChecked: number;
  corrupt: CorruptRecord[];
}

function contextOf(r: SealedRecord): string {
  if (r.kind === 'secret-version') return secretContext(r.name, r.version);
  if (r.kind === 'signing-key') return signingKeyContext(r.kid);
  return serverSecretContext(r.name);
}

export async function checkStoredRecords(store: Store, kek: Buffer): Promise<IntegrityReport> {
  const corrupt: CorruptRecord[] = [];
  const auditChain = await verifyAuditChain(store.audit);
  if (!auditChain.ok && auditChain.firstBroken) corrupt.push({ record: `audit_log ${auditChain.firstBroken.seq}`, reason: `${auditChain.firstBroken.reason}: ${auditChain.firstBroken.detail}` });

  const sealed = await store.sealedRecords.list();
  for (const r of sealed) {
    try {
      decryptEnvelope(kek, parseEnvelope(r.sealed), contextOf(r)).fill(0);
    } catch (err) {
      if (!(err instanceof EnvelopeError)) throw err;
      corrupt.push({ record: sealedRecordName(r), reason: `does not open under this KEK: ${err.message}` });
    }
  }

  // Rows decoded from stored JSON: a listing stops at its first corrupt row, which is named.
  const listings: [string, () => Promise<unknown>][] = [
    ['secret versions', () => store.secrets.listLive()],
    ['reference values', () => store.referenceValues.list()],
    ['signing keys', () => allPublicKeys(store.signingKeys)],
  ];
  for (const [, read] of listings) {
    try {
      await read();
    } catch (err) {
      if (!(err instanceof StoreCorruptError)) throw err;
      corrupt.push({ record: err.record, reason: err.message });
    }
  }
  return { ok: corrupt.length === 0, auditChain, sealedChecked: sealed.length, corrupt };
}
