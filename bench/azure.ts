// Azure vTPM (az-snp-vtpm) verification throughput on one core, on the real trustee vector
// (test/fixtures/az-snp-vtpm/trustee/evidence-v2.json, at its pinned time, with its nonce),
// printed next to the rate of the two bare signature verifies every such evidence needs,
// measured in the same run with the same keys and bytes: one RSA-2048 RSASSA-PKCS1-v1_5
// SHA-256 verify (the TPM quote by HCLAkPub) plus one ECDSA P-384 / SHA-384 verify (the SNP
// report by the VCEK). The verification measured is what a server does per request once the
// certificate chain is cached: decode the agent's JSON, parse the HCL report and the runtime
// data (a JWK import), verify the SNP report and its chain, the TPM quote, and build the claims.

import { verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseHclReport } from '../verifier/azure/abi/hcl-report.ts';
import { parseTpmSignature } from '../verifier/azure/abi/tpmt-signature.ts';
import { azureEvidenceFromJson } from '../verifier/azure/evidence-json.ts';
import { parseRuntimeData } from '../verifier/azure/runtime-data.ts';
import type { AzSnpVtpmEvidence } from '../verifier/evidence.ts';
import { parseReport } from '../verifier/snp/abi/report.ts';
import { signatureToP1363 } from '../verifier/snp/verify-signature.ts';
import { verifyEvidence } from '../verifier/verify-evidence.ts';
import { parseCertificateDer } from '../verifier/x509/certificate.ts';

const FILE = 'evidence-v2.json';
const ROUNDS = 11;
const ROUND_MS = 300;

async function rate(fn: () => void | Promise<void>): Promise<number> {
  const start = performance.now();
  let n = 0;
  let elapsed = 0;
  do {
    for (let i = 0; i < 10; i++) await fn();
    n += 10;
    elapsed = performance.now() - start;
  } while (elapsed < ROUND_MS);
  return (n * 1000) / elapsed;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(): Promise<void> {
  const dir = new URL('../test/fixtures/az-snp-vtpm/trustee/', import.meta.url);
  const meta = JSON.parse(readFileSync(new URL('case.json', dir), 'utf8')) as { valid_at: string; cases: Record<string, { expected_nonce_hex: string }> };
  const at = new Date(meta.valid_at);
  const nonce = Buffer.from(meta.cases[FILE]!.expected_nonce_hex, 'hex');
  const text = readFileSync(new URL(FILE, dir), 'utf8');

  // The bare operations, on the evidence's own keys, bytes and signatures.
  const evidence = azureEvidenceFromJson('az-snp-vtpm', JSON.parse(text)) as AzSnpVtpmEvidence;
  const hcl = parseHclReport(evidence.hclReport);
  if (!hcl.ok) throw new Error(hcl.problem.detail);
  const rd = parseRuntimeData(hcl.report.runtimeData);
  if (!rd.ok) throw new Error(rd.detail);
  const tpmSig = parseTpmSignature(evidence.tpmQuote.signature, rd.data.akModulusBytes);
  if (!tpmSig.ok) throw new Error(tpmSig.detail);
  const report = parseReport(hcl.report.hwReport);
  const snpSig = signatureToP1363(report.signatureR, report.signatureS);
  if (typeof snpSig === 'string') throw new Error(snpSig);
  const vcekKey = parseCertificateDer(evidence.certificates!.vcek!).publicKey;
  const ak = rd.data.ak;
  const message = evidence.tpmQuote.message;
  const bare = (): void => {
    if (!verify('sha256', message, ak, tpmSig.signature)) throw new Error('bare RSA verify failed');
    if (!verify('sha384', report.signed, { key: vcekKey, dsaEncoding: 'ieee-p1363' }, snpSig)) throw new Error('bare ECDSA verify failed');
  };
  const full = async (): Promise<void> => {
    const e = azureEvidenceFromJson('az-snp-vtpm', JSON.parse(text));
    if (!(await verifyEvidence(e, { at, nonce })).verified) throw new Error('verification failed');
  };

  // Warm up: fills the certificate caches, and lets V8 optimise.
  for (let i = 0; i < 100; i++) {
    bare();
    await full();
  }
  const bareRates: number[] = [];
  const fullRates: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Short interleaved rounds, each ratio taken between neighbours, as bench/snp.ts.
    const b = await rate(bare);
    const f = await rate(full);
    bareRates.push(b);
    fullRates.push(f);
    ratios.push(f / b);
  }
  console.log(`az-snp-vtpm (trustee ${FILE}, Milan VCEK, chain cached), one core, median of ${ROUNDS} interleaved rounds:`);
  console.log(`  bare RSA-2048 PKCS#1 v1.5 SHA-256 + ECDSA P-384 verify  ${median(bareRates).toFixed(0).padStart(6)} /s`);
  console.log(`  tessera verifyEvidence (JSON decode included)           ${median(fullRates).toFixed(0).padStart(6)} /s`);
  console.log(`  ratio (median of paired rounds)                         ${median(ratios).toFixed(2).padStart(6)}x`);
}
