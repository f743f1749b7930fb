// The TCB Signing certificate of TCB Info / QE Identity is judged by one rule on import of a
// bundle and on verification of a quote (verifier/tdx/verify-tcb-signer.ts): its CN contains
// "SGX TCB Signing", as Intel's QVL TCBSigningChain.cpp requires, and it chains to a pinned
// root. Import used to demand the exact CN "Intel SGX TCB Signing", rejecting documents that
// verification accepts.

import { webcrypto, type KeyObject } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TrustAnchors } from '../../verifier/anchors.ts';
import type { CollateralEntry } from '../../verifier/collateral/store.ts';
import { verifyCollateralEntry } from '../../verifier/collateral/verify-entry.ts';
import type { IntelCollateral } from '../../verifier/evidence.ts';
import { verifyIntelQuote } from '../../verifier/tdx/verify-evidence.ts';
import { SIMULATOR_FMSPC, certificatesPem, createSimulatorChain, type SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { simulatorAnchors } from '../../verifier/testing/simulator-anchors.ts';
import { buildTdxQuote } from '../../verifier/testing/tdx-quote-builder.ts';
import { x509 } from '../../verifier/x509/peculiar.ts';

const NOW = new Date('2026-03-01T12:00:00Z');
const INTEL_DN = 'O=Intel Corporation, L=Santa Clara, ST=CA, C=US';

let chain: SimulatorChain;
let anchors: TrustAnchors;
let quote: Uint8Array;

beforeAll(async () => {
  chain = await createSimulatorChain({ now: NOW, rsaBits: 2048 });
  anchors = simulatorAnchors(chain);
  quote = buildTdxQuote(chain).quote;
});

type SigningKey = Parameters<typeof x509.X509CertificateGenerator.create>[0] extends { signingKey: infer K } ? K : never;

/** The simulator's TCB Signing certificate (same key, so its documents still verify) re-issued by its root under `cn`. */
async function signerNamed(cn: string, rootKey: KeyObject = chain.intel.rootKey): Promise<Buffer> {
  const original = new x509.X509Certificate(chain.intel.tcbSigning);
  const root = new x509.X509Certificate(chain.intel.root);
  const key = await webcrypto.subtle.importKey('pkcs8', rootKey.export({ format: 'der', type: 'pkcs8' }), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: original.serialNumber,
    subject: `CN=${cn}, ${INTEL_DN}`,
    issuer: root.subjectName,
    notBefore: original.notBefore,
    notAfter: original.notAfter,
    publicKey: original.publicKey,
    extensions: original.extensions,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as webcrypto.EcdsaParams,
    signingKey: key as unknown as SigningKey,
  });
  return Buffer.from(cert.rawData);
}

function imported(issuerChain: string) {
  const entry: CollateralEntry = {
    key: `intel-tcb-info/tdx/${SIMULATOR_FMSPC}`,
    kind: 'intel-tcb-info',
    bytes: Buffer.from(chain.intel.tcbInfo),
    issuerChain,
    source: 'intel-pcs',
    fetchedAt: NOW,
    immutable: false,
  };
  return verifyCollateralEntry({ kind: 'intel-tcb-info', tee: 'tdx', fmspc: SIMULATOR_FMSPC }, entry, anchors, NOW);
}

function verified(issuerChain: string) {
  const collateral: IntelCollateral = {
    tcbInfo: chain.intel.tcbInfo,
    tcbInfoIssuerChain: issuerChain,
    qeIdentity: chain.intel.qeIdentity,
    qeIdentityIssuerChain: certificatesPem(chain.intel.tcbSigning, chain.intel.root),
    pckCrl: chain.intel.pckCrl,
    rootCaCrl: chain.intel.rootCaCrl,
  };
  return verifyIntelQuote(quote, collateral, { at: NOW, anchors: anchors.intel });
}

describe('the TCB Signing certificate: one rule for import and verification', () => {
  it('accepts the certificate as Intel issues it, in both', () => {
    const pem = certificatesPem(chain.intel.tcbSigning, chain.intel.root);
    expect(imported(pem)).toEqual({ ok: true });
    expect(verified(pem).verified).toBe(true);
  });

  it('accepts a CN that contains "SGX TCB Signing" (QVL commonNameContains), in both', async () => {
    const pem = certificatesPem(await signerNamed('Intel SGX TCB Signing 2'), chain.intel.root);
    expect(imported(pem)).toEqual({ ok: true });
    const r = verified(pem);
    expect(r.checks.find((c) => c.id === 'tdx.collateral.tcb-info.chain')).toMatchObject({ ok: true });
    expect(r.verified).toBe(true);
  });

  it('refuses a CN without "SGX TCB Signing", though signed by the pinned root, in both', async () => {
    const pem = certificatesPem(await signerNamed('Intel SGX Signing'), chain.intel.root);
    expect(imported(pem)).toEqual({ ok: false, reason: 'its issuer chain starts with "Intel SGX Signing", not "Intel SGX TCB Signing"' });
    const r = verified(pem);
    expect(r.checks.filter((c) => !c.ok).map((c) => c.id)).toEqual(['tdx.collateral.tcb-info.chain', 'tdx.collateral.tcb-info.signature']);
    expect(r.checks.find((c) => c.id === 'tdx.collateral.tcb-info.chain')).toMatchObject({ found: 'Intel SGX Signing' });
  });

  it('refuses a TCB Signing CN signed by another key than the pinned root, in both', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const pem = certificatesPem(await signerNamed('Intel SGX TCB Signing', other), chain.intel.root);
    expect(imported(pem)).toMatchObject({ ok: false, reason: expect.stringContaining('is not signed by a pinned Intel SGX Root CA key') });
    expect(verified(pem).checks.filter((c) => !c.ok).map((c) => c.id)).toEqual(['tdx.collateral.tcb-info.chain']);
  });
});
