// `tessera verify snp`, run as a user runs it: `node bin/tessera.js verify snp ...`.
// Exit 0 verified, 1 rejected, 2 usage error or unreadable input; one line on stderr and
// no stack trace on failure; --json prints the result object.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { VerificationResult } from '../../verifier/result.ts';
import { type Run, runTessera } from '../support/cli.ts';
import { fixturePath } from './cases.ts';

const tessera = (...args: string[]): Promise<Run> => runTessera(['verify', 'snp', ...args], { timeout: 60_000 });

const f = (p: string): string => fixturePath(p);
const noStack = (r: Run): void => {
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
};

describe('tessera verify snp', () => {
  it('exits 0 and prints a readable summary for a valid VLEK report with its chain (PEM)', async () => {
    const r = await tessera(
      '--report', f('milan-v3-vlek-aws-trustee/report.bin'),
      '--vlek', f('milan-v3-vlek-aws-trustee/vlek.der'),
      '--cert-chain', f('milan-v3-vlek-aws-trustee/cert_chain.pem'),
      '--at', '2024-12-11T00:00:00Z',
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('SEV-SNP report VERIFIED at 2024-12-11T00:00:00.000Z');
    expect(r.stdout).toContain('product      Milan, signer VLEK, report version 3');
    expect(r.stdout).toContain('csp          CN=cc-us-east-2.amazonaws.com');
    expect(r.stdout).toMatch(/ok {4}snp\.report\.signature/);
  });

  it('exits 1 with --json for a rejected report, the failed checks saying expected and found', async () => {
    const r = await tessera(
      '--report', f('neg-milan-vcek-genoa-ask-mstav/report.bin'),
      '--vcek', f('neg-milan-vcek-genoa-ask-mstav/vcek.der'),
      '--cert-chain', f('neg-milan-vcek-genoa-ask-mstav/cert_chain.pem'),
      '--at', '2026-02-06T00:00:00Z',
      '--json',
    );
    expect(r.code).toBe(1);
    const result = JSON.parse(r.stdout) as VerificationResult;
    expect(result.verified).toBe(false);
    expect(result.product).toBe('Milan');
    // The Genoa ARK sent is the one that signed the Genoa ASK: the chain is Genoa's, and the
    // Milan report is refused against it, naming both products.
    const mismatch = result.checks.find((c) => c.id === 'snp.chain.anchor-product')!;
    expect(mismatch).toMatchObject({ ok: false, expected: { product: 'Genoa', by: 'ARK-Genoa', sha256: '4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1' }, found: { product: 'Milan' } });
    expect(result.collateral.map((c) => c.source)).toContain('input');
  });

  it('accepts a PEM VCEK and uses the embedded ASK when no chain is given (Turin, v5)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-snp-'));
    const pem = `-----BEGIN CERTIFICATE-----\n${(await import('node:fs')).readFileSync(f('turin-v5-mstav/vcek.der')).toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
    writeFileSync(join(dir, 'vcek.pem'), pem);
    const r = await tessera('--report', f('turin-v5-mstav/report.bin'), '--vcek', join(dir, 'vcek.pem'), '--at', '2026-02-06T00:00:00Z');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('reported TCB fmc 1, bootloader 1, tee 1, snp 4, microcode 81');
  });

  it("exits 1 when the chain's root is not the pinned ARK (its ark.pem is the ASK)", async () => {
    const r = await tessera(
      '--report', f('neg-milan-ark-is-ask-mstav/report.bin'),
      '--vcek', f('neg-milan-ark-is-ask-mstav/vcek.der'),
      '--cert-chain', f('neg-milan-ark-is-ask-mstav/cert_chain.pem'),
      '--at', '2026-02-06T00:00:00Z',
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('FAIL  snp.chain.ark-pinned: The supplied root (SEV-Milan) is not the pinned ARK-Milan');
  });

  it('exits 1 for an expired signer (the VLEK, a year later), naming its validity', async () => {
    const r = await tessera(
      '--report', f('milan-v2-vlek-aws-constellation/report.bin'),
      '--vlek', f('milan-v2-vlek-aws-constellation/vlek.der'),
      '--at', '2026-01-01T00:00:00Z',
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL {2}snp\.chain\.validity: Not valid at 2026-01-01T00:00:00\.000Z: VLEK valid 2024-05-05/);
  });

  it('exits 2 with one line for a truncated report', async () => {
    const r = await tessera('--report', f('neg-milan-truncated-report-constellation/report.bin'), '--vcek', f('neg-milan-truncated-report-constellation/vcek.der'));
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('tessera: An SEV-SNP attestation report is exactly 1184 bytes; this one is 1104. (snp_report_length)\n');
    expect(r.stdout).toBe('');
  });

  it('exits 2 for PEM garbage as the VCEK, an empty report, a missing file, and usage errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-snp-'));
    writeFileSync(join(dir, 'garbage.pem'), '-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n');
    writeFileSync(join(dir, 'empty.bin'), '');
    const runs = [
      await tessera('--report', f('milan-v3-mstav/report.bin'), '--vcek', join(dir, 'garbage.pem')),
      await tessera('--report', join(dir, 'empty.bin'), '--vcek', f('milan-v3-mstav/vcek.der')),
      await tessera('--report', join(dir, 'absent.bin'), '--vcek', f('milan-v3-mstav/vcek.der')),
      await tessera('--report', f('milan-v3-mstav/report.bin'), '--vcek', f('milan-v3-mstav/vcek.der'), '--at', 'yesterday'),
      await tessera('--vcek', f('milan-v3-mstav/vcek.der')),
    ];
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(2);
      noStack(r);
    }
    expect(runs[0]!.stderr).toContain('pem_malformed');
    expect(runs[1]!.stderr).toContain('this one is 0. (snp_report_length)');
    expect(runs[2]!.stderr).toContain('cannot read the report');
    expect(runs[3]!.stderr).toContain('--at must be an ISO-8601 time');
    expect(runs[4]!.stderr).toContain("required option '--report <file>'");
  });

  it('without --vcek/--vlek exits 2 and says a certificate is needed', async () => {
    // --offline with an empty cache: the test must not reach AMD KDS.
    const cache = join(mkdtempSync(join(tmpdir(), 'tessera-snp-cli-')), 'collateral.json');
    const r = await tessera('--report', f('milan-v3-mstav/report.bin'), '--offline', '--cache', cache);
    expect(r.code).toBe(2);
    noStack(r);
    expect(r.stderr).toContain('The VCEK certificate that signed this report is needed');
    expect(r.stderr).toContain('--vcek FILE');
  });
});
