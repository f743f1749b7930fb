// One request in flight per document: when fifty attestations from the same chip arrive
// while its VCEK is not cached, AMD KDS sees one request, not fifty (it rate-limits
// repeated fetches with 429). Concurrent callers with the same key share the promise;
// the key is forgotten as soon as it settles, so a failure is not remembered.

export class SingleFlight<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  /** Run `fn` unless a call for `key` is already running, in which case share its outcome. */
  run(key: string, fn: () => Promise<T>): Promise<T> {
    const running = this.inFlight.get(key);
    if (running) return running;
    // Started on a microtask so the key is registered before `fn` can settle, even if it
    // throws synchronously.
    const p = Promise.resolve()
      .then(fn)
      .finally(() => {
        if (this.inFlight.get(key) === p) this.inFlight.delete(key);
      });
    this.inFlight.set(key, p);
    return p;
  }

  /** How many distinct keys are being fetched now. */
  get size(): number {
    return this.inFlight.size;
  }
}
