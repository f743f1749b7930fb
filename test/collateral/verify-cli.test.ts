// `tessera verify` fetching what it is not given: through the collateral cache from the
// fake vendors, or with --offline from the cache alone (filled by a bundle import).

import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Run, runTessera } from '../support/cli.ts';
import { intelCase, snpCase, useFakeVendors } from './fake-vendors.ts';

const { kds, pcs } = useFakeVendors();
const dir = mkdtempSync(join(tmpdir(), 'tessera-verify-fetch-'));

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const tessera = (...args: string[]): Promise<Run> => runTessera(args, { env: { ...process.env, XDG_CACHE_HOME: join(dir, 'xdg') } });

describe('tessera verify without the collateral on the command line', () => {
  it('tdx: fetches from PCS into the cache, then verifies --offline from it; a cold --offline cache says what is missing', async () => {
    const c = intelCase('phala-b0c06f-v4-uptodate');
    pcs.serveCase(c.name);
    const at = c.verifyAt.toISOString();
    const cache = join(dir, 'tdx.json');
    const quote = join(c.dir, 'quote.bin');
    const online = await tessera('verify', 'tdx', '--quote', quote, '--pcs-url', pcs.url, '--cache', cache, '--at', at, '--json');
    expect(online.stderr).toBe('');
    expect(online.code).toBe(0);
    const result = JSON.parse(online.stdout);
    expect(result.verified).toBe(true);
    expect(result.collateral.filter((u: { source: string }) => u.source === 'intel-pcs').map((u: { kind: string }) => u.kind)).toEqual(
      expect.arrayContaining(['tcb-info', 'qe-identity', 'pck-crl', 'root-ca-crl']),
    );

    const before = pcs.requests.length;
    const offline = await tessera('verify', 'tdx', '--quote', quote, '--offline', '--cache', cache, '--at', at);
    expect(offline.code).toBe(0);
    expect(offline.stdout).toMatch(/^TDX quote VERIFIED at /);
    expect(pcs.requests.length).toBe(before);

    const cold = await tessera('verify', 'tdx', '--quote', quote, '--offline', '--cache', join(dir, 'empty.json'), '--at', at);
    expect(cold.code).toBe(2);
    expect(cold.stderr).toBe(
      'tessera: The Intel TDX TCB Info for FMSPC b0c06f000000 is not in the collateral cache and could not be fetched: offline mode never contacts the vendor.\n',
    );
  });

  it('snp: fetches the VCEK from KDS; --offline with a cold cache names the VCEK and how to get it', async () => {
    const c = snpCase('genoa-v3-mstav');
    const at = c.validAt.toISOString();
    const report = join(c.dir, 'report.bin');
    const online = await tessera('verify', 'snp', '--report', report, '--kds-url', kds.url, '--cache', join(dir, 'snp.json'), '--at', at);
    expect(online.stderr).toBe('');
    expect(online.code).toBe(0);
    expect(online.stdout).toMatch(/^SEV-SNP report VERIFIED at /);
    expect(online.stdout).toContain('Revocation was not checked');

    const cold = await tessera('verify', 'snp', '--report', report, '--offline', '--cache', join(dir, 'empty.json'), '--at', at);
    expect(cold.code).toBe(2);
    expect(cold.stderr).toMatch(
      /^tessera: The VCEK certificate that signed this report is needed\. The AMD Genoa VCEK for chip b1e24a27bbc3a4d5… at TCB bl=10,tee=0,snp=23,ucode=84 is not in the collateral cache and could not be fetched: offline mode never contacts the vendor\. Import it with `tessera collateral import BUNDLE`/,
    );
  });
});
