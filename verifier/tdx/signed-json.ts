// Intel PCS signs JSON by its bytes: `{"tcbInfo":{...},"signature":"<hex r||s>"}` where the
// signature covers the exact text of the inner object as served (Intel PCS API v4, "Get TCB
// Info" / "Get Quoting Enclave Identity"). Re-serialising changes the bytes, so the inner
// object's text is cut out of the body as is. A body with the same top-level key twice is
// rejected: JSON.parse keeps the last one, and the signed text must be the parsed one.

import { createHash } from 'node:crypto';
import { z } from 'zod';
import { EvidenceFormatError } from '../errors.ts';

export interface SignedJson {
  /** The inner object's text exactly as served (what the signature covers). */
  signedText: string;
  /** JSON.parse(signedText). */
  value: unknown;
  /** 64-byte r||s. */
  signature: Buffer;
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

function skipWs(s: string, i: number): number {
  while (i < s.length && WS.has(s.charCodeAt(i))) i++;
  return i;
}

/** End index (exclusive) of the JSON string starting at s[i] === '"'. */
function stringEnd(s: string, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    const ch = s.charCodeAt(j);
    if (ch === 0x5c) j++;
    else if (ch === 0x22) return j + 1;
  }
  return -1;
}

/** End index (exclusive) of the JSON value starting at s[i] (already known valid JSON). */
function valueEnd(s: string, i: number): number {
  const first = s.charCodeAt(i);
  if (first === 0x22) return stringEnd(s, i);
  if (first === 0x7b || first === 0x5b) {
    let depth = 0;
    for (let j = i; j < s.length; j++) {
      const ch = s.charCodeAt(j);
      if (ch === 0x22) {
        j = stringEnd(s, j) - 1;
        if (j < 0) return -1;
      } else if (ch === 0x7b || ch === 0x5b) depth++;
      else if (ch === 0x7d || ch === 0x5d) {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return -1;
  }
  let j = i;
  while (j < s.length && !WS.has(s.charCodeAt(j)) && s[j] !== ',' && s[j] !== '}') j++;
  return j;
}

/**
 * Split a PCS body into the signed inner object (under `key`) and its signature.
 * `document` names it in errors ("TCB Info", "QE Identity").
 */
export function parseSignedJson(body: string, key: string, document: string, code: string): SignedJson {
  const bad = (why: string): never => {
    throw new EvidenceFormatError(code, `The ${document} is malformed: ${why}.`);
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    bad('not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) bad('not a JSON object');
  // Walk the top-level members of the (valid) JSON text to find each value's span.
  const spans = new Map<string, [number, number]>();
  let i = skipWs(body, 0) + 1;
  for (;;) {
    i = skipWs(body, i);
    if (body[i] === '}') break;
    const keyEnd = stringEnd(body, i);
    const name = JSON.parse(body.slice(i, keyEnd)) as string;
    i = skipWs(body, keyEnd) + 1; // ':'
    i = skipWs(body, i);
    const end = valueEnd(body, i);
    if (spans.has(name)) bad(`the member "${name}" appears twice`);
    spans.set(name, [i, end]);
    i = skipWs(body, end);
    if (body[i] === ',') i++;
  }
  const span = spans.get(key) ?? bad(`no "${key}" member`);
  const signedText = body.slice(span[0], span[1]);
  const sigHex = (parsed as Record<string, unknown>).signature;
  if (typeof sigHex !== 'string' || !/^[0-9a-fA-F]{128}$/.test(sigHex)) bad('the signature is not 64 bytes of hex');
  const value = (parsed as Record<string, unknown>)[key];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) bad(`"${key}" is not an object`);
  return { signedText, value, signature: Buffer.from(sigHex as string, 'hex') };
}

/** Zod pieces both PCS documents use: hex of a byte length (either case), and ISO-8601 instants. */
export const pcsHex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`));
export const pcsDate = z.iso.datetime({ offset: true });

/** What a signed PCS document (TCB Info, QE Identity) parses to. */
export interface SignedDocument<B> {
  /** SHA-256 of the body as served (audit record). */
  sha256: string;
  /** The exact bytes the signature covers. */
  signedBytes: Buffer;
  signature: Buffer;
  body: B;
  issueDate: Date;
  nextUpdate: Date;
}

/**
 * Split a PCS body (parseSignedJson) and validate its inner object with `schema`; the first
 * schema issue becomes EvidenceFormatError(`code`, "The <document> is not <what>: ...").
 */
export function parseSignedDocument<S extends z.ZodType<{ issueDate: string; nextUpdate: string }>>(
  text: string,
  key: string,
  document: string,
  code: string,
  what: string,
  schema: S,
): SignedDocument<z.output<S>> {
  const signed = parseSignedJson(text, key, document, code);
  const r = schema.safeParse(signed.value);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new EvidenceFormatError(code, `The ${document} is not ${what}: ${issue ? `${issue.path.join('.') || 'document'}: ${issue.message}` : 'invalid'}.`);
  }
  return {
    sha256: createHash('sha256').update(text, 'utf8').digest('hex'),
    signedBytes: Buffer.from(signed.signedText, 'utf8'),
    signature: signed.signature,
    body: r.data,
    issueDate: new Date(r.data.issueDate),
    nextUpdate: new Date(r.data.nextUpdate),
  };
}
