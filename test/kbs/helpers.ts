// A KBS guest for the server tests: a cookie jar of one session, the three key kinds the
// attestation-agent can hold (guest-components kbs_protocol keypair.rs), and simulator
// evidence in the shapes the agent sends (sev crate serde for snp, {quote, cc_eventlog} for tdx).

import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { TestServer } from '../server/helpers.ts';

export interface KbsResponse {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies, checked field by field by each test
  body: any;
  headers: Headers;
}

/** One guest: its session cookie is kept between calls, as reqwest's cookie store does. */
export class KbsGuest {
  cookie: string | undefined;
  constructor(readonly srv: TestServer) {}

  async call(method: string, path: string, options: { body?: unknown; raw?: string; headers?: Record<string, string>; noCookie?: boolean } = {}): Promise<KbsResponse> {
    const headers: Record<string, string> = { ...options.headers };
    if (this.cookie && !options.noCookie) headers.cookie = this.cookie;
    let body: string | undefined = options.raw;
    if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(this.srv.url + path, { method, headers, ...(body !== undefined ? { body } : {}) });
    const set = res.headers.get('set-cookie');
    const m = set ? /kbs-session-id=([^;]*)/.exec(set) : null;
    if (m) this.cookie = `kbs-session-id=${m[1]}`;
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* keep text */
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  auth(tee: string, extra: unknown = { 'supported-hash-algorithms': ['sha256', 'sha384', 'sha512', 'sm3'] }): Promise<KbsResponse> {
    return this.call('POST', '/kbs/v0/auth', { body: { version: '0.4.0', tee, 'extra-params': extra } });
  }
}

export type KeyKind = 'P-256' | 'P-521' | 'RSA';

/** A TEE key pair and its public key as the agent exports it (kbs-types TeePubKey: kty, alg, then crv/x/y or n/e). */
export function teeKeyPair(kind: KeyKind = 'P-256'): { privateKey: KeyObject; pubkey: Record<string, string> } {
  if (kind === 'RSA') {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = publicKey.export({ format: 'jwk' });
    return { privateKey, pubkey: { kty: 'RSA', alg: 'RSA-OAEP-256', n: jwk.n!, e: jwk.e! } };
  }
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: kind });
  const jwk = publicKey.export({ format: 'jwk' });
  return { privateKey, pubkey: { kty: 'EC', crv: kind, alg: 'ECDH-ES+A256KW', x: jwk.x!, y: jwk.y! } };
}

/** Trustee's error type URI for a kbs::Error variant. */
export const kbsType = (variant: string) => `https://github.com/confidential-containers/kbs/errors/${variant}`;
