// Reading back the heads the exporter wrote (head-export.ts): every line of an
// audit-heads.jsonl must still be held by the log. Only the `signed` JWS of a line counts;
// its plain seq/hash/at are there for people and are checked to agree with it.

import type { AuditStorage } from '../storage/store.ts';
import type { PublicSigningKey } from '../keys/signing-keys.ts';
import { AuditHeadError, headMismatch, readSignedAuditHead } from './head.ts';
import type { ChainReport } from './log.ts';

export type ExportedHeadsCheck = { count: number; mismatch?: string } | { error: string };

/**
 * Check `text` (JSON Lines) line by line against the verified chain `report`: the first head
 * the log contradicts is named with its line; a line that is not a valid signed head is an
 * error (the file itself was damaged or is not an export), never skipped.
 */
export async function checkExportedHeads(audit: AuditStorage, report: ChainReport, text: string, keys: readonly PublicSigningKey[]): Promise<ExportedHeadsCheck> {
  const lines = text.split('\n');
  let count = 0;
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const where = `line ${i + 1}`;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return { error: `${where} is not JSON` };
    }
    const signed = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>).signed : undefined;
    if (typeof signed !== 'string') return { error: `${where} has no \`signed\` head` };
    let head;
    try {
      head = await readSignedAuditHead(signed, keys);
    } catch (err) {
      if (err instanceof AuditHeadError) return { error: `${where}: ${err.message}` };
      throw err;
    }
    const plain = parsed as Record<string, unknown>;
    if (plain.seq !== head.seq || plain.hash !== head.hash) return { error: `${where}: its seq/hash do not match what its signature says` };
    count += 1;
    const mismatch = await headMismatch(audit, report, head);
    if (mismatch) return { count, mismatch: `exported head at ${where}: ${mismatch}` };
  }
  return { count };
}
