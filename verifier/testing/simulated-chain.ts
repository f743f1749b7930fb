// The development simulator's vendor chains: a simulated AMD chain (ARK -> ASK -> VCEK for
// Milan, with AMD's VCEK extensions) and a simulated Intel chain (SGX Root CA -> PCK
// Platform CA -> PCK leaf with the SGX extension, a TCB signing certificate, and the signed
// TCB Info / QE Identity / CRLs for the simulated FMSPC). Certificates copy the real ones'
// shape (names, algorithms, extensions, encodings) so the production verifier code runs on
// simulated evidence unchanged; only the root keys differ, and a server trusts these roots
// only in development mode (verifier/testing/simulator-anchors.ts marks them simulated).
// Like go-sev-guest's `testing` package. Creation is async (WebCrypto, done once); the
// chain is then used synchronously with node:crypto KeyObjects.

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, webcrypto, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import type { SnpTcbParts } from '../collateral/source.ts';
import { EvidenceFormatError } from '../errors.ts';
import { x509 } from '../x509/peculiar.ts';
import { AMD_OID } from '../snp/extensions.ts';
import { SGX_EXTENSION_OID } from '../tdx/pck-extensions.ts';
import { der } from './der.ts';

export interface SimulatedAmdChain {
  product: 'Milan';
  /** ARK, ASK and VCEK certificates, DER. */
  ark: Buffer;
  ask: Buffer;
  vcek: Buffer;
  arkKey: KeyObject;
  askKey: KeyObject;
  /** EC P-384: signs attestation reports. */
  vcekKey: KeyObject;
  /** The ARK-signed CRL (AMD KDS /vcek/v1/Milan/crl), DER. */
  crl: Buffer;
  /** CHIP_ID, 64 bytes: the VCEK's hwID extension. */
  chipId: Buffer;
  /** The TCB the VCEK was issued for: reports must carry it as REPORTED_TCB. */
  tcb: SnpTcbParts;
}

/** The simulated TD Quoting Enclave, as its QE report and Intel's QE Identity describe it. */
export interface SimulatedQe {
  mrsigner: Buffer;
  mrenclave: Buffer;
  isvProdId: number;
  isvSvn: number;
  /** SGX ATTRIBUTES, 16 bytes. */
  attributes: Buffer;
  miscselect: number;
}

export interface SimulatedIntelChain {
  /** Root CA, PCK Platform CA, PCK leaf and TCB signing certificates, DER. */
  root: Buffer;
  pckCa: Buffer;
  pck: Buffer;
  tcbSigning: Buffer;
  rootKey: KeyObject;
  pckCaKey: KeyObject;
  /** Signs QE reports. */
  pckKey: KeyObject;
  tcbSigningKey: KeyObject;
  /** The QE's attestation key (EC P-256): signs quotes. */
  attestationKey: KeyObject;
  fmspc: Buffer;
  pceId: Buffer;
  ppid: Buffer;
  /** The PCK certificate's TCB: SGX TCB component SVNs 1..16, PCESVN, CPUSVN. */
  sgxTcbComponents: number[];
  pceSvn: number;
  cpuSvn: Buffer;
  /** The TEE_TCB_SVN that the simulated TCB Info rates UpToDate; quotes carry it by default. */
  teeTcbSvn: Buffer;
  qe: SimulatedQe;
  /** PCS bodies exactly as Intel serves them: `{"tcbInfo":{...},"signature":"<hex>"}`. */
  tcbInfo: string;
  qeIdentity: string;
  /** CRL of the PCK Platform CA and of the Root CA, DER. */
  pckCrl: Buffer;
  rootCaCrl: Buffer;
}

export interface SimulatorChain {
  amd: SimulatedAmdChain;
  intel: SimulatedIntelChain;
  /** When the CRLs, TCB Info and QE Identity stop being current (see refreshSimulatorCollateral). */
  collateralNextUpdate: Date;
}

export interface CreateSimulatorChainOptions {
  /** Creation instant: certificates and documents are valid from one day before it. */
  now: Date;
  /** ARK/ASK modulus; AMD's are 4096 bits. 2048 is faster to generate. */
  rsaBits?: 2048 | 4096;
  /** The TCB the VCEK is issued for. */
  snpTcb?: SnpTcbParts;
  chipId?: Uint8Array;
  /** TEE_TCB_SVN rated UpToDate by the simulated TCB Info (16 bytes). */
  teeTcbSvn?: Uint8Array;
  /** How long CRLs, TCB Info and QE Identity stay current (days). */
  collateralDays?: number;
}

const DAY_MS = 86_400_000;
const YEAR_MS = 365 * DAY_MS;

export const SIMULATOR_SNP_TCB: Readonly<SnpTcbParts> = Object.freeze({ bootloader: 4, tee: 0, snp: 24, microcode: 219 });
/** Not an FMSPC Intel has assigned: the simulated platform's family-model-stepping-platform-custom-SKU. */
export const SIMULATOR_FMSPC = '5e5e5e000000';
const DEFAULT_TEE_TCB_SVN = '04010200000000000000000000000000';
const DEFAULT_SGX_TCB_COMPONENTS = [3, 3, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0];
const DEFAULT_PCE_SVN = 11;
const DEFAULT_CPU_SVN = '03030202040100050000000000000000';
// Intel's evaluation data numbers increase with each TCB recovery; any current value will do.
const TCB_EVALUATION_DATA_NUMBER = 17;
const QE_ATTRIBUTES_MASK = Buffer.from('fbffffffffffffff0000000000000000', 'hex');

// AMD KDS certificate names (the real ARK/ASK/VCEK subjects: OU, C, L, ST, O, CN in that order).
const AMD_DN = 'OU=Engineering, C=US, L=Santa Clara, ST=CA, O=Advanced Micro Devices';
// Intel PCS certificate names (CN, O, L, ST, C).
const INTEL_DN = 'O=Intel Corporation, L=Santa Clara, ST=CA, C=US';


// Intel SGX PCK certificate extension (Intel SGX PCK Certificate and CRL Profile, 1.3.5).
const SGX_OID = SGX_EXTENSION_OID;

const RSA_PSS_SHA384 = { name: 'RSA-PSS', hash: 'SHA-384' } as const;
// AMD signs with RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48 (AMD SEV-SNP ABI spec, "ARK/ASK").
const RSA_PSS_SIGN = { name: 'RSA-PSS', hash: 'SHA-384', saltLength: 48 } as const;
const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

type WebAlg = typeof RSA_PSS_SHA384 | { name: 'ECDSA'; namedCurve: 'P-256' | 'P-384' };

interface WebPair {
  privateKey: webcrypto.CryptoKey;
  publicKey: webcrypto.CryptoKey;
}

async function webPair(key: KeyObject, alg: WebAlg): Promise<WebPair> {
  const subtle = webcrypto.subtle;
  const pkcs8 = key.export({ format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  const [privateKey, publicKey] = await Promise.all([
    subtle.importKey('pkcs8', pkcs8, alg, false, ['sign']),
    subtle.importKey('spki', spki, alg, true, ['verify']),
  ]);
  return { privateKey, publicKey };
}

function ecKey(curve: 'P-256' | 'P-384'): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: curve }).privateKey;
}

function serial(): string {
  const bytes = randomBytes(20);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01; // positive and 20 bytes long, as Intel's serials are
  return bytes.toString('hex');
}

/** Intel documents carry second-precision UTC timestamps ("2025-06-19T10:16:03Z"). */
function intelTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function custom(oid: string, value: Uint8Array): x509.Extension {
  return new x509.Extension(oid, false, value);
}

function vcekExtensions(tcb: SnpTcbParts, chipId: Uint8Array): x509.Extension[] {
  // Order and encodings as in AMD KDS VCEKs (see test/fixtures/snp/*/vcek.der): INTEGERs,
  // productName an IA5String, hwID the raw 64 bytes as the extension value.
  return [
    custom(AMD_OID.structVersion, der.integer(0)),
    custom(AMD_OID.productName, der.ia5String('Milan-B0')),
    custom(AMD_OID.blSPL, der.integer(tcb.bootloader)),
    custom(AMD_OID.teeSPL, der.integer(tcb.tee)),
    custom(AMD_OID.spl4, der.integer(0)),
    custom(AMD_OID.spl5, der.integer(0)),
    custom(AMD_OID.spl6, der.integer(0)),
    custom(AMD_OID.spl7, der.integer(0)),
    custom(AMD_OID.snpSPL, der.integer(tcb.snp)),
    custom(AMD_OID.ucodeSPL, der.integer(tcb.microcode)),
    custom(AMD_OID.hwID, chipId),
  ];
}

function sgxExtension(c: Pick<SimulatedIntelChain, 'ppid' | 'sgxTcbComponents' | 'pceSvn' | 'cpuSvn' | 'pceId' | 'fmspc'>, platformInstanceId: Buffer): Buffer {
  // Layout of a Platform CA PCK certificate's SGX extension: PPID, TCB (16 comp SVNs,
  // PCESVN, CPUSVN), PCE-ID, FMSPC, SGX Type (ENUMERATED, 1 = Scalable), PlatformInstanceID,
  // Configuration (dynamicPlatform, cachedKeys, smtEnabled).
  const sub = (n: number): string => `${SGX_OID}.${n}`;
  const tcb = c.sgxTcbComponents.map((svn, i) => der.sequence(der.oid(`${sub(2)}.${i + 1}`), der.integer(svn)));
  tcb.push(der.sequence(der.oid(`${sub(2)}.17`), der.integer(c.pceSvn)));
  tcb.push(der.sequence(der.oid(`${sub(2)}.18`), der.octetString(c.cpuSvn)));
  return der.sequence(
    der.sequence(der.oid(sub(1)), der.octetString(c.ppid)),
    der.sequence(der.oid(sub(2)), der.sequence(...tcb)),
    der.sequence(der.oid(sub(3)), der.octetString(c.pceId)),
    der.sequence(der.oid(sub(4)), der.octetString(c.fmspc)),
    der.sequence(der.oid(sub(5)), der.enumerated(1)),
    der.sequence(der.oid(sub(6)), der.octetString(platformInstanceId)),
    der.sequence(
      der.oid(sub(7)),
      der.sequence(
        der.sequence(der.oid(`${sub(7)}.1`), der.boolean(false)),
        der.sequence(der.oid(`${sub(7)}.2`), der.boolean(true)),
        der.sequence(der.oid(`${sub(7)}.3`), der.boolean(true)),
      ),
    ),
  );
}

interface IssueParams {
  subject: string;
  issuer: string;
  subjectKey: WebPair;
  issuerKey: WebPair;
  signingAlgorithm: webcrypto.Algorithm;
  notBefore: Date;
  notAfter: Date;
  serialNumber: string;
  extensions: x509.Extension[];
}

async function issue(p: IssueParams): Promise<Buffer> {
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: p.serialNumber,
    subject: p.subject,
    issuer: p.issuer,
    notBefore: p.notBefore,
    notAfter: p.notAfter,
    signingAlgorithm: p.signingAlgorithm,
    publicKey: p.subjectKey.publicKey,
    signingKey: p.issuerKey.privateKey,
    extensions: p.extensions,
  });
  return Buffer.from(cert.rawData);
}

async function caExtensions(subject: WebPair, issuer: WebPair | null, pathLength: number, usages: x509.KeyUsageFlags): Promise<x509.Extension[]> {
  const ext: x509.Extension[] = [
    new x509.KeyUsagesExtension(usages, true),
    await x509.SubjectKeyIdentifierExtension.create(subject.publicKey),
    new x509.BasicConstraintsExtension(true, pathLength, true),
  ];
  if (issuer) ext.push(await x509.AuthorityKeyIdentifierExtension.create(issuer.publicKey));
  return ext;
}

async function crl(issuerDer: Buffer, issuerKey: WebPair, signingAlgorithm: webcrypto.Algorithm, thisUpdate: Date, nextUpdate: Date): Promise<Buffer> {
  const issuer = new x509.X509Certificate(issuerDer);
  const list = await x509.X509CrlGenerator.create({
    issuer: issuer.subjectName,
    thisUpdate,
    nextUpdate,
    entries: [],
    signingAlgorithm,
    signingKey: issuerKey.privateKey,
    extensions: [await x509.AuthorityKeyIdentifierExtension.create(issuerKey.publicKey)],
  });
  return Buffer.from(list.rawData);
}

/** ECDSA P-256 SHA-256 over the exact bytes of the inner object, hex r||s (Intel PCS format). */
function signIntelDocument(field: 'tcbInfo' | 'enclaveIdentity', body: object, key: KeyObject): string {
  const inner = JSON.stringify(body);
  const signature = sign('sha256', Buffer.from(inner, 'utf8'), { key, dsaEncoding: 'ieee-p1363' }).toString('hex');
  return `{"${field}":${inner},"signature":"${signature}"}`;
}

const hexUpper = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();

function tcbInfoBody(c: SimulatedIntelChain, issueDate: Date, nextUpdate: Date): object {
  const tcbDate = intelTime(new Date(issueDate.getTime() - 30 * DAY_MS));
  const zeros48 = '0'.repeat(96);
  // The TDX module's own TCB components 0 and 1 are rated through tdxModuleIdentities when
  // TEE_TCB_SVN[1] (the module's major version) is non-zero (Intel QVL TcbLevelCheck), so
  // the level lists them as Intel does: minor SVN, then 0.
  const tdxComponents = [...c.teeTcbSvn].map((svn, i) => ({ svn: i === 1 ? 0 : svn }));
  const moduleId = `TDX_${c.teeTcbSvn[1]!.toString(16).padStart(2, '0').toUpperCase()}`;
  return {
    id: 'TDX',
    version: 3,
    issueDate: intelTime(issueDate),
    nextUpdate: intelTime(nextUpdate),
    fmspc: hexUpper(c.fmspc),
    pceId: hexUpper(c.pceId),
    tcbType: 0,
    tcbEvaluationDataNumber: TCB_EVALUATION_DATA_NUMBER,
    tdxModule: { mrsigner: zeros48, attributes: '0000000000000000', attributesMask: 'FFFFFFFFFFFFFFFF' },
    tdxModuleIdentities: [
      {
        id: moduleId,
        mrsigner: zeros48,
        attributes: '0000000000000000',
        attributesMask: 'FFFFFFFFFFFFFFFF',
        tcbLevels: [
          { tcb: { isvsvn: c.teeTcbSvn[0]! }, tcbDate, tcbStatus: 'UpToDate' },
          { tcb: { isvsvn: 0 }, tcbDate: '2018-01-04T00:00:00Z', tcbStatus: 'OutOfDate' },
        ],
      },
    ],
    tcbLevels: [
      {
        tcb: {
          sgxtcbcomponents: c.sgxTcbComponents.map((svn) => ({ svn })),
          pcesvn: c.pceSvn,
          tdxtcbcomponents: tdxComponents,
        },
        tcbDate,
        tcbStatus: 'UpToDate',
      },
      {
        // Anything below the current level is out of date, so that a simulated guest with
        // lowered SVNs exercises the verifier's and the policy's TCB handling.
        tcb: {
          sgxtcbcomponents: c.sgxTcbComponents.map(() => ({ svn: 0 })),
          pcesvn: 0,
          tdxtcbcomponents: tdxComponents.map(() => ({ svn: 0 })),
        },
        tcbDate: '2018-01-04T00:00:00Z',
        tcbStatus: 'OutOfDate',
        advisoryIDs: ['SIMULATED-SA-00001'],
      },
    ],
  };
}

function qeIdentityBody(c: SimulatedIntelChain, issueDate: Date, nextUpdate: Date): object {
  return {
    id: 'TD_QE',
    version: 2,
    issueDate: intelTime(issueDate),
    nextUpdate: intelTime(nextUpdate),
    tcbEvaluationDataNumber: TCB_EVALUATION_DATA_NUMBER,
    miscselect: c.qe.miscselect.toString(16).padStart(8, '0').toUpperCase(),
    miscselectMask: 'FFFFFFFF',
    // Published already masked: QVL compares (report attributes & mask) with this value as is
    // (EnclaveIdentityV2); Intel's TD_QE mask leaves out XFRM (bytes 8-15) and the KSS bit.
    attributes: hexUpper(Buffer.from(c.qe.attributes.map((b, i) => b & QE_ATTRIBUTES_MASK[i]!))),
    attributesMask: hexUpper(QE_ATTRIBUTES_MASK),
    mrsigner: hexUpper(c.qe.mrsigner),
    isvprodid: c.qe.isvProdId,
    tcbLevels: [
      { tcb: { isvsvn: c.qe.isvSvn }, tcbDate: intelTime(new Date(issueDate.getTime() - 30 * DAY_MS)), tcbStatus: 'UpToDate' },
      { tcb: { isvsvn: 0 }, tcbDate: '2018-01-04T00:00:00Z', tcbStatus: 'OutOfDate', advisoryIDs: ['SIMULATED-SA-00002'] },
    ],
  };
}

/**
 * Re-issue the time-bound collateral (AMD CRL, Intel PCK and Root CA CRLs, TCB Info, QE
 * Identity) valid from one day before `now` for `days` days, keeping every key and
 * certificate. Vendors do the same on their own schedule; the simulator does it on load.
 */
export async function refreshSimulatorCollateral(chain: SimulatorChain, now: Date, days = 365): Promise<SimulatorChain> {
  const from = new Date(now.getTime() - DAY_MS);
  const until = new Date(now.getTime() + days * DAY_MS);
  const [arkPair, rootPair, pckCaPair] = await Promise.all([
    webPair(chain.amd.arkKey, RSA_PSS_SHA384),
    webPair(chain.intel.rootKey, { name: 'ECDSA', namedCurve: 'P-256' }),
    webPair(chain.intel.pckCaKey, { name: 'ECDSA', namedCurve: 'P-256' }),
  ]);
  const intel: SimulatedIntelChain = { ...chain.intel };
  intel.pckCrl = await crl(intel.pckCa, pckCaPair, ECDSA_SHA256, from, until);
  intel.rootCaCrl = await crl(intel.root, rootPair, ECDSA_SHA256, from, until);
  intel.tcbInfo = signIntelDocument('tcbInfo', tcbInfoBody(intel, from, until), intel.tcbSigningKey);
  intel.qeIdentity = signIntelDocument('enclaveIdentity', qeIdentityBody(intel, from, until), intel.tcbSigningKey);
  const amd: SimulatedAmdChain = { ...chain.amd, crl: await crl(chain.amd.ark, arkPair, RSA_PSS_SIGN, from, until) };
  return { amd, intel, collateralNextUpdate: until };
}

/**
 * The same simulated AMD chain with another chip: a fresh VCEK for `chipId` at `tcb`, issued
 * by the chain's ASK, as AMD KDS issues one per chip and TCB. The simulator's own vendor
 * knows only the chain's first chip, so a second chip's VCEK must come from elsewhere (the
 * evidence, or a KDS): tests use it to exercise the collateral path with a valid chain.
 */
export async function withAnotherSimulatedChip(chain: SimulatorChain, chipId: Uint8Array, tcb: SnpTcbParts = chain.amd.tcb): Promise<SimulatorChain> {
  if (chipId.length !== 64) throw new RangeError('chipId must be 64 bytes');
  const vcekKey = ecKey('P-384');
  const [askPair, vcekPair] = await Promise.all([webPair(chain.amd.askKey, RSA_PSS_SHA384), webPair(vcekKey, { name: 'ECDSA', namedCurve: 'P-384' })]);
  const ask = new x509.X509Certificate(chain.amd.ask);
  const vcek = await issue({
    subject: `${AMD_DN}, CN=SEV-VCEK`,
    issuer: ask.subject,
    subjectKey: vcekPair,
    issuerKey: askPair,
    signingAlgorithm: RSA_PSS_SIGN,
    notBefore: ask.notBefore,
    notAfter: new Date(ask.notBefore.getTime() + 7 * YEAR_MS),
    serialNumber: '00',
    extensions: vcekExtensions(tcb, chipId),
  });
  return { ...chain, amd: { ...chain.amd, vcek, vcekKey, chipId: Buffer.from(chipId), tcb: { ...tcb } } };
}

/** Generate a fresh simulated AMD and Intel chain, with collateral current at `now`. */
export async function createSimulatorChain(options: CreateSimulatorChainOptions): Promise<SimulatorChain> {
  const now = options.now;
  const notBefore = new Date(now.getTime() - DAY_MS);
  const years = (n: number): Date => new Date(notBefore.getTime() + n * YEAR_MS);

  // AMD: ARK (self-signed) -> ASK -> VCEK, RSA-PSS SHA-384 signatures throughout.
  const rsaBits = options.rsaBits ?? 4096;
  const arkKey = generateKeyPairSync('rsa', { modulusLength: rsaBits }).privateKey;
  const askKey = generateKeyPairSync('rsa', { modulusLength: rsaBits }).privateKey;
  const vcekKey = ecKey('P-384');
  const [arkPair, askPair, vcekPair] = await Promise.all([
    webPair(arkKey, RSA_PSS_SHA384),
    webPair(askKey, RSA_PSS_SHA384),
    webPair(vcekKey, { name: 'ECDSA', namedCurve: 'P-384' }),
  ]);
  const arkName = `${AMD_DN}, CN=ARK-Milan`;
  const askName = `${AMD_DN}, CN=SEV-Milan`;
  const certSign = x509.KeyUsageFlags.keyCertSign;
  const ark = await issue({
    subject: arkName,
    issuer: arkName,
    subjectKey: arkPair,
    issuerKey: arkPair,
    signingAlgorithm: RSA_PSS_SIGN,
    notBefore,
    notAfter: years(25),
    serialNumber: '010000',
    extensions: await caExtensions(arkPair, null, 1, certSign | x509.KeyUsageFlags.cRLSign),
  });
  const ask = await issue({
    subject: askName,
    issuer: arkName,
    subjectKey: askPair,
    issuerKey: arkPair,
    signingAlgorithm: RSA_PSS_SIGN,
    notBefore,
    notAfter: years(25),
    serialNumber: '010001',
    extensions: await caExtensions(askPair, arkPair, 0, certSign),
  });
  const tcb = { ...(options.snpTcb ?? SIMULATOR_SNP_TCB) };
  const chipId = options.chipId ? Buffer.from(options.chipId) : randomBytes(64);
  if (chipId.length !== 64) throw new RangeError('chipId must be 64 bytes');
  const vcek = await issue({
    subject: `${AMD_DN}, CN=SEV-VCEK`,
    issuer: askName,
    subjectKey: vcekPair,
    issuerKey: askPair,
    signingAlgorithm: RSA_PSS_SIGN,
    notBefore,
    notAfter: years(7),
    serialNumber: '00',
    extensions: vcekExtensions(tcb, chipId),
  });

  // Intel: Root CA -> PCK Platform CA -> PCK leaf, and Root CA -> TCB Signing; ECDSA P-256.
  const rootKey = ecKey('P-256');
  const pckCaKey = ecKey('P-256');
  const pckKey = ecKey('P-256');
  const tcbSigningKey = ecKey('P-256');
  const p256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
  const [rootPair, pckCaPair, pckPair, tcbSigningPair] = await Promise.all([
    webPair(rootKey, p256),
    webPair(pckCaKey, p256),
    webPair(pckKey, p256),
    webPair(tcbSigningKey, p256),
  ]);
  const rootName = `CN=Intel SGX Root CA, ${INTEL_DN}`;
  const pckCaName = `CN=Intel SGX PCK Platform CA, ${INTEL_DN}`;
  const caUsages = certSign | x509.KeyUsageFlags.cRLSign;
  const leafUsages = x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation;
  const root = await issue({
    subject: rootName,
    issuer: rootName,
    subjectKey: rootPair,
    issuerKey: rootPair,
    signingAlgorithm: ECDSA_SHA256,
    notBefore,
    notAfter: years(30),
    serialNumber: serial(),
    extensions: await caExtensions(rootPair, rootPair, 1, caUsages),
  });
  const pckCa = await issue({
    subject: pckCaName,
    issuer: rootName,
    subjectKey: pckCaPair,
    issuerKey: rootPair,
    signingAlgorithm: ECDSA_SHA256,
    notBefore,
    notAfter: years(15),
    serialNumber: serial(),
    extensions: await caExtensions(pckCaPair, rootPair, 0, caUsages),
  });
  const leafExtensions = async (subject: WebPair, issuer: WebPair): Promise<x509.Extension[]> => [
    await x509.AuthorityKeyIdentifierExtension.create(issuer.publicKey),
    await x509.SubjectKeyIdentifierExtension.create(subject.publicKey),
    new x509.KeyUsagesExtension(leafUsages, true),
    new x509.BasicConstraintsExtension(false, undefined, true),
  ];
  const teeTcbSvn = Buffer.from(options.teeTcbSvn ?? Buffer.from(DEFAULT_TEE_TCB_SVN, 'hex'));
  if (teeTcbSvn.length !== 16) throw new RangeError('teeTcbSvn must be 16 bytes');
  const platform = {
    fmspc: Buffer.from(SIMULATOR_FMSPC, 'hex'),
    pceId: Buffer.from('0000', 'hex'),
    ppid: randomBytes(16),
    sgxTcbComponents: [...DEFAULT_SGX_TCB_COMPONENTS],
    pceSvn: DEFAULT_PCE_SVN,
    cpuSvn: Buffer.from(DEFAULT_CPU_SVN, 'hex'),
  };
  const pck = await issue({
    subject: `CN=Intel SGX PCK Certificate, ${INTEL_DN}`,
    issuer: pckCaName,
    subjectKey: pckPair,
    issuerKey: pckCaPair,
    signingAlgorithm: ECDSA_SHA256,
    notBefore,
    notAfter: years(7),
    serialNumber: serial(),
    extensions: [...(await leafExtensions(pckPair, pckCaPair)), custom(SGX_OID, sgxExtension(platform, randomBytes(16)))],
  });
  const tcbSigning = await issue({
    subject: `CN=Intel SGX TCB Signing, ${INTEL_DN}`,
    issuer: rootName,
    subjectKey: tcbSigningPair,
    issuerKey: rootPair,
    signingAlgorithm: ECDSA_SHA256,
    notBefore,
    notAfter: years(7),
    serialNumber: serial(),
    extensions: await leafExtensions(tcbSigningPair, rootPair),
  });

  const label = (s: string): Buffer => createHash('sha256').update(`tessera simulator: ${s}`).digest();
  const chain: SimulatorChain = {
    amd: { product: 'Milan', ark, ask, vcek, arkKey, askKey, vcekKey, crl: Buffer.alloc(0), chipId, tcb },
    intel: {
      root,
      pckCa,
      pck,
      tcbSigning,
      rootKey,
      pckCaKey,
      pckKey,
      tcbSigningKey,
      attestationKey: ecKey('P-256'),
      ...platform,
      teeTcbSvn,
      qe: {
        mrsigner: label('TD QE signer'),
        mrenclave: label('TD QE enclave'),
        isvProdId: 2,
        isvSvn: 4,
        attributes: Buffer.from('11000000000000000700000000000000', 'hex'),
        miscselect: 0,
      },
      tcbInfo: '',
      qeIdentity: '',
      pckCrl: Buffer.alloc(0),
      rootCaCrl: Buffer.alloc(0),
    },
    collateralNextUpdate: now,
  };
  return refreshSimulatorCollateral(chain, now, options.collateralDays);
}

// ---- JSON form (private keys included: store it with mode 0600) ----

const FORMAT = 'tessera-simulator-chain';
const b64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);
const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`));
const svn = z.number().int().min(0).max(255);
const u16 = z.number().int().min(0).max(0xffff);

const serialSchema = z.object({
  format: z.literal(FORMAT),
  version: z.literal(1),
  collateralNextUpdate: z.iso.datetime(),
  amd: z.object({
    product: z.literal('Milan'),
    certificates: z.object({ ark: b64, ask: b64, vcek: b64 }),
    keys: z.object({ ark: b64, ask: b64, vcek: b64 }),
    crl: b64,
    chipId: hex(64),
    tcb: z.object({ bootloader: svn, tee: svn, snp: svn, microcode: svn }),
  }),
  intel: z.object({
    certificates: z.object({ root: b64, pckCa: b64, pck: b64, tcbSigning: b64 }),
    keys: z.object({ root: b64, pckCa: b64, pck: b64, tcbSigning: b64, attestation: b64 }),
    fmspc: hex(6),
    pceId: hex(2),
    ppid: hex(16),
    sgxTcbComponents: z.array(svn).length(16),
    pceSvn: u16,
    cpuSvn: hex(16),
    teeTcbSvn: hex(16),
    qe: z.object({ mrsigner: hex(32), mrenclave: hex(32), isvProdId: u16, isvSvn: u16, attributes: hex(16), miscselect: z.number().int().min(0).max(0xffffffff) }),
    tcbInfo: z.string(),
    qeIdentity: z.string(),
    pckCrl: b64,
    rootCaCrl: b64,
  }),
});

export type SerializedSimulatorChain = z.infer<typeof serialSchema>;

const pkcs8 = (k: KeyObject): string => k.export({ format: 'der', type: 'pkcs8' }).toString('base64');

/** The chain as JSON text, private keys included. */
export function serializeSimulatorChain(chain: SimulatorChain): string {
  const { amd, intel } = chain;
  const out: SerializedSimulatorChain = {
    format: FORMAT,
    version: 1,
    collateralNextUpdate: chain.collateralNextUpdate.toISOString(),
    amd: {
      product: amd.product,
      certificates: { ark: amd.ark.toString('base64'), ask: amd.ask.toString('base64'), vcek: amd.vcek.toString('base64') },
      keys: { ark: pkcs8(amd.arkKey), ask: pkcs8(amd.askKey), vcek: pkcs8(amd.vcekKey) },
      crl: amd.crl.toString('base64'),
      chipId: amd.chipId.toString('hex'),
      tcb: { bootloader: amd.tcb.bootloader, tee: amd.tcb.tee, snp: amd.tcb.snp, microcode: amd.tcb.microcode },
    },
    intel: {
      certificates: {
        root: intel.root.toString('base64'),
        pckCa: intel.pckCa.toString('base64'),
        pck: intel.pck.toString('base64'),
        tcbSigning: intel.tcbSigning.toString('base64'),
      },
      keys: {
        root: pkcs8(intel.rootKey),
        pckCa: pkcs8(intel.pckCaKey),
        pck: pkcs8(intel.pckKey),
        tcbSigning: pkcs8(intel.tcbSigningKey),
        attestation: pkcs8(intel.attestationKey),
      },
      fmspc: intel.fmspc.toString('hex'),
      pceId: intel.pceId.toString('hex'),
      ppid: intel.ppid.toString('hex'),
      sgxTcbComponents: [...intel.sgxTcbComponents],
      pceSvn: intel.pceSvn,
      cpuSvn: intel.cpuSvn.toString('hex'),
      teeTcbSvn: intel.teeTcbSvn.toString('hex'),
      qe: {
        mrsigner: intel.qe.mrsigner.toString('hex'),
        mrenclave: intel.qe.mrenclave.toString('hex'),
        isvProdId: intel.qe.isvProdId,
        isvSvn: intel.qe.isvSvn,
        attributes: intel.qe.attributes.toString('hex'),
        miscselect: intel.qe.miscselect,
      },
      tcbInfo: intel.tcbInfo,
      qeIdentity: intel.qeIdentity,
      pckCrl: intel.pckCrl.toString('base64'),
      rootCaCrl: intel.rootCaCrl.toString('base64'),
    },
  };
  return `${JSON.stringify(out, null, 2)}\n`;
}

/** Parse the JSON form. Throws EvidenceFormatError(`simulator_chain_malformed`) on anything off. */
export function parseSimulatorChain(text: string): SimulatorChain {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new EvidenceFormatError('simulator_chain_malformed', 'The simulator chain file is not valid JSON.');
  }
  const parsed = serialSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? issue.path.join('.') : '';
    throw new EvidenceFormatError('simulator_chain_malformed', `The simulator chain file is malformed at "${where}": ${issue?.message ?? 'invalid'}.`);
  }
  const s = parsed.data;
  const buf = (v: string): Buffer => Buffer.from(v, 'base64');
  const key = (v: string, what: string, certificate?: string): KeyObject => {
    let k: KeyObject;
    try {
      k = createPrivateKey({ key: buf(v), format: 'der', type: 'pkcs8' });
    } catch {
      throw new EvidenceFormatError('simulator_chain_malformed', `The simulator chain's ${what} private key is not a valid PKCS#8 key.`);
    }
    if (certificate !== undefined) {
      // A key that does not belong to its certificate would make every report fail to verify
      // for a reason far from its cause: say so here instead.
      const fromCert = new x509.X509Certificate(buf(certificate)).publicKey.rawData;
      const fromKey = createPublicKey(k).export({ format: 'der', type: 'spki' });
      if (!Buffer.from(fromCert).equals(fromKey)) {
        throw new EvidenceFormatError('simulator_chain_malformed', `The simulator chain's ${what} private key does not match its certificate.`);
      }
    }
    return k;
  };
  const { amd, intel } = s;
  return {
    collateralNextUpdate: new Date(s.collateralNextUpdate),
    amd: {
      product: amd.product,
      ark: buf(amd.certificates.ark),
      ask: buf(amd.certificates.ask),
      vcek: buf(amd.certificates.vcek),
      arkKey: key(amd.keys.ark, 'ARK'),
      askKey: key(amd.keys.ask, 'ASK'),
      vcekKey: key(amd.keys.vcek, 'VCEK', amd.certificates.vcek),
      crl: buf(amd.crl),
      chipId: Buffer.from(amd.chipId, 'hex'),
      tcb: { ...amd.tcb },
    },
    intel: {
      root: buf(intel.certificates.root),
      pckCa: buf(intel.certificates.pckCa),
      pck: buf(intel.certificates.pck),
      tcbSigning: buf(intel.certificates.tcbSigning),
      rootKey: key(intel.keys.root, 'Intel root'),
      pckCaKey: key(intel.keys.pckCa, 'PCK CA'),
      pckKey: key(intel.keys.pck, 'PCK', intel.certificates.pck),
      tcbSigningKey: key(intel.keys.tcbSigning, 'TCB signing'),
      attestationKey: key(intel.keys.attestation, 'attestation'),
      fmspc: Buffer.from(intel.fmspc, 'hex'),
      pceId: Buffer.from(intel.pceId, 'hex'),
      ppid: Buffer.from(intel.ppid, 'hex'),
      sgxTcbComponents: [...intel.sgxTcbComponents],
      pceSvn: intel.pceSvn,
      cpuSvn: Buffer.from(intel.cpuSvn, 'hex'),
      teeTcbSvn: Buffer.from(intel.teeTcbSvn, 'hex'),
      qe: {
        mrsigner: Buffer.from(intel.qe.mrsigner, 'hex'),
        mrenclave: Buffer.from(intel.qe.mrenclave, 'hex'),
        isvProdId: intel.qe.isvProdId,
        isvSvn: intel.qe.isvSvn,
        attributes: Buffer.from(intel.qe.attributes, 'hex'),
        miscselect: intel.qe.miscselect,
      },
      tcbInfo: intel.tcbInfo,
      qeIdentity: intel.qeIdentity,
      pckCrl: buf(intel.pckCrl),
      rootCaCrl: buf(intel.rootCaCrl),
    },
  };
}

/** PEM text of DER certificates, in the order given (leaf first, as Intel and AMD chain them). */
export function certificatesPem(...ders: Uint8Array[]): string {
  return ders.map((d) => x509.PemConverter.encode(Buffer.from(d), 'CERTIFICATE')).join('\n') + '\n';
}
