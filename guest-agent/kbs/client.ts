// A KBS protocol 0.4.0 client (RCAR: Request, Challenge, Attestation, Response), written
// from the CoCo attestation-agent (guest-components @8246e5e0
// attestation-agent/kbs_protocol/src/client/rcar_client.rs, client/mod.rs,
// client/token_client.rs), so that tessera's guest agent can attest to a Trustee KBS or to
// tessera's /kbs/v0 endpoints, and so that tests can hold tessera to what the agent does:
//
// 1. POST {kbs}/kbs/v0/auth  {version:"0.4.0", tee, extra-params:{supported-hash-algorithms}}
//    -> {nonce, extra-params} and a `kbs-session-id` cookie (the agent's reqwest cookie store).
// 2. POST {kbs}/kbs/v0/attest {init-data: {format:"toml", body}|null,
//    runtime-data: {nonce, tee-pubkey}, tee-evidence: {primary_evidence, additional_evidence}}
//    with REPORT_DATA = hash(JCS(runtime data + additional-evidence)) -> {token}.
// 3. GET {kbs}/kbs/v0/resource/<repository>/<type>/<tag> with the cookie (or
//    `Authorization: Bearer <token>`, token_client.rs) -> a JWE to the tee key; on 401 the
//    agent runs a new handshake and asks again.
// Errors are kbs-types `ErrorInformation` `{type, detail}`; 401 and 404 are the codes the
// agent distinguishes.

import { readBodyWithin } from '../../verifier/collateral/read-body.ts';
import { isLoopback, MAX_RESPONSE_BYTES } from '../client.ts';
import type { EvidenceProvider } from '../providers/provider.ts';
import { kbsPrimaryEvidence, kbsTee, type KbsEvidenceOptions, type KbsTee } from './evidence.ts';
import { HASH_ALGORITHMS, kbsReportData, selectedHashAlgorithm, type HashAlgorithm, type RuntimeData } from './runtime-data.ts';
import { TeeKeyPair, type TeeKeyAlgorithm } from './tee-key.ts';

export const KBS_PROTOCOL_VERSION = '0.4.0';
export const KBS_PREFIX = '/kbs/v0';
export const KBS_SESSION_COOKIE = 'kbs-session-id';

/** A KBS answered with an error; `type`/`detail` are its ErrorInformation when it sent one. */
export class KbsProblem extends Error {
  readonly status: number;
  readonly type: string;
  readonly detail: string;
  constructor(status: number, step: string, info: { type?: unknown; detail?: unknown } | undefined, text: string) {
    const type = typeof info?.type === 'string' ? info.type : '';
    const detail = typeof info?.detail === 'string' ? info.detail : text.slice(0, 500);
    super(`KBS ${step} answered HTTP ${status}${type ? ` (${type})` : ''}: ${detail}`);
    this.name = 'KbsProblem';
    this.status = status;
    this.type = type;
    this.detail = detail;
  }
}

export class KbsUnreachable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KbsUnreachable';
  }
}

export interface KbsClientOptions {
  /** The KBS base URL (`kbs_host_url`), without /kbs/v0. */
  url: string;
  /** The tee key algorithm; the agent's default is EC P-256. */
  keyAlgorithm?: TeeKeyAlgorithm;
  /** An existing tee key (tests); otherwise one is generated. */
  teeKey?: TeeKeyPair;
  /** How resource requests authenticate: the session cookie (rcar_client.rs) or the token (token_client.rs). */
  auth?: 'cookie' | 'bearer';
  /** The init-data TOML text, sent as `{format:"toml", body}` (its digest is HOST_DATA / MRCONFIGID). */
  initData?: string;
  /** Per-request timeout, ms. Default 15 s. */
  timeoutMs?: number;
  /** Allow plain http to another host (anyone on the path could answer in the KBS's name). */
  allowInsecureHttp?: boolean;
  fetch?: typeof fetch;
}

export interface Challenge {
  nonce: string;
  'extra-params': unknown;
}

export interface AttestationBody {
  'init-data': { format: string; body: string } | null;
  'runtime-data': RuntimeData;
  'tee-evidence': { primary_evidence: unknown; additional_evidence: string };
}

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

export class KbsClient {
  readonly url: string;
  readonly teeKey: TeeKeyPair;
  readonly authMode: 'cookie' | 'bearer';
  private readonly initData: string | undefined;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;
  /** The `kbs-session-id` cookie value, as the agent's cookie store keeps it. */
  sessionCookie: string | undefined;
  token: string | undefined;

  constructor(options: KbsClientOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new TypeError(`the KBS URL must be a URL such as https://kbs.example:8080, got "${options.url}".`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`the KBS URL must be http(s), got "${options.url}".`);
    if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') throw new TypeError('the KBS URL must be a base URL, without credentials, ?query or #fragment.');
    if (url.protocol === 'http:' && !isLoopback(url.hostname) && options.allowInsecureHttp !== true) {
      throw new TypeError(`the KBS ${url.origin} is plain http to another host: anyone on the path could answer in its name and hand this guest resources of their choosing. Use https, or --insecure-http for a development server.`);
    }
    this.url = url.href.replace(/\/+$/, '');
    this.teeKey = options.teeKey ?? TeeKeyPair.generate(options.keyAlgorithm);
    this.authMode = options.auth ?? 'cookie';
    this.initData = options.initData;
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** One HTTP exchange with the KBS, cookie kept and sent as the agent's cookie store does. */
  async send(method: 'GET' | 'POST', path: string, body?: unknown, extraHeaders: Record<string, string> = {}, options: { cookie?: boolean } = {}): Promise<RawResponse> {
    const headers: Record<string, string> = { ...extraHeaders };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.sessionCookie !== undefined && options.cookie !== false) headers['cookie'] = `${KBS_SESSION_COOKIE}=${this.sessionCookie}`;
    let res: Response;
    try {
      res = await this.fetchImpl(this.url + path, {
        method,
        headers,
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'manual',
      });
    } catch (err) {
      throw new KbsUnreachable(`cannot reach the KBS at ${this.url}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    for (const line of res.headers.getSetCookie()) {
      const m = new RegExp(`^\\s*${KBS_SESSION_COOKIE}=([^;]*)`).exec(line);
      if (m) this.sessionCookie = m[1];
    }
    let text: string;
    try {
      text = (await readBodyWithin(res, MAX_RESPONSE_BYTES, Date.now() + this.timeoutMs)).toString('utf8');
    } catch (err) {
      throw new KbsUnreachable(`the KBS's HTTP ${res.status} answer could not be read (${err instanceof Error ? err.message : String(err)})`, { cause: err });
    }
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  }

  private expectOk(step: string, r: RawResponse): Record<string, unknown> {
    if (r.status !== 200) throw new KbsProblem(r.status, step, r.json as { type?: unknown; detail?: unknown } | undefined, r.text);
    if (r.json === null || typeof r.json !== 'object') throw new KbsProblem(r.status, step, { detail: 'the answer is not a JSON object' }, r.text);
    return r.json as Record<string, unknown>;
  }

  /** rcar_client.rs `build_request`: the /auth body. */
  static authRequest(tee: KbsTee | string, version = KBS_PROTOCOL_VERSION): Record<string, unknown> {
    return { version, tee, 'extra-params': { 'supported-hash-algorithms': [...HASH_ALGORITHMS] } };
  }

  /** Step 1: POST /auth; keeps the session cookie. */
  async auth(tee: KbsTee | string, version = KBS_PROTOCOL_VERSION): Promise<Challenge> {
    this.sessionCookie = undefined;
    this.token = undefined;
    const body = this.expectOk('auth', await this.send('POST', `${KBS_PREFIX}/auth`, KbsClient.authRequest(tee, version)));
    if (typeof body['nonce'] !== 'string') throw new KbsProblem(200, 'auth', { detail: 'the challenge has no string nonce' }, JSON.stringify(body));
    return { nonce: body['nonce'], 'extra-params': body['extra-params'] };
  }

  runtimeData(nonce: string): RuntimeData {
    return { nonce, 'tee-pubkey': this.teeKey.exportPubkey() };
  }

  /** The REPORT_DATA for this challenge and this client's tee key (no additional devices). */
  reportData(challenge: Challenge): { algorithm: HashAlgorithm; reportData: Buffer; runtime: RuntimeData } {
    const algorithm = selectedHashAlgorithm(challenge['extra-params']);
    const runtime = this.runtimeData(challenge.nonce);
    return { algorithm, runtime, reportData: kbsReportData(runtime, algorithm, '') };
  }

  attestationBody(runtime: RuntimeData, primaryEvidence: unknown): AttestationBody {
    return {
      'init-data': this.initData !== undefined ? { format: 'toml', body: this.initData } : null,
      'runtime-data': runtime,
      'tee-evidence': { primary_evidence: primaryEvidence, additional_evidence: '' },
    };
  }

  /** Step 2: POST /attest with a body already built; keeps the token. */
  async attestWith(body: AttestationBody | Record<string, unknown>): Promise<string> {
    const answer = this.expectOk('attest', await this.send('POST', `${KBS_PREFIX}/attest`, body));
    if (typeof answer['token'] !== 'string') throw new KbsProblem(200, 'attest', { detail: 'the answer has no string token' }, JSON.stringify(answer));
    this.token = answer['token'];
    return this.token;
  }

  /** The whole handshake (rcar_client.rs `rcar_handshake`) with evidence from `provider`. */
  async handshake(provider: EvidenceProvider, evidenceOptions: KbsEvidenceOptions = {}): Promise<string> {
    const tee = (await provider.tee()) === 'tdx' ? 'tdx' : 'snp';
    const challenge = await this.auth(tee);
    const { reportData, runtime } = this.reportData(challenge);
    const evidence = await provider.getEvidence(reportData);
    if (kbsTee(evidence) !== tee) throw new TypeError(`the provider said ${tee} and produced ${evidence.tee} evidence`);
    return this.attestWith(this.attestationBody(runtime, kbsPrimaryEvidence(evidence, evidenceOptions)));
  }

  /** GET the resource once, as this client authenticates; the raw answer. */
  async requestResource(path: string): Promise<RawResponse> {
    if (this.authMode === 'bearer') {
      // token_client.rs: the token alone, no session.
      if (this.token === undefined) throw new TypeError('bearer authentication needs a token: attest first');
      return this.send('GET', `${KBS_PREFIX}/resource/${resourcePath(path)}`, undefined, { authorization: `Bearer ${this.token}` }, { cookie: false });
    }
    return this.send('GET', `${KBS_PREFIX}/resource/${resourcePath(path)}`);
  }

  /** Step 3: the resource, decrypted with the tee key. */
  async getResource(path: string): Promise<Buffer> {
    const r = await this.requestResource(path);
    return this.teeKey.decryptResponse(this.expectOk('resource', r));
  }

  /**
   * The agent's `get_resource`: on 401, a new handshake and one more request (the agent
   * allows KBS_GET_RESOURCE_MAX_ATTEMPT = 3 attempts; tessera's agent re-attests once).
   */
  async fetchResource(provider: EvidenceProvider, path: string, evidenceOptions: KbsEvidenceOptions = {}): Promise<{ value: Buffer; handshakes: number }> {
    let handshakes = 0;
    if (this.token === undefined) {
      await this.handshake(provider, evidenceOptions);
      handshakes++;
    }
    let r = await this.requestResource(path);
    if (r.status === 401) {
      await this.handshake(provider, evidenceOptions);
      handshakes++;
      r = await this.requestResource(path);
    }
    return { value: this.teeKey.decryptResponse(this.expectOk('resource', r)), handshakes };
  }
}

/** `<repository>/<type>/<tag>` (a `kbs:///` resource URI's path); each segment URL-encoded. */
export function resourcePath(path: string): string {
  const clean = path.replace(/^kbs:\/\/[^/]*\//, '').replace(/^\/+/, '');
  const parts = clean.split('/');
  if (parts.length !== 3 || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new TypeError(`a KBS resource is <repository>/<type>/<tag>, got "${path}"`);
  }
  return parts.map(encodeURIComponent).join('/');
}
