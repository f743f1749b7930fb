// canonicalJson was rewritten for speed (one recursive writer, JSON.stringify skipped for
// plain ASCII strings); its output must not change by a single byte, since the policy hash,
// the claims digest and the audit chain hashes are computed over it. The oracle is the
// previous, straightforward implementation, copied here verbatim.

import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../verifier/policy/canonical.ts';

function oracle(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('canonical JSON has no representation for a non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => oracle(v === undefined ? null : v)).join(',')}]`;
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${oracle(obj[k])}`).join(',')}}`;
  }
  throw new TypeError(`canonical JSON has no representation for a ${typeof value}`);
}

/** The result of f(v), or the TypeError it threw (anything else is a test failure). */
function outcome(f: (v: unknown) => string, v: unknown): string {
  try {
    return `ok ${f(v)}`;
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    return `TypeError ${err.message}`;
  }
}

// Any UTF-16 code unit: controls, '"', '\\', DEL, lone surrogates, and ASCII often enough
// that the all-plain fast path is taken too.
const codeUnit = fc.oneof(
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)),
  fc.constantFrom('"', '\\', '\u2028', '\u2029', '\ud800', '\udfff', '\u{1F600}', '\u00e9', 'e\u0301'),
);
const text = fc.oneof(fc.string({ unit: codeUnit }), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme-ascii' }));
const key = fc.oneof(text, fc.constantFrom('a', 'b', 'A', '_', '$', '1', '10', '2', '', '__proto__', 'constructor', 'toString'));
const number = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.constantFrom(0, -0, 1e21, 1e-7, 1e-6, 123e-20, 5e-324, -5e-324, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, 0.1 + 0.2, 333333333.3333333),
);
const { json } = fc.letrec((tie) => ({
  leaf: fc.oneof(text, number, fc.boolean(), fc.constant(null)),
  json: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), tie('array'), tie('object')),
  array: fc.array(fc.oneof(tie('json'), fc.constant(undefined)), { maxLength: 6 }),
  object: fc.dictionary(key, fc.oneof(tie('json'), fc.constant(undefined)), { maxKeys: 6 }),
}));
// Values with no JSON representation somewhere inside, to compare the errors too.
const unrepresentable = fc.constantFrom(NaN, Infinity, -Infinity, 1n, Symbol('s'), () => 1, undefined);
const withBadLeaf = fc.tuple(json, unrepresentable, fc.array(key, { minLength: 1, maxLength: 3 })).map(([v, bad, path]) => {
  let out: unknown = bad;
  for (const k of path) out = k.length % 2 === 0 ? [v, out] : { ...(typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {}), [k]: out };
  return out;
});

describe('canonicalJson', () => {
  it('writes exactly what the straightforward implementation writes, for any JSON value', () => {
    fc.assert(
      fc.property(json, (v) => {
        expect(canonicalJson(v)).toBe(oracle(v));
      }),
      { numRuns: 3000 },
    );
  });

  it('throws the same TypeError for values with no JSON representation', () => {
    fc.assert(
      fc.property(fc.oneof(withBadLeaf, unrepresentable), (v) => {
        expect(outcome(canonicalJson, v)).toBe(outcome(oracle, v));
      }),
      { numRuns: 1000 },
    );
    expect(() => canonicalJson({ a: [1, { b: NaN }] })).toThrow(new TypeError('canonical JSON has no representation for a non-finite number'));
    expect(() => canonicalJson([1n])).toThrow(new TypeError('canonical JSON has no representation for a bigint'));
    expect(() => canonicalJson(undefined)).toThrow(new TypeError('canonical JSON has no representation for a undefined'));
  });

  it('is valid JSON that parses back to the value', () => {
    fc.assert(
      fc.property(json, (v) => {
        // node's deep equality: vitest's treats an own "constructor" member as the class.
        expect(isDeepStrictEqual(JSON.parse(canonicalJson(v)), JSON.parse(JSON.stringify(v)))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('sorts keys by UTF-16 code units (RFC 8785 section 3.2.3 example)', () => {
    const keys = ['\u20ac', '\r', '\ufb33', '1', '\ud83d\ude00', '\u0080', '\u00f6'];
    const value = Object.fromEntries(keys.map((k, i) => [k, i]));
    // RFC 8785's order: "\r", "1", "\u0080", "\u00f6", "\u20ac", "\ud83d\ude00", "\ufb33"; the
    // emoji sorts before U+FB33 because its first code unit (0xD83D) is smaller.
    expect(canonicalJson(value)).toBe('{"\\r":1,"1":3,"\u0080":5,"\u00f6":6,"\u20ac":0,"\ud83d\ude00":4,"\ufb33":2}');
  });

  it('escapes what JSON.stringify escapes, in keys and values alike', () => {
    for (const s of ['"', '\\', '\u0000', '\u001f', '\b\t\n\f\r', '\u007f', '\ud800', 'a\udc00b', '\u2028', 'plain text ~!']) {
      expect(canonicalJson(s)).toBe(JSON.stringify(s));
      expect(canonicalJson({ [s]: s })).toBe(`{${JSON.stringify(s)}:${JSON.stringify(s)}}`);
    }
  });

  it('writes numbers as JSON.stringify does, and -0 as 0', () => {
    expect(canonicalJson([-0, 1e21, 1e-7, 0.000001, 5e-324, 2 ** 53 + 2])).toBe('[0,1e+21,1e-7,0.000001,5e-324,9007199254740994]');
  });

  it('leaves out undefined members and writes undefined array elements (and holes) as null', () => {
    expect(canonicalJson({ b: undefined, a: [undefined, 1], c: { d: undefined } })).toBe('{"a":[null,1],"c":{}}');
    // The previous implementation wrote a hole as nothing ("[1,,2]", which is not JSON); a
    // hole reads as undefined, so it is now null, as JSON.stringify writes it.
    // eslint-disable-next-line no-sparse-arrays
    expect(canonicalJson([1, , 2])).toBe(JSON.stringify([1, , 2]));
  });
});
