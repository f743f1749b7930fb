// `tessera verify snp`: verify one SEV-SNP attestation report offline and print the
// verdict. Exit 0 verified, 1 rejected (EXIT_REJECTED), 2 usage error or unreadable
// input (EXIT_USAGE), each failure as one line on stderr, never a stack trace.

import { Command, Option } from 'commander';
import { CollateralUnavailableError } from '../../verifier/errors.ts';
import type { CrlMode, SnpCertificates } from '../../verifier/evidence.ts';
import type { VerificationResult } from '../../verifier/result.ts';
import { SNP_PRODUCTS } from '../../verifier/snp/product.ts';
import { snpVcekRequest, verifySnpReport } from '../../verifier/snp/verify-evidence.ts';
import { verifyEvidence } from '../../verifier/verify-evidence.ts';
import { defaultCachePath, refuseOfflineWithUrl, verifyCollateralSource } from './collateral.ts';
import { parseCertificate, parseCertificates } from '../../verifier/x509/certificate.ts';
import { CliError, EXIT_REJECTED, EXIT_USAGE } from './errors.ts';
import { asUsageError, parseAt, readInput } from './inputs.ts';
import { checkAndWarningLines } from './print-result.ts';

interface SnpCliOptions {
  report: string;
  vcek?: string;
  vlek?: string;
  certChain?: string;
  crl?: string;
  crlMode: CrlMode;
  at?: string;
  json?: boolean;
  /** The product the caller expects: checked against the report and its signer, never used in their place. */
  product?: string;
  /** Collateral fetching when no --vcek/--vlek is given (server/cli/collateral.ts). */
  offline?: boolean;
  cache?: string;
  kdsUrl?: string;
  timeout?: string;
}

/** The certificates from the options: signer, then the chain (intermediate and, if present, the self-signed root). */
function certificatesFrom(opts: SnpCliOptions): SnpCertificates {
  const certs: SnpCertificates = {};
  if (opts.vcek) certs.vcek = parseCertificate(readInput(opts.vcek, 'VCEK certificate'), 'VCEK certificate').der;
  if (opts.vlek) certs.vlek = parseCertificate(readInput(opts.vlek, 'VLEK certificate'), 'VLEK certificate').der;
  if (opts.certChain) {
    // AMD KDS cert_chain order: the intermediate, then the ARK. A single certificate is the
    // ARK when self-signed, else the intermediate. The ARK is only compared with the pinned one.
    const chain = parseCertificates(readInput(opts.certChain, 'certificate chain'), 'certificate chain');
    if (chain.length > 2) {
      throw new CliError(`--cert-chain must hold the intermediate (ASK or ASVK) and at most the ARK; it holds ${chain.length} certificates`, EXIT_USAGE);
    }
    const [first, second] = chain;
    const single = chain.length === 1 && first !== undefined;
    const intermediate = single && first.subjectNameDer === first.issuerNameDer ? undefined : first;
    const root = single ? (intermediate ? undefined : first) : second;
    if (intermediate) {
      if (opts.vlek) certs.asvk = intermediate.der;
      else certs.ask = intermediate.der;
    }
    if (root) certs.ark = root.der;
  }
  return certs;
}

function summary(result: VerificationResult, at: Date): string {
  const lines: string[] = [];
  const c = result.claims;
  lines.push(`SEV-SNP report ${result.verified ? 'VERIFIED' : 'REJECTED'} at ${at.toISOString()}`);
  const snp = c?.snp ?? {};
  lines.push(`  product      ${result.product ?? 'unknown'}, signer ${result.signer ?? 'unknown'}, report version ${String(snp.version)}`);
  if (c) {
    lines.push(`  measurement  ${c.measurement}`);
    lines.push(`  report_data  ${c.reportData}`);
    if (c.tcb.reported) lines.push(`  reported TCB ${Object.entries(c.tcb.reported).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    lines.push(`  debug        ${c.debug ? 'ALLOWED (guest policy DEBUG is set)' : 'no'}`);
    lines.push(`  vmpl         ${String(snp.vmpl)}`);
    if (c.platform.cspId) lines.push(`  csp          ${c.platform.cspId}`);
  }
  lines.push(...checkAndWarningLines(result));
  return `${lines.join('\n')}\n`;
}

async function run(opts: SnpCliOptions): Promise<void> {
  if (opts.vcek && opts.vlek) throw new CliError('give either --vcek or --vlek, not both', EXIT_USAGE);
  refuseOfflineWithUrl(opts);
  const at = parseAt(opts.at);
  const report = readInput(opts.report, 'report');
  let result: VerificationResult;
  try {
    if (opts.product !== undefined) expectProduct(opts.product, snpVcekRequest(report).product);
    const certificates = certificatesFrom(opts);
    const crl = opts.crl ? readInput(opts.crl, 'CRL') : undefined;
    if (opts.vcek || opts.vlek) {
      result = verifySnpReport(report, { certificates, ...(crl ? { crl } : {}), sources: sourcesFor(opts) }, { at, crl: opts.crlMode });
    } else {
      // No signer certificate given: the VCEK (and the CRL) come from the collateral cache,
      // filled from AMD KDS unless --offline.
      const collateral = await verifyCollateralSource({ ...opts, cache: opts.cache ?? defaultCachePath() }, at);
      result = await verifyEvidence({ tee: 'sev-snp', report, certificates, ...(crl ? { crl } : {}) }, { at, collateral, crl: opts.crlMode });
    }
  } catch (err) {
    if (err instanceof CollateralUnavailableError) {
      const hint = opts.offline
        ? 'Import it with `tessera collateral import BUNDLE` (a bundle made by `tessera collateral fetch --report` and `export` on a connected host), or pass --vcek FILE.'
        : 'Pass the signer certificate with --vcek FILE (or --vlek FILE); AMD KDS serves VCEKs at https://kdsintf.amd.com/vcek/v1/<product>/<hwid>.';
      // Say first what is needed, then why it could not be had.
      const needed = / VCEK for chip /.test(err.document) ? 'The VCEK certificate that signed this report is needed. ' : '';
      throw new CliError(`${needed}${err.message} ${hint}`, EXIT_USAGE);
    }
    throw asUsageError(err);
  }
  // A version 2 report names no product: the signer certificate did.
  expectProduct(opts.product, result.product, 'its signer certificate');
  process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : summary(result, at));
  if (!result.verified) process.exitCode = EXIT_REJECTED;
}

/**
 * --product is what the caller expects, never a substitute for what the evidence says (the
 * report's CPUID, v3+, else the signer certificate's productName): a mismatch is refused,
 * naming both, as `tessera collateral fetch --product` does.
 */
function expectProduct(flag: string | undefined, found: string | undefined, from = 'its CPUID'): void {
  if (flag === undefined) return;
  if (!(SNP_PRODUCTS as readonly string[]).includes(flag)) throw new CliError(`--product must be one of ${SNP_PRODUCTS.join(', ')}, not "${flag}"`, EXIT_USAGE);
  if (found !== undefined && found !== flag) throw new CliError(`the report is from a ${found} processor (${from}), not ${flag} (--product)`, EXIT_USAGE);
}

function sourcesFor(opts: SnpCliOptions): NonNullable<Parameters<typeof verifySnpReport>[1]['sources']> {
  const input = { source: 'input' };
  return {
    vcek: input,
    vlek: input,
    ...(opts.certChain ? { ask: input, asvk: input, ark: input } : {}),
    ...(opts.crl ? { crl: input } : {}),
  };
}

export function verifySnpCommand(): Command {
  return new Command('snp')
    // Usage errors reach main.ts as CommanderError (exit 2), as for the parent program.
    .exitOverride()
    .description('Verify an AMD SEV-SNP attestation report against the pinned AMD roots.')
    .requiredOption('--report <file>', 'the 1184-byte ATTESTATION_REPORT (binary)')
    .option('--vcek <file>', 'the VCEK certificate that signed the report (DER or PEM)')
    .option('--vlek <file>', 'the VLEK certificate that signed the report (DER or PEM)')
    .option('--cert-chain <file>', 'the ASK or ASVK, optionally followed by the ARK (PEM, as AMD KDS cert_chain serves it); the ARK is only compared with the pinned one')
    .option('--crl <file>', 'the AMD CRL for the product (DER or PEM), checked against the pinned ARK')
    .addOption(new Option('--crl-mode <mode>', 'require: fail without a CRL; prefer: check one if given; off: skip').choices(['require', 'prefer', 'off']).default('prefer'))
    .option('--at <iso-8601>', 'the verification time (default: now)')
    .option('--json', 'print the full result object as JSON')
    .option('--product <name>', 'the product you expect (Milan, Genoa, Turin): refused when the report (CPUID) or its signer names another; never used in their place')
    .option('--offline', 'without --vcek: take the VCEK and CRL from the collateral cache only, never from AMD KDS')
    .option('--cache <file>', 'without --vcek: the collateral cache file (default $XDG_CACHE_HOME/tessera/collateral.json)')
    .option('--kds-url <url>', 'without --vcek: AMD KDS base URL, or a mirror (default https://kdsintf.amd.com)')
    .option('--timeout <ms>', 'without --vcek: per-request timeout for AMD KDS, milliseconds', '10000')
    .action(async (opts: SnpCliOptions) => run(opts));
}
