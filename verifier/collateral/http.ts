// GET with a timeout, bounded retries and backoff, for the vendor collateral services.
// AMD KDS answers 429 to repeated fetches and both vendors have outages, so transient
// failures (network errors, timeouts, 429, 5xx) are retried with exponential backoff and
// full jitter, honouring Retry-After on 429 and 503 (RFC 9110 section 10.2.3). Other 4xx
// answers are final: asking again will not change them. Every error names the document
// and the URL so an operator can reproduce the request by hand.

import { CollateralUnavailableError } from '../errors.ts';
import { readBodyWithin } from './read-body.ts';

export interface HttpOptions {
  /** Per-attempt timeout covering headers and body. Default 10 s. */
  timeoutMs?: number;
  /** Attempts after the first. Default 3. */
  retries?: number;
  /** Backoff before retry n (0-based) is random in [0, min(maxBackoffMs, base * 2^n)]. Default 250 ms. */
  backoffBaseMs?: number;
  /** Default 8 s. */
  maxBackoffMs?: number;
  /** A Retry-After longer than this is not waited for: the request fails at once. Default 60 s. */
  maxRetryAfterMs?: number;
  /** Responses larger than this are refused (collateral documents are a few kB). Default 4 MiB. */
  maxBytes?: number;
  /** For Retry-After given as an HTTP date. */
  now?: () => Date;
  /** Injected in tests. */
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export interface HttpResponse {
  url: string;
  status: number;
  headers: Headers;
  body: Uint8Array;
}

/**
 * The upstream could not give a document. A CollateralUnavailableError (so callers that
 * only know the source contract handle it) with the URL, the last HTTP status if any and
 * whether it was worth retrying.
 */
export class UpstreamError extends CollateralUnavailableError {
  readonly url: string;
  readonly status: number | undefined;
  readonly attempts: number;
  constructor(document: string, url: string, message: string, status: number | undefined, attempts: number) {
    super(document, message);
    this.name = 'UpstreamError';
    this.url = url;
    this.status = status;
    this.attempts = attempts;
  }
}

const DEFAULTS = {
  timeoutMs: 10_000,
  retries: 3,
  backoffBaseMs: 250,
  maxBackoffMs: 8_000,
  maxRetryAfterMs: 60_000,
  maxBytes: 4 * 1024 * 1024,
};

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Retry-After as milliseconds: delay-seconds or an HTTP-date (RFC 9110 10.2.3). Undefined
 * when absent or unparseable, and for a date when no clock was given (then the ordinary
 * backoff applies).
 */
export function parseRetryAfter(value: string | null, now?: Date): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (!now) return undefined;
  const when = Date.parse(v);
  if (Number.isNaN(when)) return undefined;
  return Math.max(0, when - now.getTime());
}

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

async function readBody(res: Response, maxBytes: number, deadline: number): Promise<Uint8Array> {
  const declared = res.headers.get('content-length');
  const body = await readBodyWithin(res, maxBytes, deadline);
  // undici already fails a body cut short of its Content-Length; this also covers a
  // server that declares a length and sends more or less without closing cleanly.
  if (declared !== null && Number(declared) !== body.length) throw new Error(`body is ${body.length} bytes, Content-Length said ${declared}`);
  return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
}

function describeError(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timed out';
    const cause = (err as { cause?: unknown }).cause;
    const causeMsg = cause instanceof Error ? cause.message : undefined;
    return causeMsg ? `${err.message} (${causeMsg})` : err.message;
  }
  return String(err);
}

/**
 * GET `url` and resolve with a 2xx response and its whole body. Rejects with UpstreamError
 * naming `document` after a final 4xx, or when retries are exhausted.
 */
export async function httpGet(url: string, document: string, options: HttpOptions = {}): Promise<HttpResponse> {
  const o = { ...DEFAULTS, ...options };
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  let lastProblem = '';
  let lastStatus: number | undefined;
  const attempts = o.retries + 1;
  for (let attempt = 0; attempt < attempts; attempt++) {
    let retryAfterMs: number | undefined;
    try {
      const deadline = Date.now() + o.timeoutMs;
      const res = await doFetch(url, { signal: AbortSignal.timeout(o.timeoutMs), redirect: 'follow' });
      lastStatus = res.status;
      if (res.ok) {
        const body = await readBody(res, o.maxBytes, deadline);
        return { url, status: res.status, headers: res.headers, body };
      }
      // Drain so the connection can be reused; the content is only a vendor error page.
      await res.body?.cancel().catch(() => undefined);
      lastProblem = `the server answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
      if (!isRetryableStatus(res.status)) {
        throw new UpstreamError(document, url, `Could not fetch the ${document} from ${url}: ${lastProblem}.`, res.status, attempt + 1);
      }
      if (res.status === 429 || res.status === 503) {
        retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), options.now?.());
        if (retryAfterMs !== undefined && retryAfterMs > o.maxRetryAfterMs) {
          throw new UpstreamError(
            document,
            url,
            `Could not fetch the ${document} from ${url}: ${lastProblem} and asks to retry after ${Math.ceil(retryAfterMs / 1000)} s, longer than the ${Math.ceil(o.maxRetryAfterMs / 1000)} s this client waits.`,
            res.status,
            attempt + 1,
          );
        }
      }
    } catch (err) {
      if (err instanceof UpstreamError) throw err;
      lastStatus = undefined;
      lastProblem = describeError(err);
    }
    if (attempt + 1 < attempts) {
      const ceiling = Math.min(o.maxBackoffMs, o.backoffBaseMs * 2 ** attempt);
      const backoff = Math.floor(random() * ceiling);
      await sleep(Math.max(backoff, retryAfterMs ?? 0));
    }
  }
  throw new UpstreamError(
    document,
    url,
    `Could not fetch the ${document} from ${url} after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${lastProblem}.`,
    lastStatus,
    attempts,
  );
}
