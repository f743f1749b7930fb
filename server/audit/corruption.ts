// A corrupt stored record (StoreCorruptError) is told to the operator where they look: the
// log, with the record's name, and once per record and process the audit log, so a broken
// row shows up in `GET /v1/audit?action=store.corrupt` without every request that trips over
// it adding an entry. Never its content: only the name the engine gave it.

import type { Logger } from 'pino';
import type { AuditStorage, StoreCorruptError } from '../storage/store.ts';

const reported = new WeakMap<AuditStorage, Set<string>>();

export function reportCorruption(ctx: { log: Logger; store: { audit: AuditStorage } }, err: StoreCorruptError, during: string): void {
  ctx.log.error({ record: err.record, during, err: err.message }, 'a stored record is corrupt; requests that need it are refused with store_corrupt (tessera db check lists such records)');
  let seen = reported.get(ctx.store.audit);
  if (!seen) reported.set(ctx.store.audit, (seen = new Set()));
  if (seen.has(err.record)) return;
  seen.add(err.record);
  ctx.store.audit
    .append([{ action: 'store.corrupt', outcome: 'failure', actor: 'system', subject: err.record, details: { record: err.record, during, detail: err.message } }])
    .catch((e: unknown) => {
      // Not recorded: let a later occurrence try again.
      seen.delete(err.record);
      ctx.log.warn({ record: err.record, err: e instanceof Error ? e.message : String(e) }, 'could not audit a corrupt stored record');
    });
}
