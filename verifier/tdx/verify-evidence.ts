// Verifying an Intel DCAP quote (TDX v4/v5, SGX v3/v4/v5) end to end, following Intel's QVL
// (QuoteVerification/QVL/Src/AttestationLibrary/src/Verifiers/QuoteVerifier.cpp): the PCK
// chain to the pinned root with both CRLs, the QE report and its binding of the attestation
// key, the quote signature, TCB Info and QE Identity (signature over the bytes as served,
// issuer chain, validity, FMSPC/PCEID, QE match), the TDX module, and the TCB status.
//
// verifyIntelQuote is the synchronous core, given all collateral; prepareIntelEvidence
// gathers collateral from the evidence or a CollateralSource first (verifyEvidence, in
// verifier/verify-evidence.ts, runs the two in turn). Every check is
// evaluated and reported (a denial lists all that failed); verified = every check passed.

import { createHash } from 'node:crypto';
import type { IntelAnchor } from '../anchors.ts';
import type { CollateralDocument, CollateralSource } from '../collateral/source.ts';
import { CollateralUnavailableError, EvidenceFormatError } from '../errors.ts';
import type { CrlMode, IntelCollateral, IntelEvidence, VerifyOptions } from '../evidence.ts';
import type { Check, CollateralUse, IntelPlatformResult, IntelTcbResult, VerificationResult } from '../result.ts';
import type { Certificate } from '../x509/certificate.ts';
import { parseCrl, type Crl } from '../x509/crl.ts';
import { INTEL_QE_VENDOR_ID } from './abi/header.ts';
import { parseIntelQuote, type IntelQuote } from './abi/quote.ts';
import { fail, iso, pass } from './check.ts';
import { intelClaims } from './claims.ts';
import { matchQeIdentity, matchQeLevel, parseQeIdentity, type QeIdentityDocument } from './qe-identity.ts';
import { parseTcbInfo, type TcbInfoDocument } from './tcb-info.ts';
import { evaluateTcb, qeTcbStatus, type TcbEvaluation } from './tcb-status.ts';
import { checkTdxModule } from './tdx-module.ts';
import { verifyEventLog, type EventLogVerdict } from './eventlog/verify.ts';
import { anchorCertificates, type AnchorMatch } from './trust-chain.ts';
import { INTEL_ANCHORS, spkiSha256 } from './intel-root.ts';
import { checkPckCrl, checkRootCaCrl, parsePckChain, verifyPckChain, type PckCa, type PckChain } from './verify-pck-chain.ts';
import { checkQeReportBinding, checkQeReportSignature } from './verify-qe-report.ts';
import { checkQuoteSignature } from './verify-quote-signature.ts';
import { verifyTcbSigner, type TcbSigningChain } from './verify-tcb-signer.ts';

export type CollateralKind = 'tcb-info' | 'qe-identity' | 'pck-crl' | 'root-ca-crl';

export interface IntelQuoteOptions {
  at: Date;
  /** Defaults to the pinned Intel SGX Root CA. */
  anchors?: readonly IntelAnchor[];
  crl?: CrlMode;
  /** Where each collateral document came from (default `input`), and whether it was served stale. */
  provenance?: Partial<Record<CollateralKind, { source: string; stale?: boolean }>>;
  /** TDX: the CC event log; its replay must equal the quote's RTMRs (tdx.eventlog.*) and its events become claims.tdx.eventLog. */
  eventLog?: Uint8Array;
}

export interface IntelCollateralNeeds {
  tee: 'tdx' | 'sgx';
  /** Lower-case hex, from the PCK certificate. */
  fmspc: string;
  pckCa: PckCa;
}

/** What to fetch for a quote: the TCB Info of its FMSPC and the PCK CRL of its PCK's CA. Throws EvidenceFormatError. */
export function intelCollateralNeeds(quote: Uint8Array | IntelQuote): IntelCollateralNeeds {
  const q = quote instanceof Uint8Array ? parseIntelQuote(quote) : quote;
  const chain = parsePckChain(q.certification.pckChainPem);
  return { tee: q.tee, fmspc: chain.extension.fmspc, pckCa: chain.pckCa };
}

const DOCUMENT_NAMES: Record<CollateralKind, string> = {
  'tcb-info': 'TCB Info',
  'qe-identity': 'QE Identity',
  'pck-crl': 'PCK CRL',
  'root-ca-crl': 'Root CA CRL',
};

/** issueDate/thisUpdate <= at <= nextUpdate; a document served stale may be past nextUpdate (the cache bounds how far). */
function windowCheck(id: string, name: string, from: Date, until: Date | undefined, at: Date, stale: boolean, warnings: string[]): Check {
  const t = at.getTime();
  const window = () => ({ from: from.toISOString(), until: until?.toISOString() });
  if (t < from.getTime()) return fail(id, `The ${name} is not yet valid at ${iso(at)}.`, `issued before ${iso(at)}`, window());
  if (until && t > until.getTime()) {
    if (!stale) return fail(id, `The ${name} expired before ${iso(at)}.`, `nextUpdate after ${iso(at)}`, window());
    warnings.push(`The ${name} is served stale: past its nextUpdate ${until.toISOString()} because the vendor could not be reached.`);
  }
  return pass(id, `The ${name} is current at ${iso(at)}.`);
}

/**
 * `<kind>.chain` from the TCB Signing verdict (verify-tcb-signer.ts): TCB Signing
 * certificate <- pinned root, valid at `at`, under the root the PCK chain reached.
 */
function signingChainCheck(id: string, name: string, chain: TcbSigningChain, at: Date): Check {
  if (chain.ok) return pass(id, `The ${name} is signed under Intel SGX TCB Signing <- pinned Intel SGX Root CA, valid at ${iso(at)}.`);
  switch (chain.problem) {
    case 'unreadable':
      return fail(id, `The ${name} issuer chain is unreadable: ${chain.message}`, 'TCB Signing certificate and root, PEM', 'unreadable');
    case 'length':
      return fail(id, `The ${name} issuer chain must hold the TCB Signing certificate and optionally the root.`, '1 or 2 certificates', chain.count);
    case 'not-tcb-signing':
      return fail(id, `The ${name} signer is not an Intel SGX TCB Signing certificate.`, 'CN "Intel SGX TCB Signing"', chain.commonName);
    case 'untrusted':
      return fail(id, chain.detail, chain.expected, chain.found);
    case 'other-root':
      return fail(
        id,
        `The ${name} is signed under another pinned root than the PCK certificate chain; a quote and its collateral must chain to the same root.`,
        { rootSpkiSha256: spkiSha256(chain.required.root), simulated: chain.required.anchor.simulated === true },
        { rootSpkiSha256: spkiSha256(chain.match.root), simulated: chain.match.anchor.simulated === true },
      );
    case 'expired':
      return fail(id, `The ${name} signing chain is not valid at ${iso(at)}.`, `valid at ${iso(at)}`, chain.invalid);
  }
}

// The same CRL buffer recurs on every verification while cached: remember its parse by the
// buffer, re-checked byte for byte (cheaper than hashing it again).
const crlByBuffer = new WeakMap<Uint8Array, Crl>();

function crlBytes(bytes: Uint8Array | undefined, name: string): Crl | undefined {
  if (bytes === undefined) return undefined;
  const hit = crlByBuffer.get(bytes);
  if (hit && hit.der.equals(bytes)) return hit;
  const crl = parseCrl(bytes, name);
  crlByBuffer.set(bytes, crl);
  return crl;
}

const INPUT: { source: string; stale?: boolean } = { source: 'input' };

function isStale(options: IntelQuoteOptions, kind: CollateralKind): boolean {
  return options.provenance?.[kind]?.stale === true;
}

function record(used: CollateralUse[], options: IntelQuoteOptions, kind: CollateralKind, sha256: string): void {
  const { source, stale } = options.provenance?.[kind] ?? INPUT;
  used.push(stale ? { kind, sha256, source, stale: true } : { kind, sha256, source });
}

interface SignedDocumentContext {
  at: Date;
  anchors: readonly IntelAnchor[];
  pckRoot: AnchorMatch | undefined;
  options: IntelQuoteOptions;
  used: CollateralUse[];
  warnings: string[];
  prefix: string;
}

/**
 * `<tee>.collateral.<kind>.{chain,signature,validity,id}` for a TCB Info or QE Identity
 * (QVL QuoteVerifier.cpp 4.1.2.4.8 - 4.1.2.4.10): the signer is returned for the Root CA CRL.
 */
function signedDocumentChecks(
  ctx: SignedDocumentContext,
  kind: 'tcb-info' | 'qe-identity',
  doc: TcbInfoDocument | QeIdentityDocument,
  issuerChain: string,
  wantId: string,
): { checks: Check[]; signer?: Certificate } {
  const name = DOCUMENT_NAMES[kind];
  const id = `${ctx.prefix}.collateral.${kind}`;
  const verdict = verifyTcbSigner(doc, issuerChain, ctx.anchors, ctx.at, { label: `${name} issuer chain`, ...(ctx.pckRoot ? { sameRootAs: ctx.pckRoot } : {}) });
  const { chain } = verdict;
  record(ctx.used, ctx.options, kind, doc.sha256);
  const checks: Check[] = [signingChainCheck(`${id}.chain`, name, chain, ctx.at)];
  checks.push(
    verdict.signatureOk
      ? pass(`${id}.signature`, `The ${name} signature verifies over the document as served.`)
      : fail(`${id}.signature`, `The ${name} signature does not verify with the TCB Signing key.`, 'a valid signature by Intel SGX TCB Signing', doc.signature.toString('hex')),
  );
  checks.push(windowCheck(`${id}.validity`, name, doc.issueDate, doc.nextUpdate, ctx.at, isStale(ctx.options, kind), ctx.warnings));
  const found = doc.body.id;
  checks.push(
    found === wantId
      ? pass(`${id}.id`, kind === 'tcb-info' ? `The TCB Info is a ${wantId} TCB Info.` : `The QE Identity is the ${wantId} identity.`)
      : fail(
          `${id}.id`,
          kind === 'tcb-info' ? `The TCB Info is for ${found}, not for this ${wantId} quote.` : `The QE Identity is for ${found}, not ${wantId}.`,
          wantId,
          found,
        ),
  );
  return { checks, ...(chain.ok || 'signer' in chain ? { signer: chain.signer } : {}) };
}

/**
 * Verify a quote with the collateral given. Throws EvidenceFormatError when the quote or a
 * collateral document cannot be parsed; otherwise every finding is a check in the result.
 */
export function verifyIntelQuote(quoteBytes: Uint8Array | IntelQuote, collateral: IntelCollateral, options: IntelQuoteOptions): VerificationResult {
  const { at } = options;
  // As verifySnpReport: an Invalid Date compares false with everything, so a window check
  // written as "before start" / "after end" would pass; refuse it outright.
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) throw new RangeError('options.at must be a valid Date.');
  const quote = quoteBytes instanceof Uint8Array ? parseIntelQuote(quoteBytes) : quoteBytes;
  const anchors = options.anchors ?? INTEL_ANCHORS;
  const crlMode = options.crl ?? 'prefer';
  const p = quote.tee;
  const checks: Check[] = [];
  const warnings: string[] = [];
  const used: CollateralUse[] = [];

  // Accepted here as Intel's QVL accepts them (DCAP 1.18 and later, Quote::parse); whether
  // to accept them is the policy's call (tdx|sgx.allowTrailingBytes), on the count the
  // claims carry (claims.<tee>.quote.trailingBytes).
  if (quote.trailingBytes > 0) {
    warnings.push(`${quote.trailingBytes} bytes follow the quote's end (offset ${quote.length}); they were ignored and are not covered by any signature (a policy may refuse them: ${p}.allowTrailingBytes).`);
  }

  // Parse everything first: malformed input is an EvidenceFormatError, not a finding.
  const chain: PckChain = parsePckChain(quote.certification.pckChainPem);
  const tcbInfo: TcbInfoDocument = parseTcbInfo(collateral.tcbInfo);
  const qeIdentity: QeIdentityDocument = parseQeIdentity(collateral.qeIdentity);
  const pckCrl = crlMode === 'off' ? undefined : crlBytes(collateral.pckCrl, 'PCK CRL');
  const rootCrl = crlMode === 'off' ? undefined : crlBytes(collateral.rootCaCrl, 'Root CA CRL');

  // Header: Intel's QE (QVL Quote.cpp validate: qeVendorId).
  const vendor = quote.header.qeVendorId.toString('hex');
  checks.push(
    vendor === INTEL_QE_VENDOR_ID
      ? pass(`${p}.quote.qe-vendor`, "The quote was produced by Intel's Quoting Enclave.")
      : fail(`${p}.quote.qe-vendor`, "The quote's QE vendor id is not Intel's.", INTEL_QE_VENDOR_ID, vendor),
  );

  // PCK chain and CRLs.
  const pck = verifyPckChain(chain, anchors, at, p);
  checks.push(...pck.checks);
  if (crlMode === 'off') {
    warnings.push('CRL checks were skipped (crl: off): neither the PCK certificate nor its CA was checked for revocation.');
  } else {
    if (pckCrl) {
      record(used, options, 'pck-crl', pckCrl.sha256);
      checks.push(checkPckCrl(pckCrl, chain, at, p, isStale(options, 'pck-crl'), warnings));
    } else if (crlMode === 'require') {
      checks.push(fail(`${p}.pck.crl`, 'No PCK CRL was supplied and CRL checks are required.', `the ${chain.pckCa} CA PCK CRL`, 'none'));
    } else {
      warnings.push(`No PCK CRL was supplied: the PCK certificate (serial ${chain.leaf.serial}) was not checked for revocation.`);
    }
  }

  // QE report and quote signature.
  checks.push(checkQeReportSignature(quote, chain.leaf.publicKey, p));
  checks.push(checkQeReportBinding(quote, p));
  checks.push(checkQuoteSignature(quote, p));

  // TCB Info and QE Identity: issuer chain, signature over the bytes as served, validity, id.
  const signedDocument = { at, anchors, pckRoot: pck.anchor, options, used, warnings, prefix: p };
  const tcbDoc = signedDocumentChecks(signedDocument, 'tcb-info', tcbInfo, collateral.tcbInfoIssuerChain, p === 'tdx' ? 'TDX' : 'SGX');
  checks.push(...tcbDoc.checks);
  checks.push(
    tcbInfo.fmspc === chain.extension.fmspc && tcbInfo.pceId === chain.extension.pceId
      ? pass(`${p}.collateral.tcb-info.fmspc`, `The TCB Info is for the PCK certificate's FMSPC ${tcbInfo.fmspc} and PCE-ID ${tcbInfo.pceId}.`)
      : fail(
          `${p}.collateral.tcb-info.fmspc`,
          "The TCB Info is for another platform than the PCK certificate's.",
          { fmspc: chain.extension.fmspc, pceId: chain.extension.pceId },
          { fmspc: tcbInfo.fmspc, pceId: tcbInfo.pceId },
        ),
  );
  const qeDoc = signedDocumentChecks(signedDocument, 'qe-identity', qeIdentity, collateral.qeIdentityIssuerChain, p === 'tdx' ? 'TD_QE' : 'QE');
  checks.push(...qeDoc.checks);
  const mismatches = matchQeIdentity(quote.certification.qeReport, qeIdentity.body);
  checks.push(
    mismatches.length === 0
      ? pass(`${p}.qe-identity.match`, "The QE report's MRSIGNER, ISVPRODID, MISCSELECT and ATTRIBUTES match the QE Identity.")
      : fail(
          `${p}.qe-identity.match`,
          `The QE report does not match the QE Identity (${mismatches.map((m) => m.field).join(', ')}).`,
          Object.fromEntries(mismatches.map((m) => [m.field, m.expected])),
          Object.fromEntries(mismatches.map((m) => [m.field, m.found])),
        ),
  );

  // Root CA CRL: the intermediates in use (PCK CA, TCB Signing).
  if (rootCrl) {
    // Checked against the pinned root the PCK chain reached, else the first pinned root.
    record(used, options, 'root-ca-crl', rootCrl.sha256);
    const root = pck.anchor?.root ?? anchorCertificates(anchors)[0];
    const inUse = [chain.intermediate, ...(tcbDoc.signer ? [tcbDoc.signer] : []), ...(qeDoc.signer ? [qeDoc.signer] : [])];
    checks.push(
      root
        ? checkRootCaCrl(rootCrl, root, inUse, at, p, isStale(options, 'root-ca-crl'), warnings)
        : fail(`${p}.root-ca.crl`, 'No Intel root is trusted, so the Root CA CRL cannot be checked.', 'a pinned Intel SGX Root CA', 'no anchors'),
    );
  } else if (crlMode === 'require') {
    checks.push(fail(`${p}.root-ca.crl`, 'No Root CA CRL was supplied and CRL checks are required.', 'the Intel SGX Root CA CRL', 'none'));
  } else if (crlMode === 'prefer') {
    warnings.push('No Root CA CRL was supplied: the PCK CA and TCB Signing certificates were not checked for revocation.');
  }

  // TDX module and TCB status.
  const td = quote.body.kind === 'sgx' ? undefined : quote.body.report;
  if (td && tcbInfo.body.id === 'TDX') checks.push(checkTdxModule(td, tcbInfo.body, quote.header.version));
  let eventLog: EventLogVerdict | undefined;
  if (options.eventLog !== undefined) {
    if (!td) throw new EvidenceFormatError('intel_eventlog_not_tdx', 'An event log comes with TDX evidence only; SGX quotes have no RTMRs to replay it against.');
    eventLog = verifyEventLog(options.eventLog, td.rtmr);
    checks.push(...eventLog.checks);
  }
  const qeLevel = matchQeLevel(quote.certification.qeReport.isvSvn, qeIdentity.body);
  const evaluation: TcbEvaluation = evaluateTcb({
    tcbInfo: tcbInfo.body,
    pck: chain.extension,
    ...(td && tcbInfo.body.id === 'TDX' ? { td } : {}),
    qeLevel,
  });
  checks.push(tcbStatusCheck(p, evaluation, quote.certification.qeReport.isvSvn));

  const tcb: IntelTcbResult = {
    status: evaluation.status,
    advisoryIds: evaluation.advisoryIds,
    ...(evaluation.tcbDate ? { tcbDate: evaluation.tcbDate } : {}),
    evaluationDataNumber: Math.min(tcbInfo.body.tcbEvaluationDataNumber, qeIdentity.body.tcbEvaluationDataNumber),
  };
  const simulated = pck.anchor?.anchor.simulated === true;
  if (simulated) warnings.push('The PCK chain ends at a SIMULATED root (development mode): this is not genuine Intel hardware.');
  const claims = intelClaims(
    quote,
    chain.extension,
    { status: tcb.status, ...(tcb.tcbDate ? { date: tcb.tcbDate } : {}), advisoryIds: tcb.advisoryIds, evaluationDataNumber: tcb.evaluationDataNumber },
    simulated,
  );
  const qeLevelStatus = qeTcbStatus(qeLevel);
  const platform: IntelPlatformResult = {
    ppidSha256: createHash('sha256').update(Buffer.from(chain.extension.ppid, 'hex')).digest('hex'),
    pceId: chain.extension.pceId,
    qe: { isvSvn: quote.certification.qeReport.isvSvn, status: qeLevelStatus, ...(qeLevel?.tcbDate ? { tcbDate: qeLevel.tcbDate } : {}) },
  };
  if (eventLog?.claims && claims.tdx) claims.tdx.eventLog = eventLog.claims;
  return {
    verified: checks.every((c) => c.ok),
    tee: quote.tee,
    signer: 'PCK',
    claims,
    checks,
    warnings,
    tcb,
    platform,
    collateral: used,
  };
}

function tcbStatusCheck(p: string, e: TcbEvaluation, qeIsvSvn: number): Check {
  const id = `${p}.tcb.status`;
  const advisories = e.advisoryIds.length > 0 ? `; advisories ${e.advisoryIds.join(', ')}` : '';
  if (e.status === 'TcbNotSupported') {
    return fail(id, `No TCB level applies (TcbNotSupported): ${e.reason ?? `the QE ISVSVN ${qeIsvSvn} meets no QE Identity level`}`, 'a matching TCB level', 'TcbNotSupported');
  }
  if (e.status === 'Revoked') return fail(id, `The platform TCB is Revoked${advisories}.`, 'a TCB status other than Revoked', 'Revoked');
  return pass(id, `TCB status ${e.status}${e.tcbDate ? ` (TCB level of ${e.tcbDate})` : ''}${advisories}.`);
}

// ---------------------------------------------------------------------------------------
// Gathering collateral.

async function fetchDoc(
  kind: CollateralKind,
  get: () => Promise<CollateralDocument>,
  required: boolean,
): Promise<CollateralDocument | undefined> {
  try {
    return await get();
  } catch (err) {
    if (!required && err instanceof CollateralUnavailableError) return undefined;
    if (err instanceof CollateralUnavailableError) throw err;
    throw new CollateralUnavailableError(kind, `The ${DOCUMENT_NAMES[kind]} could not be obtained: ${(err as Error).message}`);
  }
}

function needChain(kind: CollateralKind, doc: CollateralDocument): string {
  if (!doc.issuerChain) throw new CollateralUnavailableError(kind, `The ${DOCUMENT_NAMES[kind]} came without its issuer chain.`);
  return doc.issuerChain;
}

async function collateralFromSource(
  source: CollateralSource,
  needs: IntelCollateralNeeds,
  crl: CrlMode,
): Promise<{ collateral: IntelCollateral; provenance: IntelQuoteOptions['provenance'] }> {
  const wantCrl = crl !== 'off';
  const [tcbInfo, qeIdentity, pckCrl, rootCaCrl] = await Promise.all([
    fetchDoc('tcb-info', () => source.intelTcbInfo({ tee: needs.tee, fmspc: needs.fmspc }), true),
    fetchDoc('qe-identity', () => source.intelQeIdentity({ tee: needs.tee }), true),
    wantCrl ? fetchDoc('pck-crl', () => source.intelPckCrl({ ca: needs.pckCa }), crl === 'require') : undefined,
    wantCrl ? fetchDoc('root-ca-crl', () => source.intelRootCaCrl(), crl === 'require') : undefined,
  ]);
  const provenance: NonNullable<IntelQuoteOptions['provenance']> = {};
  const note = (kind: CollateralKind, doc: CollateralDocument | undefined) => {
    if (doc) provenance[kind] = { source: doc.source, ...(doc.stale ? { stale: true } : {}) };
  };
  note('tcb-info', tcbInfo);
  note('qe-identity', qeIdentity);
  note('pck-crl', pckCrl);
  note('root-ca-crl', rootCaCrl);
  const utf8 = (d: CollateralDocument) => Buffer.from(d.bytes).toString('utf8');
  return {
    collateral: {
      tcbInfo: utf8(tcbInfo!),
      tcbInfoIssuerChain: needChain('tcb-info', tcbInfo!),
      qeIdentity: utf8(qeIdentity!),
      qeIdentityIssuerChain: needChain('qe-identity', qeIdentity!),
      ...(pckCrl ? { pckCrl: pckCrl.bytes, ...(pckCrl.issuerChain ? { pckCrlIssuerChain: pckCrl.issuerChain } : {}) } : {}),
      ...(rootCaCrl ? { rootCaCrl: rootCaCrl.bytes } : {}),
    },
    provenance,
  };
}

/** A quote with the collateral its verification needs: plain data, nothing left to fetch. */
export interface PreparedIntelEvidence {
  tee: 'tdx' | 'sgx';
  quote: Uint8Array;
  collateral: IntelCollateral;
  at: Date;
  crl: CrlMode;
  provenance: NonNullable<IntelQuoteOptions['provenance']>;
  eventLog?: Uint8Array;
}

/** Parse the quote (malformed evidence is refused here) and take its collateral from the evidence or options.collateral. */
export async function prepareIntelEvidence(evidence: IntelEvidence, options: VerifyOptions): Promise<PreparedIntelEvidence> {
  // A copy, taken before any await: the caller may reuse its buffer while collateral is fetched.
  const bytes = Uint8Array.from(evidence.quote);
  const quote = parseIntelQuote(bytes);
  if (quote.tee !== evidence.tee) {
    throw new EvidenceFormatError('intel_quote_tee_mismatch', `The evidence is labelled ${evidence.tee} but the quote is a ${quote.tee} quote.`);
  }
  const crl = options.crl ?? 'prefer';
  if (evidence.eventLog !== undefined && evidence.tee !== 'tdx') {
    throw new EvidenceFormatError('intel_eventlog_not_tdx', 'An event log comes with TDX evidence only; SGX quotes have no RTMRs to replay it against.');
  }
  const prepared = { tee: evidence.tee, quote: bytes, at: options.at, crl, ...(evidence.eventLog !== undefined ? { eventLog: Uint8Array.from(evidence.eventLog) } : {}) };
  if (evidence.collateral) {
    const provenance = Object.fromEntries((['tcb-info', 'qe-identity', 'pck-crl', 'root-ca-crl'] as const).map((k) => [k, { source: 'evidence' }]));
    return { ...prepared, collateral: evidence.collateral, provenance };
  }
  if (!options.collateral) {
    throw new CollateralUnavailableError('tcb-info', 'The Intel TCB Info, QE Identity and CRLs were neither supplied with the evidence nor obtainable from a collateral source.');
  }
  const { collateral, provenance } = await collateralFromSource(options.collateral, intelCollateralNeeds(quote), crl);
  return { ...prepared, collateral, provenance: provenance ?? {} };
}

/**
 * Whether the PCK chain of an Intel quote reaches one of `anchors` (signatures only, no
 * collateral, no time). For the service's last word when no trust domain could gather the
 * quote's collateral: a chain that reaches no pinned root is refused as untrusted, since
 * retrying later cannot make it Intel's, instead of being answered "try again" (503).
 */
export function intelChainReachesAnchors(quoteBytes: Uint8Array, anchors: readonly IntelAnchor[]): Check {
  const quote = parseIntelQuote(quoteBytes);
  const pck = verifyPckChain(parsePckChain(quote.certification.pckChainPem), anchors, new Date(0), quote.tee);
  const chained = pck.checks.find((c) => c.id === `${quote.tee}.pck.chain`);
  return chained ?? fail(`${quote.tee}.pck.chain`, 'The PCK chain was not checked.', 'a PCK chain to a pinned Intel root', 'none');
}
