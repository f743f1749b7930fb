// The Intel SGX Root CA: the one trust anchor of every DCAP quote (SGX and TDX), pinned here
// by its key. Intel's own QVL sample data ships a *test* root with the same subject DN and a
// different key, so a name match means nothing: chains are verified with this key, and any
// root certificate the evidence carries must have this exact SubjectPublicKeyInfo.
// Source: https://certificates.trustedservices.intel.com/Intel_SGX_Provisioning_Certification_RootCA.pem
// (byte-identical copies in google/go-tdx-guest, Phala-Network/dcap-qvl, automata-network/dcap-rs).

import { createHash } from 'node:crypto';
import type { IntelAnchor } from '../anchors.ts';
import { parseCertificateDer, type Certificate } from '../x509/certificate.ts';

/** SHA-256 of the certificate DER. */
export const INTEL_SGX_ROOT_CA_SHA256 = '44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3';
/** SHA-256 of its SubjectPublicKeyInfo DER: the pin. */
export const INTEL_SGX_ROOT_CA_SPKI_SHA256 = 'a0af031289f5d5d4132f9186068a7fc13628633ba235777472e29b6b6c67a49e';

const INTEL_SGX_ROOT_CA_DER = Buffer.from(
  [
    'MIICjzCCAjSgAwIBAgIUImUM1lqdNInzg7SVUr9QGzknBqwwCgYIKoZIzj0EAwIw',
    'aDEaMBgGA1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENv',
    'cnBvcmF0aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJ',
    'BgNVBAYTAlVTMB4XDTE4MDUyMTEwNDUxMFoXDTQ5MTIzMTIzNTk1OVowaDEaMBgG',
    'A1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENvcnBvcmF0',
    'aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJBgNVBAYT',
    'AlVTMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEC6nEwMDIYZOj/iPWsCzaEKi7',
    '1OiOSLRFhWGjbnBVJfVnkY4u3IjkDYYL0MxO4mqsyYjlBalTVYxFP2sJBK5zlKOB',
    'uzCBuDAfBgNVHSMEGDAWgBQiZQzWWp00ifODtJVSv1AbOScGrDBSBgNVHR8ESzBJ',
    'MEegRaBDhkFodHRwczovL2NlcnRpZmljYXRlcy50cnVzdGVkc2VydmljZXMuaW50',
    'ZWwuY29tL0ludGVsU0dYUm9vdENBLmRlcjAdBgNVHQ4EFgQUImUM1lqdNInzg7SV',
    'Ur9QGzknBqwwDgYDVR0PAQH/BAQDAgEGMBIGA1UdEwEB/wQIMAYBAf8CAQEwCgYI',
    'KoZIzj0EAwIDSQAwRgIhAOW/5QkR+S9CiSDcNoowLuPRLsWGf/Yi7GSX94BgwTwg',
    'AiEA4J0lrHoMs+Xo5o/sX6O9QWxHRAvZUGOdRQ7cvqRXaqI=',
  ].join(''),
  'base64',
);

const spkiCache = new WeakMap<Certificate, string>();

/** SHA-256 (hex) of a certificate's SubjectPublicKeyInfo DER: how anchors are compared. */
export function spkiSha256(cert: Certificate): string {
  let hit = spkiCache.get(cert);
  if (hit === undefined) {
    hit = createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
    spkiCache.set(cert, hit);
  }
  return hit;
}

// Refuse to start with a root that is not the pinned one (a corrupted or edited build).
const embedded = parseCertificateDer(INTEL_SGX_ROOT_CA_DER, 'embedded Intel SGX Root CA');
if (embedded.sha256 !== INTEL_SGX_ROOT_CA_SHA256 || spkiSha256(embedded) !== INTEL_SGX_ROOT_CA_SPKI_SHA256) {
  throw new Error('The embedded Intel SGX Root CA does not match its pinned SHA-256: the build is corrupt.');
}

export const INTEL_ANCHORS: IntelAnchor[] = Object.freeze([
  Object.freeze({ rootDer: new Uint8Array(INTEL_SGX_ROOT_CA_DER) }),
]) as IntelAnchor[];
