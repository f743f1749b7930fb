// A small fake tessera server on 127.0.0.1 for the agent's tests: it speaks the protocol
// (challenge, attest with release, secrets) well enough to check what the agent sends
// (the REPORT_DATA binding of the evidence to the nonce and the TEE key) and to answer
// like the real one, including problem+json errors and Retry-After.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { CompactEncrypt, importJWK, type JWK } from 'jose';
import { expectedReportData } from '../../verifier/binding.ts';
import { parseReport } from '../../verifier/snp/abi/report.ts';
import { parseIntelQuote } from '../../verifier/tdx/abi/quote.ts';

export type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => Promise<boolean> | boolean;

export interface FakeServer {
  url: string;
  requests: { method: string; path: string; authorization?: string }[];
  /** Handlers tried first, in order; one that returns true has answered. */
  before: Handler[];
  secrets: Map<string, string>;
  /** Secrets whose release policy refuses every token. */
  denied: Set<string>;
  close(): Promise<void>;
}

export function problem(res: ServerResponse, status: number, code: string, detail: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/problem+json', ...headers });
  res.end(JSON.stringify({ type: `https://tessera.dev/problems/${code}`, title: 'Error', status, detail, code, ...extra }));
}

function json(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}

export async function encryptTo(jwk: JWK, plaintext: string): Promise<string> {
  const key = await importJWK(jwk, 'ECDH-ES+A256KW');
  return new CompactEncrypt(new TextEncoder().encode(plaintext)).setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM' }).encrypt(key);
}

function fakeToken(tee: string, jwk: JWK): string {
  const b = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  const payload = { exp: 4_102_444_800, submods: { [tee]: { 'ear.status': 'affirming', 'ear.appraisal-policy-id': { name: 'dev', version: 3, hash: 'x' } } }, cnf: { jwk } };
  return `${b({ alg: 'ES256', typ: 'JWT' })}.${b(payload)}.${randomBytes(64).toString('base64url')}`;
}

export async function startFakeServer(): Promise<FakeServer> {
  const challenges = new Map<string, Buffer>();
  const tokens = new Map<string, JWK>();
  const state: Omit<FakeServer, 'url' | 'close'> = { requests: [], before: [], secrets: new Map([['demo', 'the demo secret']]), denied: new Set<string>() };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const path = req.url ?? '/';
        state.requests.push({ method: req.method ?? '', path, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
        for (const h of state.before) if (await h(req, body, res)) return;
        if (req.method === 'POST' && path === '/v1/challenge') {
          const nonce = randomBytes(32);
          const challenge = randomBytes(16).toString('base64url');
          challenges.set(challenge, nonce);
          return json(res, 200, { challenge, nonce: nonce.toString('base64url'), expiresAt: new Date(Date.now() + 60_000).toISOString() });
        }
        if (req.method === 'POST' && path === '/v1/attest') {
          const b = JSON.parse(body) as { challenge: string; tee: string; evidence: { report?: string; quote?: string }; teePublicKey: JWK; release?: string[] };
          const nonce = challenges.get(b.challenge);
          if (!nonce) return problem(res, 400, 'challenge_replayed', 'This challenge was already used.');
          challenges.delete(b.challenge);
          const expected = await expectedReportData(nonce, b.teePublicKey);
          const found =
            b.tee === 'tdx'
              ? (() => {
                  const q = parseIntelQuote(Buffer.from(b.evidence.quote ?? '', 'base64'));
                  return q.body.kind === 'sgx' ? Buffer.alloc(0) : q.body.report.reportData;
                })()
              : parseReport(Buffer.from(b.evidence.report ?? '', 'base64')).reportData;
          if (!found.equals(expected)) {
            return problem(res, 403, 'binding_mismatch', 'REPORT_DATA does not bind the challenge and the TEE key.', {
              checks: [{ id: 'binding.report-data', ok: false, detail: 'REPORT_DATA differs.', expected: expected.toString('hex'), found: found.toString('hex') }],
            });
          }
          const token = fakeToken(b.tee, b.teePublicKey);
          tokens.set(token, b.teePublicKey);
          const secrets: Record<string, string> = {};
          for (const name of b.release ?? []) {
            const value = state.secrets.get(name);
            if (value !== undefined && !state.denied.has(name)) secrets[name] = await encryptTo(b.teePublicKey, value);
          }
          return json(res, 200, { token, expiresAt: new Date(Date.now() + 300_000).toISOString(), status: 'affirming', ...(b.release ? { secrets } : {}) });
        }
        const m = /^\/v1\/secrets\/([^/?]+)/.exec(path);
        if (req.method === 'GET' && m) {
          const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
          const jwk = tokens.get(token);
          if (!jwk) return problem(res, 401, 'token_invalid', 'The token was not issued by this server.');
          const value = state.secrets.get(decodeURIComponent(m[1]!));
          if (value === undefined) return problem(res, 404, 'secret_not_found', 'No such secret.');
          if (state.denied.has(decodeURIComponent(m[1]!))) {
            return problem(res, 403, 'release_denied', 'The release policy of this secret refused the result.', {
              failedRules: [{ id: 'release', ok: false, detail: 'claims.measurement in refs.web_prod is false.' }],
            });
          }
          res.writeHead(200, { 'content-type': 'application/jose' });
          return res.end(await encryptTo(jwk, value));
        }
        problem(res, 404, 'not_found', 'No such route.');
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = (): Promise<void> => new Promise<void>((resolve) => server.close(() => resolve()));
  return Object.assign(state, { url: `http://127.0.0.1:${port}`, close });
}

/** What `p` rejects with; fails the test if it resolves. */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}
