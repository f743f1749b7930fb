// Envelope encryption for records at rest: each record gets its own random 256-bit data key
// (DEK); the record is sealed with AES-256-GCM under the DEK, and the DEK is sealed with
// AES-256-GCM under the KEK. Both seals authenticate `context` as additional data, so a
// ciphertext moved to another row (another kid, another secret name) fails to open.
// NIST SP 800-38D: 96-bit random IVs, 128-bit tags; one DEK encrypts one record only.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const ALG = 'aes-256-gcm';
const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const KEY_LENGTH = 32;
export const ENVELOPE_VERSION = 1;

/** What is stored: JSON-serialisable, every binary field base64url. */
export interface Envelope {
  v: typeof ENVELOPE_VERSION;
  alg: 'A256GCM';
  /** The DEK sealed under the KEK: iv || ciphertext || tag. */
  dek: string;
  /** The record sealed under the DEK: iv || ciphertext || tag. */
  data: string;
}

export class EnvelopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvelopeError';
  }
}

function seal(key: Buffer, plaintext: Uint8Array, aad: Buffer): Buffer {
  const iv = randomBytes(IV_LENGTH);
  const cipher = createCipheriv(ALG, key, iv, { authTagLength: TAG_LENGTH });
  cipher.setAAD(aad);
  return Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

function open(key: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  if (sealed.length < IV_LENGTH + TAG_LENGTH) throw new EnvelopeError('envelope field too short');
  const iv = sealed.subarray(0, IV_LENGTH);
  const tag = sealed.subarray(sealed.length - TAG_LENGTH);
  const decipher = createDecipheriv(ALG, key, iv, { authTagLength: TAG_LENGTH });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(sealed.subarray(IV_LENGTH, sealed.length - TAG_LENGTH)), decipher.final()]);
  } catch {
    throw new EnvelopeError('envelope does not open: wrong key-encryption key, wrong context, or tampered data');
  }
}

function checkKek(kek: Buffer): void {
  if (kek.length !== KEY_LENGTH) throw new EnvelopeError(`the KEK must be ${KEY_LENGTH} bytes`);
}

/** Encrypt `plaintext` for storage; `context` (e.g. `signing-key:<kid>`) must be given again to decrypt. */
export function encryptEnvelope(kek: Buffer, plaintext: Uint8Array, context: string): Envelope {
  checkKek(kek);
  const aad = Buffer.from(`tessera-envelope-v1\0${context}`, 'utf8');
  const dek = randomBytes(KEY_LENGTH);
  try {
    return {
      v: ENVELOPE_VERSION,
      alg: 'A256GCM',
      dek: seal(kek, dek, aad).toString('base64url'),
      data: seal(dek, plaintext, aad).toString('base64url'),
    };
  } finally {
    dek.fill(0);
  }
}

/** Decrypt an envelope made by encryptEnvelope with the same KEK and context. */
export function decryptEnvelope(kek: Buffer, envelope: Envelope, context: string): Buffer {
  checkKek(kek);
  if (envelope?.v !== ENVELOPE_VERSION || envelope.alg !== 'A256GCM' || typeof envelope.dek !== 'string' || typeof envelope.data !== 'string') {
    throw new EnvelopeError('unknown envelope format');
  }
  const aad = Buffer.from(`tessera-envelope-v1\0${context}`, 'utf8');
  const dek = open(kek, Buffer.from(envelope.dek, 'base64url'), aad);
  try {
    if (dek.length !== KEY_LENGTH) throw new EnvelopeError('envelope data key has the wrong length');
    return open(dek, Buffer.from(envelope.data, 'base64url'), aad);
  } finally {
    dek.fill(0);
  }
}

/** Envelope <-> the text stored in a column. */
export function serializeEnvelope(envelope: Envelope): string {
  return JSON.stringify(envelope);
}

export function parseEnvelope(text: string): Envelope {
  try {
    return JSON.parse(text) as Envelope;
  } catch {
    throw new EnvelopeError('stored envelope is not JSON');
  }
}
