// The one JSON form of collateral entries, shared by the CLI's cache file and by offline
// bundles (a bundle is a cache file moved across an air gap). Bytes are base64; each
// entry carries the SHA-256 of its bytes so a damaged file is noticed on reading (this is
// not a trust mechanism: documents are verified against the pinned roots on import and
// on every use).

import { z } from 'zod';
import { EvidenceFormatError } from '../errors.ts';
import { COLLATERAL_KINDS, requestFromKey } from './document.ts';
import type { CollateralEntry } from './store.ts';
import { sha256Hex } from '../x509/certificate.ts';

export const COLLATERAL_FILE_FORMAT = 'tessera-collateral';
export const COLLATERAL_FILE_VERSION = 1;

const isoDate = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'an ISO-8601 date');

const entrySchema = z.strictObject({
  key: z.string().min(1).max(512),
  kind: z.enum(COLLATERAL_KINDS as [string, ...string[]]),
  source: z.string().min(1).max(64),
  fetchedAt: isoDate,
  nextUpdate: isoDate.optional(),
  immutable: z.boolean(),
  issuerChain: z.string().max(64 * 1024).optional(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/),
});

const fileSchema = z.strictObject({
  format: z.literal(COLLATERAL_FILE_FORMAT),
  version: z.literal(COLLATERAL_FILE_VERSION),
  entries: z.array(entrySchema).max(100_000),
});

export type EncodedEntry = z.infer<typeof entrySchema>;

export function encodeEntry(e: CollateralEntry): EncodedEntry {
  return {
    key: e.key,
    kind: e.kind,
    source: e.source,
    fetchedAt: e.fetchedAt.toISOString(),
    ...(e.nextUpdate ? { nextUpdate: e.nextUpdate.toISOString() } : {}),
    immutable: e.immutable,
    ...(e.issuerChain !== undefined ? { issuerChain: e.issuerChain } : {}),
    sha256: sha256Hex(e.bytes),
    bytes: Buffer.from(e.bytes).toString('base64'),
  };
}

/** Serialise entries (sorted by key, so equal caches give equal files). */
export function encodeCollateralFile(entries: readonly CollateralEntry[]): string {
  const sorted = [...entries].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return `${JSON.stringify({ format: COLLATERAL_FILE_FORMAT, version: COLLATERAL_FILE_VERSION, entries: sorted.map(encodeEntry) }, null, 1)}\n`;
}

/** One decoded entry, or the reason it cannot be read (a bad entry does not spoil the others). */
export type DecodedEntry = { ok: true; entry: CollateralEntry } | { ok: false; key: string; reason: string };

function decodeEntry(raw: EncodedEntry): DecodedEntry {
  const bytes = Buffer.from(raw.bytes, 'base64');
  if (sha256Hex(bytes) !== raw.sha256) return { ok: false, key: raw.key, reason: 'its bytes do not match its SHA-256 (the file is damaged)' };
  let request;
  try {
    request = requestFromKey(raw.key);
  } catch (err) {
    return { ok: false, key: raw.key, reason: err instanceof Error ? err.message : String(err) };
  }
  if (request.kind !== raw.kind) return { ok: false, key: raw.key, reason: `its kind ${raw.kind} does not match its key` };
  const entry: CollateralEntry = {
    key: raw.key,
    kind: request.kind,
    bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    source: raw.source,
    fetchedAt: new Date(raw.fetchedAt),
    immutable: raw.immutable,
  };
  if (raw.nextUpdate !== undefined) entry.nextUpdate = new Date(raw.nextUpdate);
  if (raw.issuerChain !== undefined) entry.issuerChain = raw.issuerChain;
  return { ok: true, entry };
}

/** Parse a cache file or bundle. Throws EvidenceFormatError when the file as a whole is not one. */
export function decodeCollateralFile(text: string, what = 'collateral file'): DecodedEntry[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new EvidenceFormatError('collateral_file_malformed', `The ${what} is not JSON.`);
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? issue.path.join('.') : '';
    throw new EvidenceFormatError(
      'collateral_file_malformed',
      `The ${what} is not a ${COLLATERAL_FILE_FORMAT} v${COLLATERAL_FILE_VERSION} file${where ? ` (at ${where}: ${issue!.message})` : issue ? ` (${issue.message})` : ''}.`,
    );
  }
  return parsed.data.entries.map(decodeEntry);
}
