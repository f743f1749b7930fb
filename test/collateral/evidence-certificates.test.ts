// The certificates a guest sends with its report (configfs-tsm auxblob, extended report)
// are used as they are: no VCEK or cert_chain request reaches AMD KDS (issue 13, auxblob).

import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { verifyEvidence } from '../../verifier/verify-evidence.ts';
import { CachingCollateralSource } from '../../verifier/collateral/caching-source.ts';
import { MemoryCollateralStore } from '../../verifier/collateral/memory-store.ts';
import { VendorCollateralSource } from '../../verifier/collateral/vendor-source.ts';
import { fastHttp, vcekCases, useFakeVendors } from './fake-vendors.ts';

const { kds, pcs } = useFakeVendors();
const der = (file: string) => new Uint8Array(new X509Certificate(readFileSync(file)).raw);

describe('certificates carried by the evidence', () => {
  it('verifies with the VCEK, ASK and ARK of the evidence and asks KDS for neither VCEK nor cert_chain', async () => {
    const c = vcekCases().find((x) => x.name === 'turin-v5-mstav')!;
    const upstream = new VendorCollateralSource({ kds: { baseUrl: kds.url }, pcs: { baseUrl: pcs.url }, http: fastHttp() });
    const source = new CachingCollateralSource({ store: new MemoryCollateralStore(), upstream, now: () => c.validAt });
    const before = kds.requests.length;
    const certificates = { vcek: new Uint8Array(readFileSync(join(c.dir, 'vcek.der'))), ask: der(join(c.dir, 'ask.pem')), ark: der(join(c.dir, 'ark.pem')) };
    const result = await verifyEvidence({ tee: 'sev-snp', report: new Uint8Array(readFileSync(join(c.dir, 'report.bin'))), certificates }, { at: c.validAt, collateral: source });
    expect(result.verified, JSON.stringify(result.checks.filter((x) => !x.ok))).toBe(true);
    const fetched = kds.requests.slice(before).map((r) => String(r));
    expect(fetched.filter((u) => !u.includes('/crl'))).toEqual([]);
    expect(result.collateral.find((u) => u.kind === 'vcek')?.source).toBe('evidence');
  });
});
