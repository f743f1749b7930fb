// The agent's side of the tessera protocol (DESIGN.md "Flow"): challenge, a fresh TEE key,
// evidence bound to both, attest (optionally releasing secrets in the same round trip),
// and secrets fetched with the result token, each a JWE that only the TEE key opens.
// Every request has a timeout; network errors, 429 and 503 are retried with exponential
// backoff (honouring Retry-After); every problem+json answer becomes a ServerProblem with
// a sentence a person can act on.

import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { compactDecrypt, decodeJwt, type JWK } from 'jose';
import { expectedReportData } from '../verifier/binding.ts';
import { BodyTimeoutError, BodyTooLargeError, readBodyWithin } from '../verifier/collateral/read-body.ts';
import type { Tee } from '../verifier/result.ts';
import type { EvidenceProvider, ProviderEvidence } from './providers/provider.ts';

export interface ClientOptions {
  /** Base URL of the tessera server, e.g. https://tessera.internal:8443 */
  server: string;
  /** Per-request timeout. Default 15 s. */
  timeoutMs?: number;
  /** Retries after the first attempt for network errors, 429 and 503. Default 4. */
  retries?: number;
  /** First backoff delay; doubles each retry, with jitter. Default 250 ms. */
  backoffMs?: number;
  /** Upper bound for one wait, Retry-After included. Default 30 s. */
  maxDelayMs?: number;
  /**
   * Allow plain http to a server that is not on this host. Without TLS anyone on the path
   * can answer in the server's name: a JWE to the TEE key can be made by anyone holding
   * the public key the agent sends, so the agent would write secrets of their choosing.
   */
  allowInsecureHttp?: boolean;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

export interface ChallengeResponse {
  challenge: string;
  /** base64url, 32 bytes. */
  nonce: string;
  expiresAt: string;
}

export interface AttestResponse {
  token: string;
  expiresAt: string | number;
  status: string;
  /** name -> compact JWE, for the names asked for in `release`. */
  secrets?: Record<string, string>;
  [extension: string]: unknown;
}

/** The server answered with an error (RFC 9457 problem+json, or at least an HTTP status). */
export class ServerProblem extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly problem: Record<string, unknown>;
  constructor(status: number, problem: Record<string, unknown>) {
    const code = typeof problem['code'] === 'string' ? problem['code'] : `http_${status}`;
    const detail = typeof problem['detail'] === 'string' ? problem['detail'] : `The server answered HTTP ${status}.`;
    super(formatProblem(status, code, detail, problem));
    this.name = 'ServerProblem';
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.problem = problem;
  }
  /** The server looked at the request and said no (as opposed to: could not process it). */
  get denied(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

/** Something on the agent's side went wrong with what the server sent (e.g. a secret that does not open). */
export class AgentError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'AgentError';
    this.code = code;
  }
}

/** The server could not be reached (after the retries), or answered with something that is not the protocol. */
export class ServerUnreachable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ServerUnreachable';
  }
}

/**
 * What to do about each problem code the server uses (server/problem.ts, server/challenge.ts,
 * server/evidence-input.ts, the verifier's EvidenceFormatError codes by prefix). The
 * server's own `detail` always comes first; this adds the agent operator's next step.
 */
const HINTS: Record<string, string> = {
  challenge_expired: 'The challenge expired before the evidence arrived; check the guest clock and the latency to the server.',
  challenge_replayed: 'The challenge was already used; every attestation needs a fresh one (the agent asks for a new one once).',
  challenge_forged: 'The server did not issue this challenge: is the agent talking to the same server (or replica set) it got it from?',
  challenge_malformed: 'The challenge was damaged in transit or is not a tessera challenge.',
  challenge_tee_mismatch: 'The challenge was asked for a different TEE than the evidence comes from; check --tee.',
  evidence_invalid: 'The server could not decode the evidence the agent sent; agent and server versions may not match.',
  evidence_missing: 'The request had no evidence of the kind the TEE needs; agent and server versions may not match.',
  evidence_collateral_refused: 'The server takes CRLs and TCB documents from its own collateral cache, not from the guest; send the evidence without them (or the operator sets collateral.acceptFromEvidence).',
  request_invalid: 'The server rejected the request shape; agent and server versions may not match.',
  tee_public_key_invalid: 'The server rejected the TEE public key; agent and server versions may not match.',
  collateral_unavailable: 'The server could not obtain vendor collateral (AMD KDS / Intel PCS); try again later or ask the operator to check its collateral cache.',
  no_active_policy: 'The server has no active appraisal policy for this TEE; an operator must activate one.',
  policy_not_found: 'The appraisal policy named does not exist on the server.',
  rate_limited: 'The server is rate limiting this client; slow down.',
  server_busy: 'The server is saturated (its verification queue is full); the agent retried as told, try again shortly.',
  database_unavailable: 'The server cannot make its records durable (its database or disk failed); the operator must look at it.',
  body_too_large: 'The request was larger than the server accepts.',
  unsupported_media_type: 'The server expected JSON.',
  malformed_json: 'The server could not read the request JSON.',
  internal_error: 'The server failed; the operator can find the failure in its log.',
  binding_mismatch: 'REPORT_DATA does not bind this challenge and TEE key; the evidence came from another request.',
  attestation_denied: 'The evidence was verified against the appraisal policy and refused; the failed checks say why.',
  evidence_rejected: 'The evidence did not verify; the failed checks say why.',
  token_missing: 'No result token was sent; attest first.',
  token_invalid: 'The result token was not issued by this server (or was altered); attest again.',
  token_expired: 'The result token has expired; attest again.',
  token_unknown_key: 'The result token was signed by a key this server does not (or no longer) publish; attest again.',
  secret_name_invalid: 'Secret names are letters, digits, dot, dash and underscore (at most 128, no "..").',
  store_corrupt: 'A record the server needs for this request is damaged; the operator can see which in its log and audit log.',
  store_unavailable: "The server's database cannot be reached right now; retry shortly.",
  secret_not_found: 'No secret of that name (or version) exists on the server.',
  release_denied: "The secret does not exist, or its release gates refused this attestation result (the server does not say which; its operator's audit log does).",
  unauthorized: 'The request needs credentials it did not carry.',
  forbidden: 'The credentials do not allow this request.',
  not_found: 'The server has no such resource; is the URL a tessera server?',
};

function hintFor(code: string): string | undefined {
  if (HINTS[code]) return HINTS[code];
  if (/^(snp|intel|tdx|sgx|pem|certificate)_/.test(code)) return 'The server could not parse the evidence; the TEE returned something unexpected (see the detail).';
  return undefined;
}

/** Failed checks or rules a denial carries, one line each: `id: detail (expected ..., found ...)`. */
function failedItems(problem: Record<string, unknown>): string[] {
  const lines: string[] = [];
  for (const value of Object.values(problem)) {
    if (!Array.isArray(value)) continue;
    for (const item of value as unknown[]) {
      if (typeof item !== 'object' || item === null) continue;
      const o = item as Record<string, unknown>;
      if (o['ok'] === true || o['pass'] === true || o['passed'] === true) continue;
      const id = typeof o['id'] === 'string' ? o['id'] : typeof o['rule'] === 'string' ? o['rule'] : typeof o['name'] === 'string' ? o['name'] : undefined;
      const detail = typeof o['detail'] === 'string' ? o['detail'] : typeof o['message'] === 'string' ? o['message'] : undefined;
      if (id === undefined && detail === undefined) continue;
      let line = [id, detail].filter((x) => x !== undefined).join(': ');
      if ('expected' in o || 'found' in o) line += ` (expected ${JSON.stringify(o['expected'])}, found ${JSON.stringify(o['found'])})`;
      lines.push(line);
    }
  }
  return lines;
}

/**
 * Server text made safe for the operator's terminal: C0/C1 control characters (ANSI
 * escape sequences, carriage returns, newlines that would forge lines of the message) and
 * bidi overrides become "?". The agent prints what the server says, and the server may
 * be an impostor.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '?');
}

export function formatProblem(status: number, code: string, detail: string, problem: Record<string, unknown> = {}): string {
  const lines = [`${printable(detail)} [HTTP ${status}, ${printable(code)}]`];
  for (const item of failedItems(problem)) lines.push(`  - ${printable(item)}`);
  const hint = hintFor(code);
  if (hint) lines.push(`  hint: ${hint}`);
  return lines.join('\n');
}

/** Retry-After: delta-seconds or an HTTP-date (RFC 9110 section 10.2.3); undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * The most the agent reads of any answer. The largest protocol answer is an attest
 * response releasing 16 secrets (server MAX_RELEASE_NAMES) of at most 64 KiB each
 * (MAX_SECRET_BYTES) as JWEs: about 1.5 MiB. A server, or whoever answers in its name,
 * must not be able to exhaust the guest's memory with an endless body.
 */
export const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/** When the body of each response must have arrived: the deadline of the request that got it. */
const bodyDeadlines = new WeakMap<Response, number>();

/**
 * The body of `response` as text, refusing (and cancelling) one longer than `limit`, or not
 * complete by the deadline of the request that got it (verifier/collateral/read-body.ts).
 */
export async function readBounded(response: Response, limit: number = MAX_RESPONSE_BYTES): Promise<string> {
  try {
    return (await readBodyWithin(response, limit, bodyDeadlines.get(response) ?? Number.POSITIVE_INFINITY)).toString('utf8');
  } catch (err) {
    if (err instanceof BodyTooLargeError) throw new ServerUnreachable(`The server answered HTTP ${response.status} with more than ${limit} bytes; no tessera answer is that large.`);
    // The timeout also covers the body: a server that trickles it is cut off here.
    throw new ServerUnreachable(`The server's HTTP ${response.status} answer was cut off: ${err instanceof BodyTimeoutError ? 'not complete within the timeout' : networkReason(err)}.`, { cause: err });
  }
}

const sleepReal = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

/** The evidence as POST /v1/attest takes it (base64 fields). */
export function evidenceJson(e: ProviderEvidence): Record<string, unknown> {
  if (e.tee === 'tdx') return e.eventLog ? { quote: b64(e.quote), eventLog: b64(e.eventLog) } : { quote: b64(e.quote) };
  // Azure: the attestation-agent's own JSON, which the server takes as is.
  if ('azure' in e) return { ...e.azure };
  const certificates: Record<string, string> = {};
  for (const [k, v] of Object.entries(e.certificates ?? {})) if (v) certificates[k] = b64(v);
  return Object.keys(certificates).length > 0 ? { report: b64(e.report), certificates } : { report: b64(e.report) };
}

/** The TEE key: an ephemeral EC P-256 key pair, made fresh for each attestation. */
export interface TeeKey {
  privateKey: KeyObject;
  publicJwk: JWK;
}

export function generateTeeKey(): TeeKey {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  return { privateKey, publicJwk: { kty: 'EC', crv: 'P-256', x: jwk.x!, y: jwk.y! } };
}

/** Open a secret's compact JWE with the TEE private key; only ECDH-ES+A256KW / A256GCM are accepted. */
export async function decryptSecret(jwe: string, teeKey: KeyObject): Promise<Uint8Array> {
  try {
    const { plaintext } = await compactDecrypt(jwe, teeKey, { keyManagementAlgorithms: ['ECDH-ES+A256KW'], contentEncryptionAlgorithms: ['A256GCM'] });
    return plaintext;
  } catch (err) {
    throw new AgentError('secret_undecryptable', `A secret from the server could not be decrypted with this guest's TEE key (${(err as Error).message}); it was not encrypted to this attestation.`);
  }
}

export interface AttestOutcome {
  tee: Tee;
  token: string;
  expiresAt: string;
  status: string;
  /** `name vN` of the appraisal policy that decided, from the token. */
  policy?: string;
  /** The released secrets, decrypted. */
  secrets: Map<string, Uint8Array>;
  /** Keep it to fetch more secrets with this token: the token is useless without it. */
  teeKey: TeeKey;
}

export class TesseraClient {
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly maxDelayMs: number;
  private readonly fetchImpl: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: ClientOptions) {
    let url: URL;
    try {
      url = new URL(options.server);
    } catch {
      throw new TypeError(`--server must be a URL such as https://tessera.example:8443, got "${options.server}".`);
    }
    if (url.username !== '' || url.password !== '') throw new TypeError('--server must not carry credentials (user:password@): tessera does not use them, and the URL is printed in error messages.');
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`--server must be an http(s) URL, got "${options.server}".`);
    // Request paths are appended to the base: a query or fragment would end up in the middle of them.
    if (url.search !== '' || url.hash !== '') throw new TypeError(`--server must be a base URL without ?query or #fragment, got "${options.server}".`);
    if (url.protocol === 'http:' && !isLoopback(url.hostname) && options.allowInsecureHttp !== true) {
      throw new TypeError(
        `--server ${url.origin} is plain http to another host: anyone on the path could answer in the server's name and hand this guest secrets of their choosing. Use https, or --insecure-http for a development server.`,
      );
    }
    this.base = url.href.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.retries = options.retries ?? 4;
    this.backoffMs = options.backoffMs ?? 250;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.fetchImpl = options.fetch ?? fetch;
    this.sleep = options.sleep ?? sleepReal;
  }

  /** One request with timeout and retries; resolves with the successful Response. */
  private async request(method: 'GET' | 'POST', path: string, init: { body?: unknown; token?: string; accept: string }): Promise<Response> {
    const headers: Record<string, string> = { accept: `${init.accept}, application/problem+json` };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    if (init.token !== undefined) headers['authorization'] = `Bearer ${init.token}`;
    const body = init.body === undefined ? undefined : JSON.stringify(init.body);
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      const deadline = Date.now() + this.timeoutMs;
      try {
        response = await this.fetchImpl(`${this.base}${path}`, { method, headers, ...(body !== undefined ? { body } : {}), signal: AbortSignal.timeout(this.timeoutMs), redirect: 'error' });
      } catch (err) {
        const why = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError') ? `no answer within ${this.timeoutMs} ms` : networkReason(err);
        if (attempt >= this.retries) throw new ServerUnreachable(`Cannot reach ${this.base} (${method} ${path}): ${why}, after ${attempt + 1} attempts.`, { cause: err });
        await this.sleep(this.backoff(attempt));
        continue;
      }
      bodyDeadlines.set(response, deadline);
      if (response.ok) return response;
      const retryable = response.status === 429 || response.status === 503;
      if (retryable && attempt < this.retries) {
        const after = retryAfterMs(response.headers.get('retry-after'));
        await response.body?.cancel();
        await this.sleep(Math.min(after ?? this.backoff(attempt), this.maxDelayMs));
        continue;
      }
      throw await problemOf(response);
    }
  }

  private backoff(attempt: number): number {
    const ceiling = Math.min(this.maxDelayMs, this.backoffMs * 2 ** attempt);
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  private async json(response: Response): Promise<Record<string, unknown>> {
    const text = await readBounded(response);
    try {
      const v: unknown = JSON.parse(text);
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // fall through
    }
    throw new ServerUnreachable(`${this.base} answered ${response.status} with a body that is not a JSON object: is it a tessera server?`);
  }

  async challenge(tee: Tee): Promise<ChallengeResponse> {
    const v = await this.json(await this.request('POST', '/v1/challenge', { body: { tee }, accept: 'application/json' }));
    if (typeof v['challenge'] !== 'string' || typeof v['nonce'] !== 'string') throw new ServerUnreachable(`${this.base} answered the challenge request without a challenge and nonce.`);
    const nonce = Buffer.from(v['nonce'], 'base64url');
    if (nonce.length !== 32) throw new ServerUnreachable(`The server's nonce is ${nonce.length} bytes, not 32.`);
    return { challenge: v['challenge'], nonce: v['nonce'], expiresAt: String(v['expiresAt'] ?? '') };
  }

  async attestRequest(body: { challenge: string; tee: Tee; evidence: Record<string, unknown>; teePublicKey: JWK; release?: string[] }): Promise<AttestResponse> {
    const v = await this.json(await this.request('POST', '/v1/attest', { body, accept: 'application/json' }));
    if (typeof v['token'] !== 'string') throw new ServerUnreachable(`${this.base} answered the attestation without a token.`);
    return v as AttestResponse;
  }

  /**
   * The whole flow: challenge, TEE key, evidence with the binding, attest, and the secrets
   * named in `release` decrypted. A challenge that expired or was consumed by a lost first
   * attempt is answered by one more round with a fresh challenge and key.
   */
  async attest(provider: EvidenceProvider, options: { release?: string[] } = {}): Promise<AttestOutcome> {
    const tee = await provider.tee();
    for (let round = 1; ; round++) {
      const ch = await this.challenge(tee);
      const teeKey = generateTeeKey();
      const reportData = await expectedReportData(Buffer.from(ch.nonce, 'base64url'), teeKey.publicJwk);
      const evidence = await provider.getEvidence(reportData);
      let res: AttestResponse;
      try {
        res = await this.attestRequest({
          challenge: ch.challenge,
          tee: evidence.tee,
          evidence: evidenceJson(evidence),
          teePublicKey: teeKey.publicJwk,
          ...(options.release && options.release.length > 0 ? { release: options.release } : {}),
        });
      } catch (err) {
        if (round < 2 && err instanceof ServerProblem && (err.code === 'challenge_expired' || err.code === 'challenge_replayed')) continue;
        throw err;
      }
      const secrets = new Map<string, Uint8Array>();
      for (const name of options.release ?? []) {
        const jwe = res.secrets?.[name];
        // A secret the attest answer does not carry (each release is decided on its own, and
        // a server may not release in one round trip at all) is asked for by name: the answer
        // is the secret, or the server's own reason (release_denied with the failed rules).
        secrets.set(name, typeof jwe === 'string' ? await decryptSecret(jwe, teeKey.privateKey) : await this.getSecret(res.token, name, teeKey.privateKey));
      }
      return { tee, token: res.token, expiresAt: String(res.expiresAt), status: String(res.status), ...policyOf(res.token, tee), secrets, teeKey };
    }
  }

  /** GET /v1/secrets/{name} with the token, decrypted with the TEE key the token is bound to. */
  async getSecret(token: string, name: string, teeKey: KeyObject, version?: number): Promise<Uint8Array> {
    const query = version !== undefined ? `?version=${version}` : '';
    const response = await this.request('GET', `/v1/secrets/${encodeURIComponent(name)}${query}`, { token, accept: 'application/jose' });
    const jwe = (await readBounded(response)).trim();
    return decryptSecret(jwe, teeKey);
  }
}

/** 127.0.0.0/8, ::1 and localhost: plain http there never leaves the host. */
export function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  if (cause?.code) return cause.code === 'ECONNREFUSED' ? 'connection refused' : cause.code === 'ENOTFOUND' ? 'host not found' : cause.code;
  if (cause?.message) return cause.message;
  return err instanceof Error ? err.message : String(err);
}

async function problemOf(response: Response): Promise<ServerProblem> {
  let problem: Record<string, unknown> = {};
  let text: string;
  try {
    text = await readBounded(response);
  } catch (err) {
    if (err instanceof ServerUnreachable) throw err;
    text = '';
  }
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) problem = v as Record<string, unknown>;
  } catch {
    if (text.trim() !== '') problem = { detail: `The server answered HTTP ${response.status}: ${text.trim().slice(0, 200)}` };
  }
  return new ServerProblem(response.status, problem);
}

/** The deciding policy, read (not verified: the agent is not the relying party) from the token. */
function policyOf(token: string, tee: Tee): { policy?: string } {
  try {
    const payload = decodeJwt(token) as { submods?: Record<string, { 'ear.appraisal-policy-id'?: { name?: string; version?: number } }> };
    const id = payload.submods?.[tee]?.['ear.appraisal-policy-id'];
    if (id?.name) return { policy: id.version !== undefined ? `${id.name} v${id.version}` : id.name };
  } catch {
    // not a JWT we can read: no policy to show
  }
  return {};
}
