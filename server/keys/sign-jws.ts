// JWS compact serialization (RFC 7515 section 7.1) with the active result-signing key:
// ES256 = ECDSA P-256 with SHA-256 and the signature as R || S, 32 bytes each (RFC 7518
// section 3.4). Signed with node:crypto and the cached KeyObject: jose would go through
// WebCrypto, several times slower here, and EAR tokens are signed on every attestation.
// Whatever it signs is verified with jose (relying parties, tests, `tessera audit verify`).
//
// The signature is computed with crypto.sign's callback form, on libuv's thread pool: an
// ECDSA signature is pure computation (about 60 µs here, one per attestation), and off the
// event loop it overlaps with the parsing, routing and storage of the other requests in
// flight (issue 12; before/after figures in the README's Performance section).

import { sign } from 'node:crypto';
import type { EpochReading } from '../storage/epoch-cached.ts';
import { SIGNING_ALG, type SigningKeyStore } from './signing-keys.ts';

/** `payload` signed by the active key (as of `reading`, else now), with header {alg, kid, typ}; returns the JWS and the kid. */
export async function signCompactJws(keys: SigningKeyStore, typ: string, payload: object, reading?: EpochReading): Promise<{ jws: string; kid: string }> {
  const key = await keys.active(reading);
  const header = Buffer.from(JSON.stringify({ alg: SIGNING_ALG, kid: key.kid, typ })).toString('base64url');
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const signingInput = `${header}.${body}`;
  const signature = await new Promise<Buffer>((resolve, reject) =>
    sign('sha256', Buffer.from(signingInput, 'ascii'), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }, (err, sig) => (err ? reject(err) : resolve(sig))),
  );
  return { jws: `${signingInput}.${signature.toString('base64url')}`, kid: key.kid };
}
