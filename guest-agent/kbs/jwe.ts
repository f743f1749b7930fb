// The JWE a KBS answers a resource request with, opened the way the CoCo attestation-agent
// opens it (guest-components @8246e5e0 attestation-agent/kbs_protocol/src/keypair.rs
// `decrypt_response`, `unwrap_cek`; deps/crypto/src/native/ec.rs `unwrap_key`, `concat_kdf`):
//
// - The body is kbs-types `Response`: flattened-JWE-like JSON with `protected` (base64url of
//   the header JSON), `encrypted_key`, `iv`, `ciphertext`, `tag`, and an optional `aad` that
//   the agent parses and never uses.
// - The AAD is NOT the `protected` string as received: the agent parses the header into
//   kbs-types `ProtectedHeader { alg, enc, other_fields: Map }` and serialises it again
//   (`generate_aad`: serde_json::to_string, then base64url). That puts `alg`, then `enc`, then
//   the other members in serde_json Map order (sorted by key, nested objects too; `epk`
//   therefore as crv, kty, x, y), compact. A server that emits any other byte form makes every
//   decryption fail. Trustee emits exactly this form (kbs/src/jwe/mod.rs), so sorted order and
//   Trustee's insertion order coincide.
// - The content is always decrypted with AES-256-GCM (the agent passes WrapType::Aes256Gcm
//   whatever `enc` says), with the 12-byte `iv` and the 16-byte `tag`.
// - ECDH-ES+A256KW: Z from ECDH with `epk`, the Concat KDF of RFC 7518 section 4.6.2 with
//   SHA-256, AlgorithmID "ECDH-ES+A256KW", empty PartyUInfo and PartyVInfo (the agent ignores
//   `apu`/`apv`), 256 bits; then the RFC 3394 AES key unwrap of `encrypted_key`.
// Concat KDF and the key unwrap are written here on node:crypto's hash and AES block
// primitives, so that this client shares no JOSE code with the server it checks.

import { createCipheriv, createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';

export class JweError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'JweError';
    this.code = code;
  }
}

export interface KbsResponse {
  protected: string;
  encrypted_key: string;
  iv: string;
  ciphertext: string;
  tag: string;
  aad?: string;
}

export interface ProtectedHeader {
  alg: string;
  enc: string;
  [member: string]: unknown;
}

const B64URL = /^[A-Za-z0-9_-]*$/;

export function fromBase64url(value: unknown, what: string): Buffer {
  if (typeof value !== 'string' || !B64URL.test(value) || value.length % 4 === 1) throw new JweError('jwe_malformed', `${what} is not base64url (no padding)`);
  return Buffer.from(value, 'base64url');
}

/** Parse a resource response body into the kbs-types `Response` members. */
export function parseKbsResponse(body: unknown): KbsResponse {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new JweError('jwe_malformed', 'the resource response is not a JSON object');
  const o = body as Record<string, unknown>;
  for (const k of ['protected', 'encrypted_key', 'iv', 'ciphertext', 'tag'] as const) {
    if (typeof o[k] !== 'string') throw new JweError('jwe_malformed', `the resource response has no string "${k}"`);
  }
  return o as unknown as KbsResponse;
}

export function decodeProtectedHeader(protectedB64: string): ProtectedHeader {
  let header: unknown;
  try {
    header = JSON.parse(fromBase64url(protectedB64, 'protected').toString('utf8'));
  } catch (err) {
    if (err instanceof JweError) throw err;
    throw new JweError('jwe_malformed', 'the protected header is not JSON');
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new JweError('jwe_malformed', 'the protected header is not a JSON object');
  const h = header as Record<string, unknown>;
  if (typeof h['alg'] !== 'string' || typeof h['enc'] !== 'string') throw new JweError('jwe_malformed', 'the protected header needs string "alg" and "enc"');
  return h as ProtectedHeader;
}

/** serde_json's compact form of a value held in a (sorted) serde_json Map. */
function serdeJson(value: unknown): string {
  if (value !== null && typeof value === 'object') {
    if (Array.isArray(value)) return `[${value.map(serdeJson).join(',')}]`;
    const entries = Object.keys(value as object)
      .sort(compareKeys)
      .map((k) => `${JSON.stringify(k)}:${serdeJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  if (typeof value === 'number' && !Number.isInteger(value)) {
    // serde_json prints floats with ryu (always a fraction or exponent); headers never hold them.
    throw new JweError('jwe_malformed', 'the protected header holds a non-integer number; its serde_json form is not reproduced here');
  }
  return JSON.stringify(value);
}

/** BTreeMap<String, _> order: by the UTF-8 bytes of the key. */
function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The header JSON text the agent re-serialises: alg, enc, then the other members sorted. */
export function agentHeaderJson(header: ProtectedHeader): string {
  const others = Object.keys(header)
    .filter((k) => k !== 'alg' && k !== 'enc')
    .sort(compareKeys)
    .map((k) => `,${JSON.stringify(k)}:${serdeJson(header[k])}`);
  return `{"alg":${JSON.stringify(header.alg)},"enc":${JSON.stringify(header.enc)}${others.join('')}}`;
}

/** The AAD the agent computes (kbs-types `ProtectedHeader::generate_aad`). */
export function agentAad(header: ProtectedHeader): Buffer {
  return Buffer.from(Buffer.from(agentHeaderJson(header), 'utf8').toString('base64url'), 'ascii');
}

function u32be(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function lengthPrefixed(data: Uint8Array): Buffer {
  return Buffer.concat([u32be(data.length), data]);
}

/**
 * Concat KDF (NIST SP 800-56A section 5.8.1, single-step, SHA-256) with the JWA inputs of
 * RFC 7518 section 4.6.2: OtherInfo = AlgorithmID || PartyUInfo || PartyVInfo || SuppPubInfo
 * (key length in bits, 32-bit big-endian), each of the first three length-prefixed.
 */
export function concatKdf(z: Uint8Array, algorithmId: string, keyBytes: number, apu: Uint8Array = Buffer.alloc(0), apv: Uint8Array = Buffer.alloc(0)): Buffer {
  const otherInfo = Buffer.concat([lengthPrefixed(Buffer.from(algorithmId, 'ascii')), lengthPrefixed(apu), lengthPrefixed(apv), u32be(keyBytes * 8)]);
  const blocks: Buffer[] = [];
  for (let counter = 1; blocks.length * 32 < keyBytes; counter++) {
    blocks.push(createHash('sha256').update(u32be(counter)).update(z).update(otherInfo).digest());
  }
  return Buffer.concat(blocks).subarray(0, keyBytes);
}

const KW_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');

function aesBlock(kek: Uint8Array, block: Buffer, decrypt: boolean): Buffer {
  const cipher = `aes-${kek.length * 8}-ecb`;
  const c = decrypt ? createDecipheriv(cipher, kek, null) : createCipheriv(cipher, kek, null);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(block), c.final()]);
}

function checkKek(kek: Uint8Array): void {
  if (![16, 24, 32].includes(kek.length)) throw new JweError('jwe_key_unwrap', `an AES key-wrapping key is 16, 24 or 32 bytes, not ${kek.length}`);
}

/** RFC 3394 section 2.2.2 key unwrap (index-based form), with the default IV A6A6A6A6A6A6A6A6. */
export function aesKeyUnwrap(kek: Uint8Array, wrapped: Uint8Array): Buffer {
  checkKek(kek);
  if (wrapped.length < 24 || wrapped.length % 8 !== 0) throw new JweError('jwe_key_unwrap', `a wrapped key is a multiple of 8 bytes, at least 24; got ${wrapped.length}`);
  const n = wrapped.length / 8 - 1;
  let a: Buffer = Buffer.from(wrapped.subarray(0, 8));
  const r: Buffer[] = Array.from({ length: n }, (_, i) => Buffer.from(wrapped.subarray(8 * (i + 1), 8 * (i + 2))));
  for (let j = 5; j >= 0; j--) {
    for (let i = n; i >= 1; i--) {
      const t = BigInt(n * j + i);
      const at = Buffer.from(a);
      at.writeBigUInt64BE(at.readBigUInt64BE() ^ t);
      const b = aesBlock(kek, Buffer.concat([at, r[i - 1]!]), true);
      a = b.subarray(0, 8);
      r[i - 1] = b.subarray(8);
    }
  }
  if (!timingSafeEqual(a, KW_IV)) throw new JweError('jwe_key_unwrap', 'the wrapped key does not unwrap under this key (integrity check failed)');
  return Buffer.concat(r);
}

/** RFC 3394 section 2.2.1 key wrap; for tests that build responses the way a KBS does. */
export function aesKeyWrap(kek: Uint8Array, key: Uint8Array): Buffer {
  checkKek(kek);
  if (key.length < 16 || key.length % 8 !== 0) throw new JweError('jwe_key_unwrap', `a key to wrap is a multiple of 8 bytes, at least 16; got ${key.length}`);
  const n = key.length / 8;
  let a: Buffer = Buffer.from(KW_IV);
  const r: Buffer[] = Array.from({ length: n }, (_, i) => Buffer.from(key.subarray(8 * i, 8 * (i + 1))));
  for (let j = 0; j <= 5; j++) {
    for (let i = 1; i <= n; i++) {
      const b = aesBlock(kek, Buffer.concat([a, r[i - 1]!]), false);
      a = Buffer.from(b.subarray(0, 8));
      a.writeBigUInt64BE(a.readBigUInt64BE() ^ BigInt(n * j + i));
      r[i - 1] = b.subarray(8);
    }
  }
  return Buffer.concat([a, ...r]);
}

/** AES-256-GCM decryption of the content (keypair.rs `decrypt_response`). */
export function decryptContent(cek: Uint8Array, response: KbsResponse, aad: Uint8Array): Buffer {
  if (cek.length !== 32) throw new JweError('jwe_decrypt', `the content key is ${cek.length} bytes; AES-256-GCM needs 32`);
  const iv = fromBase64url(response.iv, 'iv');
  const tag = fromBase64url(response.tag, 'tag');
  if (tag.length !== 16) throw new JweError('jwe_malformed', `the tag is ${tag.length} bytes, not 16`);
  const d = createDecipheriv('aes-256-gcm', cek, iv, { authTagLength: 16 });
  d.setAAD(aad);
  d.setAuthTag(tag);
  try {
    return Buffer.concat([d.update(fromBase64url(response.ciphertext, 'ciphertext')), d.final()]);
  } catch {
    throw new JweError('jwe_decrypt', 'the resource does not decrypt: the tag does not match the ciphertext and the AAD the agent computes from the protected header');
  }
}
