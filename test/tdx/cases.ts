// The Intel DCAP vectors of test/fixtures/tdx and test/fixtures/sgx, loaded from their
// case.json files, with their collateral as verifyIntelQuote takes it.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { IntelCollateral } from '../../verifier/evidence.ts';

export const FIXTURES = new URL('../fixtures/', import.meta.url);

export interface IntelCaseMeta {
  name: string;
  verify_at: string;
  expected: { verification: string; tcb_status: string; advisory_ids: string[] };
  quote: { quote_length: number; trailing_bytes: number; version: number; header_qe_svn: number; header_pce_svn: number; qe_vendor_id: string; header_user_data: string };
  pck: { fmspc: string; pceid: string; ppid: string; sgx_tcb_comp_svn: number[]; pcesvn: number; issuer_ca: string; leaf_serial: string };
  report: Record<string, string>;
  qe_report: { isvsvn: number; isvprodid: number; mrsigner: string; mrenclave: string; attributes: string; miscselect: string; report_data: string };
  collateral: {
    tcb_info: { issueDate: string; nextUpdate: string; tcbEvaluationDataNumber: number };
    qe_identity: { issueDate: string; nextUpdate: string; tcbEvaluationDataNumber: number };
    pck_crl?: { nextUpdate: string } | null;
  };
}

export interface IntelCase {
  name: string;
  tee: 'tdx' | 'sgx';
  dir: string;
  meta: IntelCaseMeta;
  at: Date;
  /** expected.verification starts with "success". */
  verified: boolean;
  /** The first word of expected.tcb_status. */
  status: string;
  quote: Buffer;
  collateral: IntelCollateral;
}

export function loadCase(tee: 'tdx' | 'sgx', name: string): IntelCase {
  const dir = new URL(`${tee}/${name}/`, FIXTURES).pathname;
  const text = (f: string): string => readFileSync(`${dir}${f}`, 'utf8');
  const bytes = (f: string): Buffer | undefined => (existsSync(`${dir}${f}`) ? readFileSync(`${dir}${f}`) : undefined);
  const meta = JSON.parse(text('case.json')) as IntelCaseMeta;
  const pckCrl = bytes('pck_crl.der');
  const rootCaCrl = bytes('root_ca_crl.der');
  const pckCrlIssuerChain = bytes('pck_crl_issuer_chain.pem');
  return {
    name,
    tee,
    dir,
    meta,
    at: new Date(meta.verify_at),
    verified: meta.expected.verification.startsWith('success'),
    status: meta.expected.tcb_status.split(' ')[0]!,
    quote: readFileSync(`${dir}quote.bin`),
    collateral: {
      tcbInfo: text('tcb_info.json'),
      tcbInfoIssuerChain: text('tcb_info_issuer_chain.pem'),
      qeIdentity: text('qe_identity.json'),
      qeIdentityIssuerChain: text('qe_identity_issuer_chain.pem'),
      ...(pckCrl ? { pckCrl } : {}),
      ...(pckCrlIssuerChain ? { pckCrlIssuerChain: pckCrlIssuerChain.toString('utf8') } : {}),
      ...(rootCaCrl ? { rootCaCrl } : {}),
    },
  };
}

export function caseNames(tee: 'tdx' | 'sgx'): string[] {
  return readdirSync(new URL(`${tee}/`, FIXTURES))
    .filter((n) => existsSync(new URL(`${tee}/${n}/case.json`, FIXTURES)))
    .sort();
}

export const ALL_CASES: IntelCase[] = [...caseNames('tdx').map((n) => loadCase('tdx', n)), ...caseNames('sgx').map((n) => loadCase('sgx', n))];

export function byName(name: string): IntelCase {
  const c = ALL_CASES.find((x) => x.name === name);
  if (!c) throw new Error(`no vector ${name}`);
  return c;
}
