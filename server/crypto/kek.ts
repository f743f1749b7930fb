// The key-encryption key (KEK): 32 bytes that wrap every data key of the envelopes stored
// in the database (server/crypto/envelope.ts). It never enters the database, so a copy of
// the database file alone discloses no private key and no secret.
// Sources, first match wins: TESSERA_KEK (base64), the configured key file, and in
// development mode only a file `kek` created in the data directory with mode 0600.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const KEK_LENGTH = 32;
export const DEV_KEK_FILE = 'kek';

export class KekError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KekError';
  }
}

/** Decode a base64 (or base64url) KEK and insist on exactly 32 bytes. `origin` names where it came from. */
export function decodeKek(text: string, origin: string): Buffer {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) throw new KekError(`${origin}: the KEK must be base64 text`);
  const key = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key.length !== KEK_LENGTH) throw new KekError(`${origin}: the KEK must decode to ${KEK_LENGTH} bytes, found ${key.length}`);
  return key;
}

function readKekFile(file: string): Buffer {
  let text: string;
  try {
    const st = statSync(file);
    // A KEK readable by group or others is as good as published.
    if ((st.mode & 0o077) !== 0) throw new KekError(`${file}: the KEK file must not be readable by group or others (chmod 600)`);
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof KekError) throw err;
    throw new KekError(`cannot read the KEK file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return decodeKek(text, file);
}

export interface LoadKekOptions {
  env?: NodeJS.ProcessEnv;
  kekFile?: string;
  dataDir: string;
  dev: boolean;
}

export interface LoadedKek {
  key: Buffer;
  /** Human description of the source (never the key). */
  source: string;
  /** True when development mode just created it. */
  created: boolean;
}

export function loadKek(options: LoadKekOptions): LoadedKek {
  const env = options.env ?? process.env;
  const fromEnv = env.TESSERA_KEK;
  if (fromEnv !== undefined && fromEnv !== '') return { key: decodeKek(fromEnv, 'TESSERA_KEK'), source: 'TESSERA_KEK', created: false };
  if (options.kekFile) return { key: readKekFile(options.kekFile), source: options.kekFile, created: false };
  if (!options.dev) {
    throw new KekError('no key-encryption key: set TESSERA_KEK (base64 of 32 random bytes) or kekFile in the configuration');
  }
  const file = join(options.dataDir, DEV_KEK_FILE);
  if (existsSync(file)) return { key: readKekFile(file), source: file, created: false };
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(KEK_LENGTH);
  // `wx`: never overwrite a KEK another process created meanwhile (that would orphan its data).
  writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  return { key, source: file, created: true };
}
