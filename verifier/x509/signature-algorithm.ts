// Verifying a raw X.509 signature (a CRL's, whose signature node:crypto cannot check for
// us) from its AlgorithmIdentifier. Only the algorithms AMD and Intel actually use are
// accepted; anything else fails closed.

import { constants, verify, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import type { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { RsaSaPssParams } from '@peculiar/asn1-rsa';

const ECDSA: Record<string, string> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};
const RSA_PKCS1: Record<string, string> = {
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};
const HASH_OIDS: Record<string, string> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
const RSA_PSS = '1.2.840.113549.1.1.10';

/** True when `signature` over `data` verifies under `key` with algorithm `alg`. Never throws. */
export function verifyWithAlgorithm(alg: AlgorithmIdentifier, data: Uint8Array, signature: Uint8Array, key: KeyObject): boolean {
  try {
    const ecdsaHash = ECDSA[alg.algorithm];
    if (ecdsaHash) return verify(ecdsaHash, data, { key, dsaEncoding: 'der' }, signature);
    const rsaHash = RSA_PKCS1[alg.algorithm];
    if (rsaHash) return verify(rsaHash, data, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
    if (alg.algorithm === RSA_PSS && alg.parameters) {
      // RFC 4055: hash and salt length come from the parameters (AMD: SHA-384, salt 48).
      const params = AsnConvert.parse(alg.parameters, RsaSaPssParams);
      const hash = HASH_OIDS[params.hashAlgorithm.algorithm];
      if (!hash) return false;
      return verify(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: params.saltLength }, signature);
    }
    return false;
  } catch {
    return false;
  }
}
