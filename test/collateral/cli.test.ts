// `tessera collateral` as an operator runs it: a real process against the fake vendors.

import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tesseraInScratchDir } from '../support/cli.ts';
import { intelCase, snpCase, useFakeVendors } from './fake-vendors.ts';

const { kds, pcs } = useFakeVendors();
const { dir, tessera } = tesseraInScratchDir('tessera-cli-collateral-');

describe('tessera collateral', () => {
  it('fetch --quote, export, import into an empty cache at the air-gapped site, list', async () => {
    const c = intelCase('phala-b0c06f-v4-uptodate');
    pcs.serveCase(c.name);
    const cache = join(dir, 'connected.json');
    const at = c.verifyAt.toISOString();
    const fetched = await tessera('collateral', 'fetch', '--quote', join(c.dir, 'quote.bin'), '--pcs-url', pcs.url, '--cache', cache, '--at', at);
    expect(fetched.stderr).toBe('');
    expect(fetched.stdout).toBe(
      [
        'fetched   Intel TDX TCB Info for FMSPC b0c06f000000',
        'fetched   Intel TD_QE Identity',
        'fetched   Intel SGX PCK Platform CA CRL',
        'fetched   Intel SGX Root CA CRL',
        `4 of 4 documents in ${cache}`,
        '',
      ].join('\n'),
    );
    expect(fetched.code).toBe(0);

    const bundle = join(dir, 'bundle.json');
    const exported = await tessera('collateral', 'export', '--out', bundle, '--cache', cache);
    expect(exported.code).toBe(0);
    expect(exported.stdout).toMatch(new RegExp(`^wrote 4 documents to ${bundle}\n`));

    const site = join(dir, 'site', 'cache.json');
    const imported = await tessera('collateral', 'import', bundle, '--cache', site, '--at', at);
    expect(imported.code).toBe(0);
    expect(imported.stdout).toContain('loaded    Intel TDX TCB Info for FMSPC b0c06f000000\n');
    expect(imported.stdout).toContain(`4 loaded, 0 kept (newer in the cache), 0 rejected, verified at ${at} into ${site}\n`);

    const listed = await tessera('collateral', 'list', '--cache', site, '--at', at);
    expect(listed.stdout).toContain('Intel TD_QE Identity: fresh until 2025-07-19T10:32:27.000Z; from bundle');
    expect(listed.stdout).toMatch(/4 documents in /);
  });

  it('fetch --report gets the VCEK and chain; the CRL AMD never had recorded is reported missing (exit 3)', async () => {
    const c = snpCase('turin-v5-mstav');
    const cache = join(dir, 'snp.json');
    const r = await tessera('collateral', 'fetch', '--report', join(c.dir, 'report.bin'), '--kds-url', kds.url, '--cache', cache, '--at', c.validAt.toISOString());
    expect(r.stdout).toContain('fetched   AMD Turin VCEK for chip 59790fb1c39f35c1… at TCB fmc=1,bl=1,tee=1,snp=4,ucode=81\n');
    expect(r.stdout).toContain('fetched   AMD Turin VCEK certificate chain (ASK and ARK)\n');
    expect(r.stdout).toMatch(/MISSING {3}The AMD Turin VCEK CRL is not in the collateral cache and could not be fetched: Could not fetch the AMD Turin VCEK CRL from http:\/\/127\.0\.0\.1:\d+\/vcek\/v1\/Turin\/crl: the server answered HTTP 404 Not Found\./);
    expect(r.stdout).toContain(`2 of 3 documents in ${cache}\n`);
    expect(r.code).toBe(3);
  });

  it('usage errors exit 2 with one line, and import refuses a file that is not a bundle', async () => {
    const none = await tessera('collateral', 'fetch', '--tee', 'tdx');
    expect(none.code).toBe(2);
    expect(none.stderr).toBe('tessera: give exactly one of --fmspc HEX (with --tee), --quote FILE or --report FILE\n');
    const notBundle = await tessera('collateral', 'import', join(intelCase('phala-b0c06f-v4-uptodate').dir, 'tcb_info.json'), '--cache', join(dir, 'x.json'));
    expect(notBundle.code).toBe(2);
    expect(notBundle.stderr).toMatch(/^tessera: The bundle is not a tessera-collateral v1 file .*\(collateral_file_malformed\)\n$/);
    expect(existsSync(join(dir, 'x.json'))).toBe(false);
  });

  it('export of an empty cache exits 2 and writes no bundle (an empty one would only fail later, offline)', async () => {
    const out = join(dir, 'empty-bundle.tcol');
    const cache = join(dir, 'never-filled.json');
    const r = await tessera('collateral', 'export', '--out', out, '--cache', cache);
    expect(r.stderr).toBe(`tessera: the collateral cache ${cache} is empty: run \`tessera collateral fetch\` first\n`);
    expect(r.stdout).toBe('');
    expect(r.code).toBe(2);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.tmp`)).toBe(false);
  });

  it('refuses a bad --timeout, a non-http(s) --pcs-url and --fmspc without --tee before touching the network or the cache', async () => {
    const cache = join(dir, 'untouched.json');
    const fmspc = ['collateral', 'fetch', '--fmspc', 'b0c06f000000', '--cache', cache];
    const timeout = await tessera(...fmspc, '--tee', 'tdx', '--timeout', '0');
    expect(timeout.stderr).toBe('tessera: --timeout must be a positive number of milliseconds, not "0"\n');
    expect(timeout.code).toBe(2);
    const url = await tessera(...fmspc, '--tee', 'tdx', '--pcs-url', 'ftp://pcs.example');
    expect(url.stderr).toBe('tessera: --pcs-url must be an http(s) URL, not "ftp://pcs.example"\n');
    expect(url.code).toBe(2);
    const noTee = await tessera(...fmspc);
    expect(noTee.stderr).toBe('tessera: --fmspc needs --tee tdx|sgx\n');
    expect(noTee.code).toBe(2);
    expect(existsSync(cache)).toBe(false);
  });
});
