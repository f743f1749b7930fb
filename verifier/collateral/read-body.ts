// Reading an HTTP response body with a size bound and a deadline, for every client of ours
// that talks to a server it does not control (the vendor collateral services; the guest
// agent talking to tessera). The deadline is enforced here, read by read, rather than left
// to the fetch's AbortSignal: whether aborting that signal after the headers still errors
// the body stream is not dependable (a stalled body was seen to hang past the timeout).

/** The body did not arrive whole by the deadline (`name` is 'TimeoutError'). */
export class BodyTimeoutError extends Error {
  constructor() {
    super('the body did not arrive within the timeout');
    this.name = 'TimeoutError';
  }
}

/** The body is longer than allowed. */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`body exceeds the ${limit}-byte limit`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * The whole body of `res`, at most `maxBytes` (refused by its Content-Length when that says
 * more), complete by `deadline` (ms since the epoch; Infinity for none). On refusal the stream is cancelled,
 * so the connection is let go. Network errors while reading are rethrown as they come.
 */
export async function readBodyWithin(res: Response, maxBytes: number, deadline: number): Promise<Buffer> {
  const declared = res.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw new BodyTooLargeError(maxBytes);
  }
  if (!res.body) return Buffer.alloc(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    // (setTimeout takes a delay beyond 2^31 - 1 ms as 1 ms: no timer at all without a deadline.)
    const timeout = Number.isFinite(deadline)
      ? new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new BodyTimeoutError()), Math.max(0, deadline - Date.now()));
        })
      : undefined;
    let next: Awaited<ReturnType<typeof reader.read>>;
    try {
      next = await (timeout ? Promise.race([reader.read(), timeout]) : reader.read());
    } catch (err) {
      await reader.cancel().catch(() => undefined);
      throw err;
    } finally {
      clearTimeout(timer);
    }
    if (next.done) break;
    total += next.value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLargeError(maxBytes);
    }
    chunks.push(next.value);
  }
  return Buffer.concat(chunks, total);
}
