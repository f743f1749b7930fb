// The request body limit. A body with a Content-Length is judged by that header alone:
// Node's HTTP parser (llhttp) never hands a handler more bytes than Content-Length says, and
// refuses a request that carries both Content-Length and Transfer-Encoding, so the header is
// an upper bound. Only a chunked body, whose length is unknown until it ends, is counted as
// it streams (hono/body-limit).
//
// Why not hono/body-limit for every request: it asks for `c.req.raw.body` first, which makes
// @hono/node-server build a web Request with a ReadableStream and an AbortController around
// the socket, and lose its direct read of the body. On POST /v1/attest that wrapping was a
// measurable part of the time spent outside verification (bench/attest.ts).

import type { MiddlewareHandler } from 'hono';
import { bodyLimit as streamedBodyLimit } from 'hono/body-limit';
import { ApiError } from './problem.ts';

const DECIMAL_RE = /^\d{1,15}$/;

export function bodyLimit(maxBytes: number): MiddlewareHandler {
  const tooLarge = (): never => {
    throw new ApiError(413, 'body_too_large', `The request body exceeds ${maxBytes} bytes.`);
  };
  const streamed = streamedBodyLimit({ maxSize: maxBytes, onError: tooLarge });
  return async (c, next) => {
    if (c.req.header('transfer-encoding') !== undefined) return streamed(c, next);
    const length = c.req.header('content-length');
    // No Content-Length and no Transfer-Encoding: HTTP/1.1 says there is no body (RFC 9112
    // section 6.3, rule 7), and Node reads none.
    if (length === undefined) return next();
    // llhttp already refused a Content-Length that is not a decimal number.
    if (!DECIMAL_RE.test(length.trim()) || Number(length) > maxBytes) tooLarge();
    return next();
  };
}
