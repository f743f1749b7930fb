// Building the named checks of a result: one sentence each, with expected and found values
// when a check fails, so a denial explains itself.

import type { Check } from '../result.ts';

export function pass(id: string, detail: string): Check {
  return { id, ok: true, detail };
}

export function fail(id: string, detail: string, expected?: unknown, found?: unknown): Check {
  return {
    id,
    ok: false,
    detail,
    ...(expected !== undefined ? { expected } : {}),
    ...(found !== undefined ? { found } : {}),
  };
}

// Check details name the verification time many times per quote: format it once.
let lastTime = NaN;
let lastIso = '';

/** `at.toISOString()`, remembered for the last instant asked. */
export function iso(at: Date): string {
  const t = at.getTime();
  if (t !== lastTime) {
    lastIso = at.toISOString();
    lastTime = t;
  }
  return lastIso;
}
