// Intel TDX quote verification throughput on one core with collateral cached (the steady
// state of a server: the same TCB Info, QE Identity, CRLs and PCK chains recur), printed
// next to the rate of the two bare ECDSA P-256 verifies every quote needs (the quote
// signature by the attestation key, the QE report signature by the PCK key), measured in
// the same run with the same keys and bytes. Target (issue 3): ratio >= 0.7. Then
// @phala/dcap-qvl (pure JS port of Phala-Network/dcap-qvl) on the same quote and the same
// collateral, side by side.

import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import type { IntelCollateral } from '../verifier/evidence.ts';
import { parseIntelQuote } from '../verifier/tdx/abi/quote.ts';
import { p256KeyFromRaw, verifyP256 } from '../verifier/tdx/ecdsa-p256.ts';
import { parseSignedJson } from '../verifier/tdx/signed-json.ts';
import { verifyIntelQuote } from '../verifier/tdx/verify-evidence.ts';
import { parsePckChain } from '../verifier/tdx/verify-pck-chain.ts';

const CASE = 'phala-b0c06f-v4-uptodate';
const ROUNDS = 5;
const ROUND_MS = 600;

function rate(fn: () => void, ms = ROUND_MS): number {
  const start = performance.now();
  let n = 0;
  let elapsed = 0;
  do {
    fn();
    n++;
    elapsed = performance.now() - start;
  } while (elapsed < ms);
  return (n * 1000) / elapsed;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface DcapQvl {
  verify(quote: Uint8Array, collateral: Record<string, string>, nowSecs: number): { status: string };
}

export async function run(): Promise<void> {
  const dir = new URL(`../test/fixtures/tdx/${CASE}/`, import.meta.url);
  const text = (f: string): string => readFileSync(new URL(f, dir), 'utf8');
  const meta = JSON.parse(text('case.json')) as { verify_at: string };
  const at = new Date(meta.verify_at);
  const quoteBytes = readFileSync(new URL('quote.bin', dir));
  const collateral: IntelCollateral = {
    tcbInfo: text('tcb_info.json'),
    tcbInfoIssuerChain: text('tcb_info_issuer_chain.pem'),
    qeIdentity: text('qe_identity.json'),
    qeIdentityIssuerChain: text('qe_identity_issuer_chain.pem'),
    pckCrl: readFileSync(new URL('pck_crl.der', dir)),
    pckCrlIssuerChain: text('pck_crl_issuer_chain.pem'),
    rootCaCrl: readFileSync(new URL('root_ca_crl.der', dir)),
  };

  // The bare operations: the same keys (KeyObjects), bytes and signatures.
  const quote = parseIntelQuote(quoteBytes);
  const attestationKey = p256KeyFromRaw(quote.attestationKey)!;
  const pckKey = parsePckChain(quote.certification.pckChainPem).leaf.publicKey;
  const bare = (): void => {
    if (!verifyP256(quote.signedBytes, quote.signature, attestationKey)) throw new Error('bare quote verify failed');
    if (!verifyP256(quote.certification.qeReport.raw, quote.certification.qeReportSignature, pckKey)) throw new Error('bare QE verify failed');
  };
  const full = (): void => {
    const r = verifyIntelQuote(quoteBytes, collateral, { at });
    if (!r.verified || r.tcb?.status !== 'UpToDate') throw new Error('verification failed');
  };

  // The same collateral in @phala/dcap-qvl's shape: the signed inner texts and hex signatures.
  const dcap = createRequire(import.meta.url)('@phala/dcap-qvl') as DcapQvl;
  const tcb = parseSignedJson(collateral.tcbInfo, 'tcbInfo', 'TCB Info', 'bench');
  const qe = parseSignedJson(collateral.qeIdentity, 'enclaveIdentity', 'QE Identity', 'bench');
  const dcapCollateral = {
    pck_crl_issuer_chain: collateral.pckCrlIssuerChain!,
    root_ca_crl: Buffer.from(collateral.rootCaCrl!).toString('hex'),
    pck_crl: Buffer.from(collateral.pckCrl!).toString('hex'),
    tcb_info_issuer_chain: collateral.tcbInfoIssuerChain,
    tcb_info: tcb.signedText,
    tcb_info_signature: tcb.signature.toString('hex'),
    qe_identity_issuer_chain: collateral.qeIdentityIssuerChain,
    qe_identity: qe.signedText,
    qe_identity_signature: qe.signature.toString('hex'),
  };
  const nowSecs = Math.floor(at.getTime() / 1000);
  const peer = (): void => {
    if (dcap.verify(quoteBytes, dcapCollateral, nowSecs).status !== 'UpToDate') throw new Error('dcap-qvl verification failed');
  };

  // Warm up: fills the parse and signature caches, and lets V8 optimise.
  for (let i = 0; i < 2000; i++) {
    bare();
    full();
  }
  const bareRates: number[] = [];
  const fullRates: number[] = [];
  const peerRates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Interleaved rounds, so that noise from other processes hits both alike.
    bareRates.push(rate(bare));
    fullRates.push(rate(full));
  }
  // The peer afterwards: its garbage would otherwise be collected during our rounds.
  for (let i = 0; i < 10; i++) peer();
  for (let r = 0; r < ROUNDS; r++) peerRates.push(rate(peer));
  const b = median(bareRates);
  const f = median(fullRates);
  const p = median(peerRates);
  console.log(`Intel TDX (${CASE}, quote v4, TD 1.0, collateral cached, CRLs checked), one core, median of ${ROUNDS} rounds:`);
  console.log(`  2 bare ECDSA P-256 verifies (node:crypto, KeyObject)  ${b.toFixed(0).padStart(6)} /s`);
  console.log(`  tessera verifyIntelQuote                              ${f.toFixed(0).padStart(6)} /s`);
  console.log(`  ratio to the bare verifies                            ${(f / b).toFixed(2).padStart(6)}x   (target >= 0.70x)`);
  console.log(`  @phala/dcap-qvl verify, same quote and collateral     ${p.toFixed(0).padStart(6)} /s`);
  console.log(`  tessera / dcap-qvl                                    ${(f / p).toFixed(1).padStart(6)}x`);
}
