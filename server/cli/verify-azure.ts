// `tessera verify az-snp-vtpm` and `tessera verify az-tdx-vtpm`: verify the evidence of an
// Azure confidential VM (HCL report + TPM quote, as the CoCo attestation-agent sends it)
// against an expected nonce, offline, and print the verdict. Exit 0 only when every check
// passes, 1 rejected (EXIT_REJECTED), 2 usage error or unreadable/malformed input
// (EXIT_USAGE), each failure one line on stderr, never a stack trace.
//
// The hardware half takes its collateral as the bare commands do: the SNP report's VCEK from
// the evidence's `vcek` (or --vcek), else from AMD KDS through the collateral cache, as
// `tessera verify snp` without --vcek (verify-snp.ts); the TD quote's TCB Info, QE Identity and
// CRLs from --collateral DIR, else from Intel PCS through the cache, as `tessera verify tdx`
// (verify-intel.ts).

import { Command, Option } from 'commander';
import { azureEvidenceFromJson } from '../../verifier/azure/evidence-json.ts';
import { CollateralUnavailableError } from '../../verifier/errors.ts';
import type { AzureEvidence, CrlMode, VerifyOptions } from '../../verifier/evidence.ts';
import type { VerificationResult } from '../../verifier/result.ts';
import { parseCertificates } from '../../verifier/x509/certificate.ts';
import { prepareEvidence, verifyPrepared } from '../../verifier/verify-evidence.ts';
import { defaultCachePath, refuseOfflineWithUrl, verifyCollateralSource } from './collateral.ts';
import { CliError, EXIT_REJECTED, EXIT_USAGE } from './errors.ts';
import { asUsageError, parseAt, readInput } from './inputs.ts';
import { checkAndWarningLines } from './print-result.ts';
import { readIntelCollateralDir } from './verify-intel.ts';

type AzureTee = 'az-snp-vtpm' | 'az-tdx-vtpm';

interface AzureCliOptions {
  nonce: string;
  at?: string;
  json?: boolean;
  offline?: boolean;
  cache?: string;
  timeout?: string;
  // az-snp-vtpm
  vcek?: string;
  crl?: string | boolean;
  crlMode?: CrlMode;
  kdsUrl?: string;
  // az-tdx-vtpm
  collateral?: string;
  pcsUrl?: string;
}

/**
 * The largest TPM2B_DATA a TPM takes as qualifying data is one digest of its largest hash
 * (TPM 2.0 Part 2, TPMU_HA): 64 bytes with SHA-512; a quote never carries a longer nonce.
 */
const MAX_NONCE_BYTES = 64;

/** --nonce: the expected qualifying data, hex (an optional 0x is allowed). */
export function parseNonce(text: string): Uint8Array {
  const hex = text.startsWith('0x') || text.startsWith('0X') ? text.slice(2) : text;
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex)) {
    throw new CliError(`--nonce must be the expected TPM quote nonce as an even number of hex digits, not "${text}"`, EXIT_USAGE);
  }
  if (hex.length / 2 > MAX_NONCE_BYTES) {
    throw new CliError(`--nonce is ${hex.length / 2} bytes; a TPM quote nonce holds at most ${MAX_NONCE_BYTES}`, EXIT_USAGE);
  }
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** The attestation-agent's JSON evidence in `path`, decoded (malformed → exit 2 naming the field). */
function readEvidence(tee: AzureTee, path: string): AzureEvidence {
  const text = readInput(path, 'evidence').toString('utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new CliError(`the evidence ${path} is not JSON: ${(err as Error).message}`, EXIT_USAGE);
  }
  try {
    return azureEvidenceFromJson(tee, doc);
  } catch (err) {
    throw asUsageError(err);
  }
}

function summary(result: VerificationResult, at: Date, evidence: AzureEvidence): string {
  const lines: string[] = [];
  const c = result.claims;
  const kind = result.tee === 'az-snp-vtpm' ? 'Azure SEV-SNP vTPM' : 'Azure TDX vTPM';
  lines.push(`${kind} evidence ${result.verified ? 'VERIFIED' : 'REJECTED'} at ${at.toISOString()}`);
  lines.push(`  evidence     agent version ${evidence.version}, HCL report ${evidence.hclReport.length} bytes, ${evidence.tpmQuote.pcrs.length} PCR values`);
  if (result.tee === 'az-snp-vtpm') {
    lines.push(`  product      ${result.product ?? 'unknown'}, signer ${result.signer ?? 'unknown'}`);
  } else if (result.tcb) {
    const t = result.tcb;
    lines.push(`  TCB status   ${t.status}${t.tcbDate ? ` (TCB level of ${t.tcbDate})` : ''}, advisories ${t.advisoryIds.length > 0 ? t.advisoryIds.join(', ') : 'none'}`);
  }
  if (c) {
    lines.push(`  ${result.tee === 'az-snp-vtpm' ? 'measurement ' : 'MRTD        '} ${c.measurement}`);
    if (c.tcb.reported) lines.push(`  reported TCB ${Object.entries(c.tcb.reported).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    lines.push(`  debug        ${c.debug ? 'ALLOWED' : 'no'}`);
    if (c.tpm) {
      lines.push(`  TPM nonce    ${c.tpm.nonce}`);
      const pcrs = Object.entries(c.tpm.pcrs);
      for (const [i, v] of pcrs.slice(0, 8)) lines.push(`  PCR${i.padEnd(9)} ${v}`);
      if (pcrs.length > 8) lines.push(`  ...          ${pcrs.length - 8} more PCRs (--json lists them)`);
    }
    if (c.vm) {
      const vm = c.vm;
      lines.push(`  VM           secure boot ${vm.secureBoot === undefined ? 'unknown' : vm.secureBoot ? 'on' : 'OFF'}, TPM ${vm.tpmEnabled === undefined ? 'unknown' : vm.tpmEnabled ? 'enabled' : 'DISABLED'}, id ${vm.vmId ?? 'unknown'}`);
    }
  }
  lines.push(...checkAndWarningLines(result));
  return `${lines.join('\n')}\n`;
}

/** The hint for a document the command could not get, as `verify snp` / `verify tdx` give it. */
function unavailable(tee: AzureTee, err: CollateralUnavailableError, offline: boolean | undefined): CliError {
  if (tee === 'az-snp-vtpm') {
    const hint = offline
      ? 'Import it with `tessera collateral import BUNDLE` (a bundle made by `tessera collateral fetch --report` and `export` on a connected host), or pass --vcek FILE.'
      : 'Pass the signer certificate with --vcek FILE; AMD KDS serves VCEKs at https://kdsintf.amd.com/vcek/v1/<product>/<hwid>.';
    const needed = / VCEK for chip /.test(err.document) || err.document === 'vcek' ? 'The VCEK certificate that signed the SNP report is needed. ' : '';
    return new CliError(`${needed}${err.message} ${hint}`, EXIT_USAGE);
  }
  const hint = offline
    ? 'Import it with `tessera collateral import BUNDLE` (a bundle made by `tessera collateral fetch --tee tdx --fmspc HEX`, then `export`, on a connected host), or pass --collateral DIR.'
    : 'Pass the files with --collateral DIR, or point --pcs-url at a reachable Intel PCS or PCCS (default https://api.trustedservices.intel.com).';
  return new CliError(`${err.message} ${hint}`, EXIT_USAGE);
}

async function run(tee: AzureTee, file: string, opts: AzureCliOptions): Promise<void> {
  refuseOfflineWithUrl(opts);
  const at = parseAt(opts.at);
  const nonce = parseNonce(opts.nonce);
  const evidence = readEvidence(tee, file);
  let result: VerificationResult;
  try {
    result = await verifyWith(evidence, nonce, at, opts);
  } catch (err) {
    if (err instanceof CollateralUnavailableError) throw unavailable(tee, err, opts.offline);
    throw asUsageError(err);
  }
  process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : summary(result, at, evidence));
  if (!result.verified) process.exitCode = EXIT_REJECTED;
}

async function verifyWith(evidence: AzureEvidence, nonce: Uint8Array, at: Date, opts: AzureCliOptions): Promise<VerificationResult> {
  let options: VerifyOptions;
  if (evidence.tee === 'az-snp-vtpm') {
    const crlMode = opts.crlMode ?? 'prefer';
    if (opts.vcek !== undefined) {
      if (evidence.certificates?.vcek) throw new CliError(`the evidence already carries the VCEK (its vcek member); drop --vcek`, EXIT_USAGE);
      const [vcek, ask, ark] = parseCertificates(readInput(opts.vcek, 'VCEK certificate'), 'VCEK certificate');
      evidence.certificates = { vcek: vcek!.der, ...(ask ? { ask: ask.der } : {}), ...(ark ? { ark: ark.der } : {}) };
    }
    if (typeof opts.crl === 'string') evidence.crl = readInput(opts.crl, 'CRL');
    if (evidence.certificates?.vcek) {
      // The signer came with the evidence (or --vcek): verified as `verify snp --vcek` does,
      // with nothing fetched; the CRL only when --crl gives it.
      options = { at, nonce, crl: crlMode };
    } else {
      // No VCEK: from the collateral cache, filled from AMD KDS unless --offline.
      const collateral = await verifyCollateralSource({ ...opts, cache: opts.cache ?? defaultCachePath() }, at);
      options = { at, nonce, crl: crlMode, collateral };
    }
  } else {
    const crl: CrlMode = opts.crl === false ? 'off' : 'prefer';
    if (opts.collateral !== undefined) {
      evidence.collateral = readIntelCollateralDir(opts.collateral);
      options = { at, nonce, crl };
    } else {
      const collateral = await verifyCollateralSource({ ...opts, cache: opts.cache ?? defaultCachePath() }, at);
      options = { at, nonce, crl, collateral };
    }
  }
  const prepared = await prepareEvidence(evidence, options);
  // Files named on the command line are `input`, as `verify tdx --collateral` records them.
  if (prepared.tee === 'az-tdx-vtpm' && prepared.inner && opts.collateral !== undefined) {
    const input = { source: 'input' };
    prepared.inner.provenance = { 'tcb-info': input, 'qe-identity': input, 'pck-crl': input, 'root-ca-crl': input };
  }
  return verifyPrepared(prepared);
}

export function verifyAzureCommand(tee: AzureTee): Command {
  const hw = tee === 'az-snp-vtpm' ? 'SEV-SNP' : 'TDX';
  const command = new Command(tee)
    // Usage errors reach main.ts as CommanderError (exit 2), as for the parent program.
    .exitOverride()
    .description(`Verify Azure confidential VM evidence (${hw} behind the vTPM: HCL report and TPM quote) against an expected nonce.`)
    .argument('<evidence>', `the attestation-agent's ${tee} evidence (JSON: version, tpm_quote, hcl_report, ${tee === 'az-snp-vtpm' ? 'vcek' : 'td_quote'}; v0 field names too)`)
    .requiredOption('--nonce <hex>', "the TPM quote's expected qualifying data (extraData), hex; v2 evidence: also the start of the runtime data's user-data")
    .option('--at <iso-8601>', 'the verification time (default: now)')
    .option('--json', 'print the full result object as JSON')
    .option('--offline', `without ${tee === 'az-snp-vtpm' ? 'a VCEK' : '--collateral'}: take the collateral from the cache only, never from ${tee === 'az-snp-vtpm' ? 'AMD KDS' : 'Intel PCS'}`)
    .option('--cache <file>', 'the collateral cache file (default $XDG_CACHE_HOME/tessera/collateral.json)')
    .option('--timeout <ms>', 'per-request timeout for the vendor service, milliseconds', '10000');
  if (tee === 'az-snp-vtpm') {
    command
      .option('--vcek <file>', 'the VCEK (DER or PEM, optionally followed by ASK and ARK) when the evidence carries none')
      .option('--crl <file>', 'the AMD CRL for the product (DER or PEM), checked against the pinned ARK')
      .addOption(new Option('--crl-mode <mode>', 'require: fail without a CRL; prefer: check one if given; off: skip').choices(['require', 'prefer', 'off']).default('prefer'))
      .option('--kds-url <url>', 'without a VCEK: AMD KDS base URL, or a mirror (default https://kdsintf.amd.com)');
  } else {
    command
      .option(
        '--collateral <dir>',
        'directory with tcb_info.json, tcb_info_issuer_chain.pem, qe_identity.json, qe_identity_issuer_chain.pem and, for revocation, pck_crl.der|.pem and root_ca_crl.der|.pem',
      )
      .option('--no-crl', 'skip the PCK and Root CA CRL checks (the result records that they were skipped)')
      .option('--pcs-url <url>', 'without --collateral: Intel PCS base URL, or a PCCS (default https://api.trustedservices.intel.com)');
  }
  return command.action(async (file: string, opts: AzureCliOptions) => run(tee, file, opts));
}
