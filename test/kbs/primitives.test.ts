// REPORT_DATA and the protected-header byte form, against strings written out by hand from the
// rules in rcar_client.rs / kbs-types (not produced by the code under test).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { serialiseProtectedHeader } from '../../server/kbs/jwe-header.ts';
import { kbsReportData } from '../../server/kbs/report-data.ts';

describe('KBS primitives', () => {
  it('REPORT_DATA is SHA-384 of the JCS of the runtime data, zero-padded to 64 bytes', () => {
    const runtime = { 'tee-pubkey': { y: 'Y', x: 'X', kty: 'EC', crv: 'P-256', alg: 'ECDH-ES+A256KW' }, nonce: 'bm9uY2U=', 'additional-evidence': '' };
    const jcs = '{"additional-evidence":"","nonce":"bm9uY2U=","tee-pubkey":{"alg":"ECDH-ES+A256KW","crv":"P-256","kty":"EC","x":"X","y":"Y"}}';
    const rd = kbsReportData(runtime);
    expect(rd.length).toBe(64);
    expect(rd.subarray(0, 48).toString('hex')).toBe(createHash('sha384').update(jcs).digest('hex'));
    expect(rd.subarray(48).equals(Buffer.alloc(16))).toBe(true);
    expect(kbsReportData(runtime, 'sha512').toString('hex')).toBe(createHash('sha512').update(jcs).digest('hex'));
  });

  it('the protected header is alg, enc, then sorted keys, epk as crv,kty,x,y', () => {
    const h = serialiseProtectedHeader('ECDH-ES+A256KW', 'A256GCM', { epk: { y: 'Y', x: 'X', kty: 'EC', crv: 'P-256' }, cty: 'x' });
    expect(h).toBe('{"alg":"ECDH-ES+A256KW","enc":"A256GCM","cty":"x","epk":{"crv":"P-256","kty":"EC","x":"X","y":"Y"}}');
  });
});
