// REPORT_DATA as the CoCo attestation-agent computes it (guest-agent/kbs/runtime-data.ts),
// held to Trustee's own JCS/hash vector and to the agent's hash-selection cases.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { digest, jcs, kbsReportData, primaryRuntimeData, selectedHashAlgorithm } from '../../guest-agent/kbs/runtime-data.ts';
import { TeeKeyPair } from '../../guest-agent/kbs/tee-key.ts';

const FIXTURES = new URL('../fixtures/kbs/', import.meta.url);
const trusteeJcs = JSON.parse(readFileSync(new URL('trustee-jcs-hash.json', FIXTURES), 'utf8'));

describe('JCS and hash: trustee attestation-service parse_runtimedata_json_binding', () => {
  it('SHA-384 of the canonical JSON of {"b":1,"a":"test","c":{"d":"e"}} is the digest trustee asserts', () => {
    expect(jcs(trusteeJcs.input)).toBe(trusteeJcs.canonical);
    expect(digest('sha384', jcs(trusteeJcs.input)).toString('hex')).toBe(trusteeJcs.digest);
  });

  it('a changed member changes the digest (the vector bites)', () => {
    expect(digest('sha384', jcs({ ...trusteeJcs.input, b: 2 })).toString('hex')).not.toBe(trusteeJcs.digest);
    // JSON.stringify keeps insertion order, so it is not the canonical form.
    expect(digest('sha384', JSON.stringify(trusteeJcs.input)).toString('hex')).not.toBe(trusteeJcs.digest);
  });
});

describe('REPORT_DATA the agent way (rcar_client.rs get_composite_evidence)', () => {
  const nonce = 'O4kkxw0fNGjvX0vxvXo7lA2DyJeW1bqcFHCSKbMSd5M=';
  const key = TeeKeyPair.generate();
  const runtime = { nonce, 'tee-pubkey': key.exportPubkey() };

  it('hashes the JCS of {tee-pubkey, nonce, additional-evidence: ""}, zero-padded to 64 bytes', () => {
    const pub = key.exportPubkey();
    if (pub.kty !== 'EC') throw new Error('expected an EC key');
    const text = `{"additional-evidence":"","nonce":"${nonce}","tee-pubkey":{"alg":"ECDH-ES+A256KW","crv":"P-256","kty":"EC","x":"${pub.x}","y":"${pub.y}"}}`;
    expect(jcs(primaryRuntimeData(runtime))).toBe(text);
    const rd = kbsReportData(runtime);
    expect(rd.length).toBe(64);
    expect(rd.subarray(0, 48).toString('hex')).toBe(digest('sha384', text).toString('hex'));
    expect(rd.subarray(48).every((b) => b === 0)).toBe(true);
  });

  it('the empty additional-evidence is part of the hash', () => {
    const without = digest('sha384', jcs({ nonce, 'tee-pubkey': runtime['tee-pubkey'] }));
    expect(kbsReportData(runtime).subarray(0, 48).equals(without)).toBe(false);
  });

  it('SHA-256 fills 32 bytes and SHA-512 all 64', () => {
    const r256 = kbsReportData(runtime, 'sha256');
    expect(r256.subarray(0, 32).equals(digest('sha256', jcs(primaryRuntimeData(runtime))))).toBe(true);
    expect(r256.subarray(32).every((b) => b === 0)).toBe(true);
    expect(kbsReportData(runtime, 'sha512').equals(digest('sha512', jcs(primaryRuntimeData(runtime))))).toBe(true);
  });

  // rcar_client.rs test_get_hash_algorithm, case by case.
  it.each([
    [{}, 'sha384'],
    [{ 'selected-hash-algorithm': 'sha256' }, 'sha256'],
    [{ 'selected-hash-algorithm': 'SHA256' }, 'sha256'],
    [{ 'selected-hash-algorithm': 'sha384' }, 'sha384'],
    [{ 'selected-hash-algorithm': 'SHA384' }, 'sha384'],
    [{ 'selected-hash-algorithm': 'sha512' }, 'sha512'],
    [{ 'selected-hash-algorithm': 'SHA512' }, 'sha512'],
  ])('extra-params %j selects %s', (params, expected) => {
    expect(selectedHashAlgorithm(params)).toBe(expected);
  });

  it.each([[''], ['foo'], [[]], [{}], [true], [99999], [42.141]])('selected-hash-algorithm %j is an error', (value) => {
    expect(() => selectedHashAlgorithm({ 'selected-hash-algorithm': value })).toThrow(TypeError);
  });
});
