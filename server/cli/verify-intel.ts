// `tessera verify tdx` and `tessera verify sgx`: verify one Intel DCAP quote offline against
// collateral in a directory and print the verdict. Exit 0 verified, 1 rejected
// (EXIT_REJECTED), 2 usage error or unreadable/malformed input (EXIT_USAGE); failures are
// one line on stderr, never a stack trace.
//
// The directory holds one file per Intel PCS response, named as in the test vectors:
// tcb_info.json, tcb_info_issuer_chain.pem, qe_identity.json, qe_identity_issuer_chain.pem,
// pck_crl.der (or .pem), pck_crl_issuer_chain.pem, root_ca_crl.der (or .pem).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { CollateralUnavailableError } from '../../verifier/errors.ts';
import type { IntelCollateral } from '../../verifier/evidence.ts';
import type { VerificationResult } from '../../verifier/result.ts';
import { parseIntelQuote } from '../../verifier/tdx/abi/quote.ts';
import { verifyIntelQuote } from '../../verifier/tdx/verify-evidence.ts';
import { verifyEvidence } from '../../verifier/verify-evidence.ts';
import { defaultCachePath, refuseOfflineWithUrl, verifyCollateralSource } from './collateral.ts';
import { CliError, EXIT_REJECTED, EXIT_USAGE } from './errors.ts';
import { asUsageError, parseAt, readInput } from './inputs.ts';
import { checkAndWarningLines } from './print-result.ts';

interface IntelCliOptions {
  quote: string;
  /** Absent: fetched from Intel PCS through the collateral cache (server/cli/collateral.ts). */
  collateral?: string;
  offline?: boolean;
  cache?: string;
  pcsUrl?: string;
  timeout?: string;
  at?: string;
  /** commander's --no-crl: false when given. */
  crl: boolean;
  json?: boolean;
  /** TDX: the CC event log, replayed against the quote's RTMRs. */
  eventLog?: string;
}

/** The collateral files of `dir`; the TCB Info and QE Identity (and their chains) are required. */
export function readIntelCollateralDir(dir: string): IntelCollateral {
  const required = (name: string, what: string): string => {
    const path = join(dir, name);
    if (!existsSync(path)) throw new CliError(`the ${what} is missing: no ${name} in ${dir}`, EXIT_USAGE);
    return readInput(path, what).toString('utf8');
  };
  const optional = (names: string[], what: string): Buffer | undefined => {
    const name = names.find((n) => existsSync(join(dir, n)));
    return name ? readInput(join(dir, name), what) : undefined;
  };
  const pckCrl = optional(['pck_crl.der', 'pck_crl.pem'], 'PCK CRL');
  const pckCrlIssuerChain = optional(['pck_crl_issuer_chain.pem'], 'PCK CRL issuer chain');
  const rootCaCrl = optional(['root_ca_crl.der', 'root_ca_crl.pem'], 'Root CA CRL');
  return {
    tcbInfo: required('tcb_info.json', 'TCB Info'),
    tcbInfoIssuerChain: required('tcb_info_issuer_chain.pem', 'TCB Info issuer chain'),
    qeIdentity: required('qe_identity.json', 'QE Identity'),
    qeIdentityIssuerChain: required('qe_identity_issuer_chain.pem', 'QE Identity issuer chain'),
    ...(pckCrl ? { pckCrl } : {}),
    ...(pckCrlIssuerChain ? { pckCrlIssuerChain: pckCrlIssuerChain.toString('utf8') } : {}),
    ...(rootCaCrl ? { rootCaCrl } : {}),
  };
}

const BODY_NAMES: Record<string, string> = { td10: 'TD 1.0 report', td15: 'TD 1.5 report', sgx: 'SGX enclave report' };

function summary(result: VerificationResult, at: Date, quoteInfo: string): string {
  const lines: string[] = [];
  const c = result.claims;
  const tee = result.tee === 'tdx' ? 'TDX' : 'SGX';
  lines.push(`${tee} quote ${result.verified ? 'VERIFIED' : 'REJECTED'} at ${at.toISOString()}`);
  lines.push(`  quote        ${quoteInfo}`);
  if (result.tcb) {
    const t = result.tcb;
    lines.push(`  TCB status   ${t.status}${t.tcbDate ? ` (TCB level of ${t.tcbDate})` : ''}, evaluation data number ${t.evaluationDataNumber ?? 'n/a'}`);
    lines.push(`  advisories   ${t.advisoryIds.length > 0 ? t.advisoryIds.join(', ') : 'none'}`);
  }
  if (c) {
    lines.push(`  fmspc        ${c.platform.fmspc ?? 'unknown'}`);
    lines.push(`  ${result.tee === 'tdx' ? 'MRTD        ' : 'MRENCLAVE   '} ${c.measurement}`);
    if (c.tdx) {
      const rtmr = c.tdx.rtmr as string[];
      rtmr.forEach((r, i) => lines.push(`  RTMR${i}        ${r}`));
      const log = c.tdx.eventLog as { rtmr: unknown[][] } | undefined;
      if (log) lines.push(`  event log    ${log.rtmr.map((l, i) => `RTMR${i} ${l.length}`).join(', ')} events (tessera eventlog FILE lists them)`);
    }
    if (c.sgx) lines.push(`  MRSIGNER     ${String(c.sgx.mrSigner)}, ISVPRODID ${String(c.sgx.isvProdId)}, ISVSVN ${String(c.sgx.isvSvn)}`);
    lines.push(`  report_data  ${c.reportData}`);
    lines.push(`  debug        ${c.debug ? `ALLOWED (${result.tee === 'tdx' ? 'TDATTRIBUTES.DEBUG' : 'ATTRIBUTES.DEBUG'} is set)` : 'no'}`);
  }
  lines.push(...checkAndWarningLines(result));
  return `${lines.join('\n')}\n`;
}

async function run(tee: 'tdx' | 'sgx', opts: IntelCliOptions): Promise<void> {
  refuseOfflineWithUrl(opts);
  const at = parseAt(opts.at);
  const bytes = readInput(opts.quote, 'quote');
  const eventLog = opts.eventLog !== undefined ? readInput(opts.eventLog, 'event log') : undefined;
  let result: VerificationResult;
  let quoteInfo: string;
  try {
    const quote = parseIntelQuote(bytes);
    if (quote.tee !== tee) {
      throw new CliError(`${opts.quote} is a ${quote.tee.toUpperCase()} quote: use \`tessera verify ${quote.tee}\``, EXIT_USAGE);
    }
    quoteInfo = `version ${quote.header.version}, ${BODY_NAMES[quote.body.kind]}, ${quote.length} bytes${quote.trailingBytes ? ` (+${quote.trailingBytes} trailing ignored)` : ''}`;
    if (opts.collateral) {
      const collateral = readIntelCollateralDir(opts.collateral);
      const provenance = { source: 'input' };
      result = verifyIntelQuote(quote, collateral, {
        at,
        crl: opts.crl ? 'prefer' : 'off',
        provenance: { 'tcb-info': provenance, 'qe-identity': provenance, 'pck-crl': provenance, 'root-ca-crl': provenance },
        ...(eventLog ? { eventLog } : {}),
      });
    } else {
      // No --collateral: TCB Info, QE Identity and CRLs come from the collateral cache,
      // filled from Intel PCS (or --pcs-url) unless --offline.
      const source = await verifyCollateralSource({ ...opts, cache: opts.cache ?? defaultCachePath() }, at);
      result = await verifyEvidence({ tee, quote: bytes, ...(eventLog ? { eventLog } : {}) }, { at, collateral: source, crl: opts.crl ? 'prefer' : 'off' });
    }
  } catch (err) {
    if (err instanceof CollateralUnavailableError) {
      // Say how to get it: the commands of README "Collateral" (server/cli/collateral.ts).
      const hint = opts.offline
        ? `Import it with \`tessera collateral import BUNDLE\` (a bundle made by \`tessera collateral fetch --quote QUOTE\` or \`--tee ${tee} --fmspc HEX\`, then \`export\`, on a connected host), or pass --collateral DIR.`
        : 'Pass the files with --collateral DIR, or point --pcs-url at a reachable Intel PCS or PCCS (default https://api.trustedservices.intel.com).';
      throw new CliError(`${err.message} ${hint}`, EXIT_USAGE);
    }
    throw asUsageError(err);
  }
  process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : summary(result, at, quoteInfo));
  if (!result.verified) process.exitCode = EXIT_REJECTED;
}

export function verifyIntelCommand(tee: 'tdx' | 'sgx'): Command {
  const name = tee === 'tdx' ? 'TDX' : 'SGX';
  const command = new Command(tee)
    .description(`Verify an Intel ${name} DCAP quote against Intel collateral and the pinned Intel SGX Root CA.`)
    .requiredOption('--quote <file>', `the ${name} quote (binary; trailing zero padding is tolerated)`)
    .option(
      '--collateral <dir>',
      'directory with tcb_info.json, tcb_info_issuer_chain.pem, qe_identity.json, qe_identity_issuer_chain.pem and, for revocation, pck_crl.der|.pem and root_ca_crl.der|.pem',
    )
    .option('--at <iso-8601>', 'the verification time (default: now)')
    .option('--no-crl', 'skip the PCK and Root CA CRL checks (the result records that they were skipped)')
    .option('--json', 'print the full result object as JSON')
    .option('--offline', 'without --collateral: take the collateral from the cache only, never from Intel PCS')
    .option('--cache <file>', 'without --collateral: the collateral cache file (default $XDG_CACHE_HOME/tessera/collateral.json)')
    .option('--pcs-url <url>', 'without --collateral: Intel PCS base URL, or a PCCS (default https://api.trustedservices.intel.com)')
    .option('--timeout <ms>', 'without --collateral: per-request timeout for Intel PCS, milliseconds', '10000')
    .action(async (opts: IntelCliOptions) => run(tee, opts));
  // The event log (CCEL) replays to RTMRs, which only TD quotes have.
  if (tee === 'tdx') command.option('--event-log <file>', 'the CC event log (/sys/firmware/acpi/tables/data/CCEL): replayed against RTMR0..3, its events in the claims');
  return command;
}
