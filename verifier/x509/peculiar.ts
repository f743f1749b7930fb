// The one door to @peculiar/x509 (certificate and CRL *creation*: the simulator and test
// CAs). It needs a Reflect metadata polyfill (tsyringe) and a WebCrypto provider before
// first use; importing it from here guarantees both. Verification never goes through it:
// that is node:crypto, synchronous, in certificate.ts and crl.ts.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
