// `tessera verify az-snp-vtpm` and `tessera verify az-tdx-vtpm`, run as a user runs them
// (`node bin/tessera.js verify az-... EVIDENCE.json --nonce HEX`), on the real trustee
// vectors (test/fixtures/az-*-vtpm/trustee) at their pinned times and on corrupted copies.
// Exit 0 only when every check passes, 1 rejected (the failed check named, with expected and
// found), 2 usage error or unreadable input, one line on stderr. Nothing reaches the network:
// the SNP vectors carry their VCEK; without one, and for the TD quote without --collateral,
// the cache is an empty scratch file and --offline.
//
// The TD quote of the Azure TDX vector is from a platform of FMSPC 00806f050000, the FMSPC of
// the zkdcap vector test/fixtures/tdx/zkdcap-00806f050000-v4-outofdate, whose Intel PCS
// collateral (TCB Info, QE Identity, CRLs) it verifies with at that vector's time.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { VerificationResult } from '../../verifier/result.ts';
import { type Run, tesseraInScratchDir } from '../support/cli.ts';

const { dir: scratch, tessera: run } = tesseraInScratchDir('tessera-azure-cli-');
const tessera = (...args: string[]): Promise<Run> => run('verify', ...args);

const fixture = (tee: 'snp' | 'tdx', f: string): string => new URL(`../fixtures/az-${tee}-vtpm/trustee/${f}`, import.meta.url).pathname;
const snpCase = JSON.parse(readFileSync(fixture('snp', 'case.json'), 'utf8')) as { valid_at: string; cases: Record<string, { expected_nonce_hex: string; pcr00: string; product?: string }> };
const SNP_AT = snpCase.valid_at;
const snpNonce = (f: string): string => snpCase.cases[f]!.expected_nonce_hex;

const TDX_COLLATERAL = new URL('../fixtures/tdx/zkdcap-00806f050000-v4-outofdate/', import.meta.url).pathname;
const TDX_AT = (JSON.parse(readFileSync(join(TDX_COLLATERAL, 'case.json'), 'utf8')) as { verify_at: string }).verify_at;
const TDX_NONCE = Buffer.from('challenge').toString('hex');

/** A copy of `json` written to the scratch directory after `edit`. */
function variant(name: string, source: string, edit: (doc: Record<string, unknown>) => void): string {
  const doc = JSON.parse(readFileSync(source, 'utf8')) as Record<string, unknown>;
  edit(doc);
  const path = join(scratch, name);
  writeFileSync(path, JSON.stringify(doc));
  return path;
}

/** `hex` with the byte at `i` XORed with `mask`. */
const flipHex = (hex: string, i: number, mask = 0x01): string => {
  const b = Buffer.from(hex, 'hex');
  b[i]! ^= mask;
  return b.toString('hex');
};

const oneLine = (r: Run): void => {
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
};
const failedIds = (r: Run): string[] => [...r.stdout.matchAll(/^ {2}FAIL {2}([\w.-]+):/gm)].map((m) => m[1]!);

describe('tessera verify az-snp-vtpm', () => {
  for (const f of ['evidence-v0.json', 'evidence-v2.json', 'evidence-genoa.json']) {
    it(`exit 0 for ${f} at ${SNP_AT} with its nonce, every check listed ok`, async () => {
      const r = await tessera('az-snp-vtpm', fixture('snp', f), '--nonce', snpNonce(f), '--at', SNP_AT);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Azure SEV-SNP vTPM evidence VERIFIED at ${new Date(SNP_AT).toISOString()}`);
      expect(r.stdout).toContain(`product      ${snpCase.cases[f]!.product ?? 'Milan'}, signer VCEK`);
      expect(r.stdout).toContain(`PCR0         ${snpCase.cases[f]!.pcr00}`);
      expect(r.stdout).toContain(`TPM nonce    ${snpNonce(f)}`);
      expect(r.stdout).toMatch(/VM {11}secure boot on, TPM enabled, id [0-9A-F-]{36}/);
      expect(failedIds(r)).toEqual([]);
      for (const id of ['azure.hcl.layout', 'azure.hcl.report-data', 'azure.snp.vmpl', 'snp.report.signature', 'tpm.quote.signature', 'tpm.quote.pcr-digest', 'tpm.quote.nonce']) {
        expect(r.stdout).toMatch(new RegExp(`^ {2}ok {4}${id.replace(/\./g, '\\.')}:`, 'm'));
      }
    });
  }

  it('--json prints the VerificationResult: tee, verified, checks, claims with the TPM PCRs and the VM', async () => {
    const r = await tessera('az-snp-vtpm', fixture('snp', 'evidence-v2.json'), '--nonce', snpNonce('evidence-v2.json'), '--at', SNP_AT, '--json');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as VerificationResult;
    expect(result).toMatchObject({ verified: true, tee: 'az-snp-vtpm', product: 'Milan', signer: 'VCEK' });
    expect(result.checks.every((c) => c.ok)).toBe(true);
    expect(result.checks.map((c) => c.id)).toContain('azure.runtime-data.user-data');
    expect(result.claims?.azure).toBe(true);
    expect(result.claims?.tpm).toMatchObject({ nonce: snpNonce('evidence-v2.json'), quoteVerified: true, evidenceVersion: 2 });
    expect(Object.keys(result.claims!.tpm!.pcrs)).toHaveLength(24);
    expect(result.claims?.tpm?.pcrs['0']).toBe(snpCase.cases['evidence-v2.json']!.pcr00);
    expect(result.claims?.vm).toMatchObject({ secureBoot: true, tpmEnabled: true });
    expect(result.collateral.find((c) => c.kind === 'vcek')?.source).toBe('evidence');
  });

  it('a wrong --nonce exits 1 naming tpm.quote.nonce, with expected and found', async () => {
    const r = await tessera('az-snp-vtpm', fixture('snp', 'evidence-v0.json'), '--nonce', 'deadbeef', '--at', SNP_AT);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('REJECTED');
    expect(failedIds(r)).toEqual(['tpm.quote.nonce']);
    expect(r.stdout).toMatch(/FAIL {2}tpm\.quote\.nonce: .*\(expected "deadbeef", found "6368616c6c656e6765"\)/);
  });

  it('v2 with another nonce fails the nonce and the user-data check; --json has both with expected and found', async () => {
    const r = await tessera('az-snp-vtpm', fixture('snp', 'evidence-v2.json'), '--nonce', '123abc', '--at', SNP_AT, '--json');
    expect(r.code).toBe(1);
    const result = JSON.parse(r.stdout) as VerificationResult;
    expect(result.verified).toBe(false);
    const failed = result.checks.filter((c) => !c.ok);
    expect(failed.map((c) => c.id)).toEqual(['tpm.quote.nonce', 'azure.runtime-data.user-data']);
    expect(failed[0]).toMatchObject({ expected: '123abc', found: snpNonce('evidence-v2.json') });
    expect(failed[1]!.expected).toBe('123abc');
  });

  it('corrupted evidence exits 1 with the precise check: TPM signature, TPM message, a PCR, the HCL runtime data', async () => {
    const src = fixture('snp', 'evidence-v2.json');
    type Quote = { signature: string; message: string; pcrs: string[] };
    const quoteOf = (d: Record<string, unknown>): Quote => d.tpm_quote as Quote;
    const cases: [string, (d: Record<string, unknown>) => void, string[]][] = [
      ['sig.json', (d) => void (quoteOf(d).signature = flipHex(quoteOf(d).signature, 100)), ['tpm.quote.signature']],
      // Byte 0x30 of the TPMS_ATTEST is inside extraData: the signature no longer covers it, and it is not the nonce.
      ['msg.json', (d) => void (quoteOf(d).message = flipHex(quoteOf(d).message, 0x30)), ['tpm.quote.signature', 'tpm.quote.nonce']],
      ['pcr.json', (d) => void (quoteOf(d).pcrs[7] = flipHex(quoteOf(d).pcrs[7]!, 3)), ['tpm.quote.pcr-digest']],
      [
        'hcl.json',
        (d) => {
          const hcl = Buffer.from(d.hcl_report as string, 'base64url');
          hcl[0x4d4 + 500]! ^= 0x01; // a character of the first key (HCLEkPub) in the runtime data JSON
          d.hcl_report = hcl.toString('base64url');
        },
        ['azure.hcl.report-data'],
      ],
    ];
    const runs = cases.map(([name, edit]) => tessera('az-snp-vtpm', variant(name, src, edit), '--nonce', snpNonce('evidence-v2.json'), '--at', SNP_AT));
    for (const [i, [name, , expected]] of cases.entries()) {
      const r = await runs[i]!;
      expect(r.code, name).toBe(1);
      expect(failedIds(r), name).toEqual(expected);
      expect(r.stdout).toMatch(/FAIL .*\(expected .*, found .*\)/);
    }
  });

  it('without a VCEK: --offline on an empty cache exits 2 saying the VCEK is needed; --vcek FILE supplies it', async () => {
    const src = fixture('snp', 'evidence-v0.json');
    const vcekPem = (JSON.parse(readFileSync(src, 'utf8')) as { vcek: string }).vcek;
    const bare = variant('no-vcek.json', src, (d) => delete d.vcek);
    const cache = join(scratch, 'empty-cache.json');
    const r = await tessera('az-snp-vtpm', bare, '--nonce', snpNonce('evidence-v0.json'), '--at', SNP_AT, '--offline', '--cache', cache);
    expect(r.code).toBe(2);
    oneLine(r);
    expect(r.stderr).toContain('The VCEK certificate that signed the SNP report is needed');
    expect(r.stderr).toContain('--vcek FILE');
    writeFileSync(join(scratch, 'vcek.pem'), vcekPem);
    const ok = await tessera('az-snp-vtpm', bare, '--nonce', snpNonce('evidence-v0.json'), '--at', SNP_AT, '--vcek', join(scratch, 'vcek.pem'));
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const both = await tessera('az-snp-vtpm', src, '--nonce', snpNonce('evidence-v0.json'), '--vcek', join(scratch, 'vcek.pem'));
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('the evidence already carries the VCEK');
  });

  it('exit 2 with one sentence: missing file, bad hex, no --nonce, not JSON, malformed evidence, bad --at, TDX evidence', async () => {
    writeFileSync(join(scratch, 'not.json'), '{"version": 2,');
    const v0 = fixture('snp', 'evidence-v0.json');
    const runs: [Promise<Run>, string][] = [
      [tessera('az-snp-vtpm', join(scratch, 'absent.json'), '--nonce', '00'), `cannot read the evidence ${join(scratch, 'absent.json')}: no such file`],
      [tessera('az-snp-vtpm', v0, '--nonce', 'xyz'), '--nonce must be the expected TPM quote nonce as an even number of hex digits, not "xyz"'],
      [tessera('az-snp-vtpm', v0, '--nonce', '00'.repeat(65)), '--nonce is 65 bytes; a TPM quote nonce holds at most 64'],
      [tessera('az-snp-vtpm', v0), "required option '--nonce <hex>' not specified"],
      [tessera('az-snp-vtpm', join(scratch, 'not.json'), '--nonce', '00'), 'is not JSON'],
      [tessera('az-snp-vtpm', variant('extra.json', v0, (d) => (d.extra = 1)), '--nonce', '00'), '(azure_evidence_unknown_field)'],
      [tessera('az-snp-vtpm', variant('version.json', v0, (d) => (d.version = 7)), '--nonce', '00'), '(azure_evidence_version)'],
      [tessera('az-snp-vtpm', v0, '--nonce', '00', '--at', 'tomorrow'), '--at must be an ISO-8601 time'],
      [tessera('az-snp-vtpm', fixture('tdx', 'evidence-v1.json'), '--nonce', '00'), 'unknown member(s): td_quote'],
      [tessera('az-snp-vtpm', v0, '--nonce', '00', '--offline', '--kds-url', 'http://127.0.0.1:9'), '--offline and --kds-url contradict each other'],
    ];
    // Started together, awaited in order: each is a separate process.
    for (const [run, message] of runs) {
      const r = await run;
      expect(r.code, r.stderr).toBe(2);
      oneLine(r);
      expect(r.stderr).toContain(message);
      expect(r.stdout).toBe('');
    }
  });
});

describe('tessera verify az-tdx-vtpm', () => {
  for (const f of ['evidence-v0.json', 'evidence-v1.json']) {
    it(`exit 0 for ${f} with the Intel collateral of its FMSPC (--collateral DIR) at ${TDX_AT}`, async () => {
      const r = await tessera('az-tdx-vtpm', fixture('tdx', f), '--nonce', TDX_NONCE, '--collateral', TDX_COLLATERAL, '--at', TDX_AT);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Azure TDX vTPM evidence VERIFIED');
      expect(r.stdout).toContain('TCB status   OutOfDate');
      expect(failedIds(r)).toEqual([]);
      for (const id of ['azure.hcl.layout', 'azure.hcl.td-report', 'azure.hcl.report-data', 'tdx.quote.signature', 'tpm.quote.signature', 'tpm.quote.nonce']) {
        expect(r.stdout).toMatch(new RegExp(`^ {2}ok {4}${id.replace(/\./g, '\\.')}:`, 'm'));
      }
    });
  }

  it('--json: the collateral named on the command line is recorded as input, the claims carry the TPM quote', async () => {
    const r = await tessera('az-tdx-vtpm', fixture('tdx', 'evidence-v1.json'), '--nonce', TDX_NONCE, '--collateral', TDX_COLLATERAL, '--at', TDX_AT, '--json');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as VerificationResult;
    expect(result).toMatchObject({ verified: true, tee: 'az-tdx-vtpm', tcb: { status: 'OutOfDate' } });
    expect(result.claims?.azure).toBe(true);
    expect(result.claims?.tpm).toMatchObject({ nonce: TDX_NONCE, quoteVerified: true });
    expect(result.collateral.filter((c) => c.kind === 'tcb-info').map((c) => c.source)).toEqual(['input']);
  });

  it('a wrong --nonce exits 1 naming tpm.quote.nonce; a corrupted TD quote exits 1 naming its signature', async () => {
    const wrong = await tessera('az-tdx-vtpm', fixture('tdx', 'evidence-v1.json'), '--nonce', '00', '--collateral', TDX_COLLATERAL, '--at', TDX_AT);
    expect(wrong.code).toBe(1);
    expect(failedIds(wrong)).toEqual(['tpm.quote.nonce']);
    const corrupt = variant('td.json', fixture('tdx', 'evidence-v1.json'), (d) => {
      const q = Buffer.from(d.td_quote as string, 'base64url');
      q[48 + 136 + 5]! ^= 0x01; // MRTD (TD report body offset 136), covered by the quote signature
      d.td_quote = q.toString('base64url');
    });
    const r = await tessera('az-tdx-vtpm', corrupt, '--nonce', TDX_NONCE, '--collateral', TDX_COLLATERAL, '--at', TDX_AT);
    expect(r.code).toBe(1);
    expect(failedIds(r)).toEqual(['tdx.quote.signature']);
  });

  it('--no-crl skips the CRL checks and says so; a time past the collateral fails its validity checks', async () => {
    const r = await tessera('az-tdx-vtpm', fixture('tdx', 'evidence-v1.json'), '--nonce', TDX_NONCE, '--collateral', TDX_COLLATERAL, '--at', TDX_AT, '--no-crl', '--json');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as VerificationResult;
    expect(result.warnings.join(' ')).toMatch(/CRL/);
    const late = await tessera('az-tdx-vtpm', fixture('tdx', 'evidence-v1.json'), '--nonce', TDX_NONCE, '--collateral', TDX_COLLATERAL, '--at', SNP_AT);
    expect(late.code).toBe(1);
    expect(failedIds(late)).toContain('tdx.collateral.tcb-info.validity');
  });

  it('without --collateral: --offline on an empty cache exits 2 saying which document and how to get it', async () => {
    const r = await tessera('az-tdx-vtpm', fixture('tdx', 'evidence-v1.json'), '--nonce', TDX_NONCE, '--at', TDX_AT, '--offline', '--cache', join(scratch, 'empty-tdx-cache.json'));
    expect(r.code).toBe(2);
    oneLine(r);
    expect(r.stderr).toContain('TCB Info for FMSPC 00806f050000');
    expect(r.stderr).toContain('--collateral DIR');
  });

  it('exit 2: a missing collateral document, SNP evidence, bad hex', async () => {
    const runs: [Promise<Run>, string][] = [
      [tessera('az-tdx-vtpm', fixture('tdx', 'evidence-v1.json'), '--nonce', TDX_NONCE, '--collateral', scratch), 'the TCB Info is missing: no tcb_info.json in'],
      [tessera('az-tdx-vtpm', fixture('snp', 'evidence-v2.json'), '--nonce', TDX_NONCE), 'unknown member(s): vcek'],
      [tessera('az-tdx-vtpm', fixture('tdx', 'evidence-v1.json'), '--nonce', 'challenge'), 'even number of hex digits'],
    ];
    // Started together, awaited in order: each is a separate process.
    for (const [run, message] of runs) {
      const r = await run;
      expect(r.code, r.stderr).toBe(2);
      oneLine(r);
      expect(r.stderr).toContain(message);
    }
  });
});
