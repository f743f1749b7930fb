// The SEV-SNP vectors of test/fixtures/snp, loaded from their case.json files.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { SnpCertificates } from '../../verifier/evidence.ts';
import type { SnpProduct } from '../../verifier/snp/product.ts';
import { parseCertificates } from '../../verifier/x509/certificate.ts';

export const SNP_FIXTURES = new URL('../fixtures/snp/', import.meta.url);

export interface SnpCase {
  name: string;
  dir: string;
  meta: {
    expect: string;
    product: string;
    report_version: number | null;
    signer: 'VCEK' | 'VLEK';
    valid_at: string;
    fields?: Record<string, unknown>;
    signer_cert_extensions?: Record<string, unknown>;
    self_check?: Record<string, unknown>;
  };
  valid: boolean;
  at: Date;
  report: Buffer;
  signer: Buffer;
  /** The case's chain: intermediate then root, in the slots the signer kind uses. */
  certificates: SnpCertificates;
}

export function fixturePath(rel: string): string {
  return new URL(rel, SNP_FIXTURES).pathname;
}

export function loadCase(name: string): SnpCase {
  const dir = fixturePath(`${name}/`);
  const meta = JSON.parse(readFileSync(`${dir}case.json`, 'utf8')) as SnpCase['meta'];
  const signerFile = existsSync(`${dir}vcek.der`) ? 'vcek.der' : 'vlek.der';
  const signer = readFileSync(`${dir}${signerFile}`);
  const [intermediate, root] = parseCertificates(readFileSync(`${dir}cert_chain.pem`), 'cert_chain.pem');
  const certificates: SnpCertificates =
    signerFile === 'vcek.der'
      ? { vcek: signer, ask: intermediate!.der, ark: root!.der }
      : { vlek: signer, asvk: intermediate!.der, ark: root!.der };
  return {
    name,
    dir,
    meta,
    valid: meta.expect === 'valid',
    at: new Date(meta.valid_at),
    report: readFileSync(`${dir}report.bin`),
    signer,
    certificates,
  };
}

export function allCases(): SnpCase[] {
  return readdirSync(SNP_FIXTURES)
    .filter((n) => existsSync(fixturePath(`${n}/case.json`)))
    .sort()
    .map(loadCase);
}

/** AMD's published chain for a product: `ask`/`asvk` and `ark`, DER. */
export function amdRoot(product: SnpProduct, which: 'ark' | 'ask' | 'asvk'): Buffer {
  return parseCertificates(readFileSync(fixturePath(`amd-roots/${product.toLowerCase()}/${which}.pem`)), which)[0]!.der;
}
