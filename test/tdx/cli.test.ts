// `tessera verify tdx|sgx` end to end: the real binary on the real vectors, for exit codes
// (0 verified, 1 rejected, 2 usage or malformed input), the summary and --json.

import { mkdtempSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Run, runTessera } from '../support/cli.ts';
import { byName } from './cases.ts';

const tessera = (...args: string[]): Promise<Run> => runTessera(args, { timeout: 60_000 });

const args = (tee: 'tdx' | 'sgx', name: string, ...extra: string[]): string[] => {
  const c = byName(name);
  return ['verify', tee, '--quote', join(c.dir, 'quote.bin'), '--collateral', c.dir, '--at', c.meta.verify_at, ...extra];
};

// Each run starts node and tsx: slow on a loaded machine, hence the generous timeout.
describe.concurrent('tessera verify tdx|sgx', { timeout: 120_000 }, () => {
  it('exit 0 and a summary naming the TCB status for a verified quote', async () => {
    const r = await tessera(...args('tdx', 'phala-b0c06f-v4-uptodate'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^TDX quote VERIFIED at 2025-07-19T10:00:34.000Z/);
    expect(r.stdout).toContain('TCB status   UpToDate');
    expect(r.stdout).toContain('advisories   none');
    expect(r.stdout).toContain('70 bytes follow the quote');
    expect(r.stderr).toBe('');
  });

  it('exit 0 for an OutOfDate platform, with its advisories (policy judges the status)', async () => {
    const r = await tessera(...args('tdx', 'zkdcap-00806f050000-v4-outofdate'));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('TCB status   OutOfDate');
    expect(r.stdout).toContain('advisories   INTEL-SA-00960, INTEL-SA-00982, INTEL-SA-00986');
  });

  it('exit 1 and the failed check for a rejected quote', async () => {
    const r = await tessera(...args('tdx', 'phala-90c06f-v5-no-tcb-level'));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^TDX quote REJECTED/);
    expect(r.stdout).toContain('FAIL  tdx.tcb.status: No TCB level applies (TcbNotSupported)');
  });

  it('--json prints the full result', async () => {
    const r = await tessera(...args('sgx', 'sgx-phala-00a067110000-v3-config-swhardening', '--json'));
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { verified: boolean; tee: string; tcb: { status: string; advisoryIds: string[] }; checks: unknown[] };
    expect(result).toMatchObject({
      verified: true,
      tee: 'sgx',
      tcb: { status: 'ConfigurationAndSWHardeningNeeded', advisoryIds: ['INTEL-SA-00289', 'INTEL-SA-00615'] },
    });
  });

  it('--no-crl skips the CRL checks and says so', async () => {
    const r = await tessera(...args('tdx', 'phala-near-20a06f-v4-uptodate', '--no-crl', '--json'));
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { warnings: string[]; checks: { id: string }[] };
    expect(result.warnings.some((w) => w.includes('CRL checks were skipped'))).toBe(true);
    expect(result.checks.map((c) => c.id)).not.toContain('tdx.pck.crl');
  });

  it('exit 1 for collateral that has expired at --at', async () => {
    const r = await tessera(...args('tdx', 'gotdx-90c06f-v5-mixed-collateral'));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('FAIL  tdx.collateral.qe-identity.validity');
  });

  it('exit 2, one line, when a collateral document is missing', async () => {
    const c = byName('phala-b0c06f-v4-uptodate');
    const dir = mkdtempSync(join(tmpdir(), 'tessera-tdx-'));
    copyFileSync(join(c.dir, 'tcb_info.json'), join(dir, 'tcb_info.json'));
    const r = await tessera('verify', 'tdx', '--quote', join(c.dir, 'quote.bin'), '--collateral', dir, '--at', c.meta.verify_at);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`tessera: the TCB Info issuer chain is missing: no tcb_info_issuer_chain.pem in ${dir}\n`);
  });

  it('exit 2 with the error code for a malformed quote', async () => {
    const c = byName('phala-b0c06f-v4-uptodate');
    const dir = mkdtempSync(join(tmpdir(), 'tessera-tdx-'));
    writeFileSync(join(dir, 'quote.bin'), c.quote.subarray(0, 700));
    const r = await tessera('verify', 'tdx', '--quote', join(dir, 'quote.bin'), '--collateral', c.dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^tessera: .*\(intel_quote_signature_data_length\)\n$/);
    expect(r.stderr).not.toContain('    at ');
  });

  it('exit 2 for a TDX quote given to verify sgx, and for a bad --at', async () => {
    const wrong = await tessera(...args('sgx', 'phala-b0c06f-v4-uptodate'));
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('use `tessera verify tdx`');
    const badAt = await tessera(...args('tdx', 'phala-b0c06f-v4-uptodate', '--at', 'yesterday'));
    expect(badAt.code).toBe(2);
    expect(badAt.stderr).toContain('--at must be an ISO-8601 time');
  });
});
