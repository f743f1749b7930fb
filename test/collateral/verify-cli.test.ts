// `tessera verify` fetching what it is not given: through the collateral cache from the
// fake vendors, or with --offline from the cache alone (filled by a bundle import).

import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tesseraInScratchDir } from '../support/cli.ts';
import { intelCase, snpCase, useFakeVendors } from './fake-vendors.ts';

const { kds, pcs } = useFakeVendors();
const { dir, tessera } = tesseraInScratchDir('tessera-verify-fetch-');

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
      'tessera: The Intel TDX TCB Info for FMSPC b0c06f000000 is not in the collateral cache and could not be fetched: offline mode never contacts the vendor. ' +
        'Import it with `tessera collateral import BUNDLE` (a bundle made by `tessera collateral fetch --quote QUOTE` or `--tee tdx --fmspc HEX`, then `export`, on a connected host), or pass --collateral DIR.\n',
    );
  });

  it('tdx online: a PCS that cannot be reached says to pass --collateral or another --pcs-url', async () => {
    const c = intelCase('phala-b0c06f-v4-uptodate');
    const r = await tessera('verify', 'tdx', '--quote', join(c.dir, 'quote.bin'), '--pcs-url', 'http://127.0.0.1:1', '--timeout', '2000', '--cache', join(dir, 'unreachable.json'), '--at', c.verifyAt.toISOString());
    expect(r.code).toBe(2);
    // TCB Info and QE Identity are fetched together: either may be the one named.
    expect(r.stderr).toMatch(/^tessera: The Intel (TDX TCB Info for FMSPC b0c06f000000|TD_QE Identity) is not in the collateral cache and could not be fetched: .*\. Pass the files with --collateral DIR, or point --pcs-url at a reachable Intel PCS or PCCS \(default https:\/\/api\.trustedservices\.intel\.com\)\.\n$/);
  });

  it('--offline with --kds-url / --pcs-url is refused as a contradiction, before any request or cache file', async () => {
    const s = snpCase('genoa-v3-mstav');
    const t = intelCase('phala-b0c06f-v4-uptodate');
    const cache = join(dir, 'contradiction.json');
    const before = { kds: kds.requests.length, pcs: pcs.requests.length };
    const snp = await tessera('verify', 'snp', '--report', join(s.dir, 'report.bin'), '--offline', '--kds-url', kds.url, '--cache', cache, '--at', s.validAt.toISOString());
    expect(snp.stderr).toBe('tessera: --offline and --kds-url contradict each other: --offline never contacts a vendor; drop one of them\n');
    expect(snp.code).toBe(2);
    // Also when the certificate is given and no fetch would happen: the flags still contradict.
    const withVcek = await tessera('verify', 'snp', '--report', join(s.dir, 'report.bin'), '--vcek', join(s.dir, 'vcek.der'), '--offline', '--kds-url', kds.url, '--at', s.validAt.toISOString());
    expect(withVcek.code).toBe(2);
    const tdx = await tessera('verify', 'tdx', '--quote', join(t.dir, 'quote.bin'), '--offline', '--pcs-url', pcs.url, '--cache', cache, '--at', t.verifyAt.toISOString());
    expect(tdx.stderr).toBe('tessera: --offline and --pcs-url contradict each other: --offline never contacts a vendor; drop one of them\n');
    expect(tdx.code).toBe(2);
    const withDir = await tessera('verify', 'tdx', '--quote', join(t.dir, 'quote.bin'), '--collateral', t.dir, '--offline', '--pcs-url', pcs.url, '--at', t.verifyAt.toISOString());
    expect(withDir.code).toBe(2);
    expect({ kds: kds.requests.length, pcs: pcs.requests.length }).toEqual(before);
    expect(existsSync(cache)).toBe(false);
  });

  it('snp --product is checked against the report, never trusted over it', async () => {
    // genoa-v3-azure-trustee: a version 3 report whose CPUID names Genoa.
    const g = snpCase('genoa-v3-azure-trustee');
    const at = g.validAt.toISOString();
    const before = kds.requests.length;
    const online = await tessera('verify', 'snp', '--report', join(g.dir, 'report.bin'), '--product', 'Milan', '--kds-url', kds.url, '--cache', join(dir, 'product.json'), '--at', at);
    expect(online.stderr).toBe('tessera: the report is from a Genoa processor (its CPUID), not Milan (--product)\n');
    expect(online.code).toBe(2);
    expect(kds.requests.length).toBe(before);
    const given = await tessera('verify', 'snp', '--report', join(g.dir, 'report.bin'), '--vcek', join(g.dir, 'vcek.der'), '--product', 'Milan', '--at', at);
    expect(given.stderr).toBe('tessera: the report is from a Genoa processor (its CPUID), not Milan (--product)\n');
    expect(given.stdout).toBe('');
    expect(given.code).toBe(2);
    const agrees = await tessera('verify', 'snp', '--report', join(g.dir, 'report.bin'), '--vcek', join(g.dir, 'vcek.der'), '--product', 'Genoa', '--at', at);
    expect(agrees.code).toBe(0);
    expect(agrees.stdout).toContain('product      Genoa, signer VCEK, report version 3');
    // milan-v2-virtee: a version 2 report names no product; its VCEK says Milan.
    const m = snpCase('milan-v2-virtee');
    const v2 = await tessera('verify', 'snp', '--report', join(m.dir, 'report.bin'), '--vcek', join(m.dir, 'vcek.der'), '--product', 'Genoa', '--at', m.validAt.toISOString());
    expect(v2.stderr).toBe('tessera: the report is from a Milan processor (its signer certificate), not Genoa (--product)\n');
    expect(v2.stdout).toBe('');
    expect(v2.code).toBe(2);
    const unknown = await tessera('verify', 'snp', '--report', join(m.dir, 'report.bin'), '--vcek', join(m.dir, 'vcek.der'), '--product', 'Naples', '--at', m.validAt.toISOString());
    expect(unknown.stderr).toBe('tessera: --product must be one of Milan, Genoa, Turin, not "Naples"\n');
    expect(unknown.code).toBe(2);
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
