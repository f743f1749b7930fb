// The REPORT_DATA binding of DESIGN.md: the hardware report proves both freshness (the
// server's nonce) and possession of the TEE key (its RFC 7638 thumbprint), so a result
// token bound to that key (`cnf`) is useless to anyone without the guest's private key.
//   REPORT_DATA = SHA-512("tessera-attest-v1" || nonce || SHA-256 JWK thumbprint)

import { createHash } from 'node:crypto';
import type { JWK } from 'jose';

export const BINDING_LABEL = 'tessera-attest-v1';

/**
 * The raw 32-byte RFC 7638 SHA-256 thumbprint of an EC public JWK (the TEE key is EC P-256).
 * Computed here rather than with jose's calculateJwkThumbprint because that one goes through
 * WebCrypto's async digest, which costs more than the rest of the binding on the attest hot
 * path; test/binding.test.ts checks that both agree. RFC 7638 section 3.2: the required
 * members of an EC key, lexicographic order, no whitespace.
 */
export function jwkThumbprintBytes(jwk: JWK): Buffer {
  if (jwk.kty !== 'EC' || typeof jwk.crv !== 'string' || typeof jwk.x !== 'string' || typeof jwk.y !== 'string') {
    throw new TypeError('The TEE public key must be an EC JWK with crv, x and y.');
  }
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash('sha256').update(canonical, 'utf8').digest();
}

/** The 64-byte REPORT_DATA that binds `nonce` (raw bytes) and the TEE public key. */
export async function expectedReportData(nonce: Uint8Array, teePublicKey: JWK): Promise<Buffer> {
  const thumbprint = jwkThumbprintBytes(teePublicKey);
  return createHash('sha512').update(BINDING_LABEL, 'utf8').update(nonce).update(thumbprint).digest();
}

// Azure confidential VMs (vTPM): the guest cannot put data into the hardware report (the
// paravisor fills REPORT_DATA with SHA-256 of its runtime data), so freshness and the TEE
// key are proven by the TPM quote's qualifying data (extraData) and the runtime data's
// `user-data` instead. A TPM2B_DATA holds at most sizeof(TPMT_HA) bytes (TPM 2.0 Part 2,
// "TPM2B_DATA"): 50 on a TPM whose largest hash is SHA-384, as on the Azure vTPM, so the
// 64-byte binding above does not fit. The Azure binding is 48 bytes, derived from it:
//   AZURE_NONCE = SHA-384("tessera-attest-azure-v1" || REPORT_DATA)
// It is the TPM nonce, and the first 48 bytes of `user-data` (64 bytes, the rest zero), as
// the CoCo attestation-agent lays out its own report data (trustee az_snp_vtpm, v2 evidence).
// An agent computes it from REPORT_DATA alone, so it still binds the nonce and the TEE key.
export const AZURE_BINDING_LABEL = 'tessera-attest-azure-v1';
export const AZURE_NONCE_LENGTH = 48;

/** The 48-byte TPM nonce (and user-data prefix) of Azure vTPM evidence, from the 64-byte REPORT_DATA binding. */
export function azureNonceFromReportData(reportData: Uint8Array): Buffer {
  if (reportData.length !== 64) throw new RangeError(`REPORT_DATA must be 64 bytes, got ${reportData.length}`);
  return createHash('sha384').update(AZURE_BINDING_LABEL, 'utf8').update(reportData).digest();
}

/** The Azure binding of `nonce` and the TEE public key. */
export async function expectedAzureNonce(nonce: Uint8Array, teePublicKey: JWK): Promise<Buffer> {
  return azureNonceFromReportData(await expectedReportData(nonce, teePublicKey));
}
