// `tessera-agent`: runs inside the confidential VM; gathers evidence and talks to tessera.
// Exit codes: 0 success; 1 the server denied (attestation refused, secret not released);
// 2 usage error, server unreachable, or anything unexpected. Errors are one clear message
// on stderr, never a stack trace; secret values are never printed.

import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { writeFile } from 'node:fs/promises';
import type { Tee } from '../../verifier/result.ts';
import type { SnpReportOptions } from '../../verifier/testing/snp-report-builder.ts';
import type { TdxQuoteOptions } from '../../verifier/testing/tdx-quote-builder.ts';
import { AgentError, evidenceJson, isLoopback, printable, ServerProblem, ServerUnreachable, TesseraClient, type AttestOutcome } from '../client.ts';
import { isSafeFileName, writeFileAtomic0600, writeSecretToDir } from '../files.ts';
import { createProvider, PROVIDER_NAMES, type ProviderName } from '../providers/auto.ts';
import { AZURE_IMDS } from '../providers/azure-vtpm.ts';
import { CONFIGFS_TSM_ROOT } from '../providers/configfs-tsm.ts';
import { ProviderError, REPORT_DATA_LENGTH, type EvidenceProvider } from '../providers/provider.ts';
import { kbsAttest, kbsFetchResources, resourceFileName, type KbsAgentOptions } from '../kbs/agent.ts';
import { KbsClient, KbsProblem, KbsUnreachable, resourcePath } from '../kbs/client.ts';
import { KbsEvidenceError } from '../kbs/evidence.ts';
import { JweError } from '../kbs/jwe.ts';
import { SIMULATED_TEES } from '../providers/simulator.ts';

const EXIT_DENIED = 1;
const EXIT_ERROR = 2;

class UsageError extends Error {}

interface ProviderFlags {
  provider: ProviderName;
  tee?: Tee;
  simulatorDir?: string;
  configfsRoot?: string;
  simMeasurement?: Buffer;
  simDebug?: boolean;
  simHostData?: Buffer;
  simGuestSvn?: number;
  simRtmr?: Buffer[];
  tcti?: string;
  azureImds?: string;
  azureReportTimeout?: number;
}

interface ServerFlags {
  server: string;
  timeout: number;
  retries: number;
  insecureHttp?: boolean;
  protocol: 'tessera' | 'kbs';
  initData?: string;
}

function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return Number(value);
  };
}

function hexBytes(size: number) {
  return (value: string): Buffer => {
    const clean = value.replace(/^0x/i, '');
    if (!/^[0-9a-fA-F]*$/.test(clean) || clean.length !== size * 2) throw new InvalidArgumentError(`expected ${size} bytes as ${size * 2} hex digits`);
    return Buffer.from(clean, 'hex');
  };
}

/** `--sim-rtmr I=HEX`, repeatable: RTMR I (0-3) set to 48 bytes. */
function rtmrValue(value: string, previous: Buffer[] | undefined): Buffer[] {
  const m = /^([0-3])=(?:0x)?([0-9a-fA-F]{96})$/.exec(value);
  if (!m) throw new InvalidArgumentError('expected INDEX=HEX with INDEX 0-3 and 48 bytes of hex');
  const rtmr = previous ? [...previous] : [0, 1, 2, 3].map(() => Buffer.alloc(48));
  rtmr[Number(m[1])] = Buffer.from(m[2]!, 'hex');
  return rtmr;
}

function providerOptions(cmd: Command, defaultProvider: ProviderName): Command {
  return cmd
    .addOption(new Option('--provider <name>', 'evidence provider').choices([...PROVIDER_NAMES]).default(defaultProvider))
    .addOption(new Option('--tee <tee>', 'TEE to simulate (simulator only)').choices([...SIMULATED_TEES]))
    .option('--simulator-dir <dir>', 'simulator chain directory (default $TESSERA_SIMULATOR_DIR or ~/.local/state/tessera/simulator)')
    .option('--configfs-root <dir>', 'configfs-tsm report directory', CONFIGFS_TSM_ROOT)
    .option('--tcti <conf>', 'azure-vtpm: tpm2-tools TCTI, e.g. swtpm:path=/run/tpm.sock (default $TPM2TOOLS_TCTI, else /dev/tpmrm0)')
    .option('--azure-imds <url>', `azure-vtpm: instance metadata service base URL (VCEK from THIM, TD quotes)`, AZURE_IMDS)
    .option('--azure-report-timeout <ms>', 'azure-vtpm: how long to wait for the paravisor to refresh the HCL report', integer(0, 600_000), 10_000)
    .option('--sim-measurement <hex>', 'simulator: SEV-SNP MEASUREMENT or TDX MRTD (48 bytes)', hexBytes(48))
    .option('--sim-debug', 'simulator: a debuggable guest (SNP policy DEBUG, TD attribute DEBUG)')
    .option('--sim-host-data <hex>', 'simulator, SEV-SNP: HOST_DATA (32 bytes)', hexBytes(32))
    .option('--sim-guest-svn <n>', 'simulator, SEV-SNP: GUEST_SVN', integer(0, 0xffffffff))
    .option('--sim-rtmr <index=hex>', 'simulator, TDX: RTMR value (repeatable)', rtmrValue);
}

function simulatedGuest(flags: ProviderFlags): { snp?: SnpReportOptions; tdx?: TdxQuoteOptions } | undefined {
  const given = [flags.simMeasurement, flags.simDebug, flags.simHostData, flags.simGuestSvn, flags.simRtmr].some((v) => v !== undefined);
  if (!given) return undefined;
  if (flags.provider !== 'simulator') throw new UsageError('The --sim-* options describe the simulated guest; they need --provider simulator.');
  // Azure guests are SEV-SNP or TDX guests under the paravisor: the same fields apply.
  const tdx = flags.tee === 'tdx' || flags.tee === 'az-tdx-vtpm';
  if (tdx && (flags.simHostData || flags.simGuestSvn !== undefined)) throw new UsageError('--sim-host-data and --sim-guest-svn are SEV-SNP fields; the TDX simulator has none.');
  if (!tdx && flags.simRtmr) throw new UsageError('--sim-rtmr is a TDX field; add --tee tdx (or az-tdx-vtpm).');
  if (tdx) {
    return {
      tdx: {
        ...(flags.simMeasurement ? { mrTd: flags.simMeasurement } : {}),
        ...(flags.simDebug ? { debug: true } : {}),
        ...(flags.simRtmr ? { rtmr: flags.simRtmr as [Buffer, Buffer, Buffer, Buffer] } : {}),
      },
    };
  }
  return {
    snp: {
      ...(flags.simMeasurement ? { measurement: flags.simMeasurement } : {}),
      ...(flags.simDebug ? { policy: { debug: true } } : {}),
      ...(flags.simHostData ? { hostData: flags.simHostData } : {}),
      ...(flags.simGuestSvn !== undefined ? { guestSvn: flags.simGuestSvn } : {}),
    },
  };
}

function serverOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--server <url>', 'tessera server base URL')
    .option('--timeout <ms>', 'per-request timeout in milliseconds', integer(1, 600_000), 15_000)
    .option('--retries <n>', 'retries on network errors, 429 and 503', integer(0, 100), 4)
    .option('--insecure-http', 'allow a plain-http --server on another host (development only: anyone on the path can answer in its name)')
    .addOption(new Option('--protocol <protocol>', "tessera's own protocol, or the Confidential Containers KBS protocol (--server is then a KBS: tessera's, or a Trustee)").choices(['tessera', 'kbs']).default('tessera'))
    .option('--init-data <file>', 'KBS only: the init-data TOML the host measured into HOST_DATA (SNP) or MRCONFIGID (TDX), sent with the evidence');
}

function kbsOptions(flags: ServerFlags): KbsAgentOptions {
  // A bad KBS URL is refused before the TEE is asked for anything.
  new KbsClient({ url: flags.server, ...(flags.insecureHttp ? { allowInsecureHttp: true } : {}) });
  warnInsecure(flags.server);
  return { url: flags.server, timeoutMs: flags.timeout, ...(flags.insecureHttp ? { allowInsecureHttp: true } : {}), ...(flags.initData !== undefined ? { initDataFile: flags.initData } : {}) };
}

function warnInsecure(server: string): void {
  const url = new URL(server);
  if (url.protocol === 'http:' && !isLoopback(url.hostname)) {
    process.stderr.write(`tessera-agent: WARNING: ${url.origin} is plain http (--insecure-http): anyone on the path can read the token and answer in the server's name, including with secrets of their choosing.\n`);
  }
}

async function openProvider(flags: ProviderFlags): Promise<EvidenceProvider> {
  if (flags.tee && flags.provider !== 'simulator') {
    throw new UsageError(`--tee chooses what the simulator simulates; with --provider ${flags.provider} the hardware decides.`);
  }
  const guest = simulatedGuest(flags);
  const provider = await createProvider(flags.provider, {
    ...(guest ? { simulatedGuest: guest } : {}),
    ...(flags.tee ? { tee: flags.tee } : {}),
    ...(flags.simulatorDir ? { simulatorDir: flags.simulatorDir } : {}),
    ...(flags.configfsRoot ? { configfsRoot: flags.configfsRoot } : {}),
    azure: {
      ...(flags.tcti ? { tcti: flags.tcti } : {}),
      ...(flags.azureImds ? { imds: flags.azureImds } : {}),
      ...(flags.azureReportTimeout !== undefined ? { reportTimeoutMs: flags.azureReportTimeout } : {}),
    },
  });
  if (provider.name === 'simulator') {
    process.stderr.write('tessera-agent: using the SIMULATOR: this evidence proves nothing about real hardware; only a development server accepts it.\n');
  }
  return provider;
}

function client(flags: ServerFlags): TesseraClient {
  if (flags.initData !== undefined) throw new UsageError('--init-data belongs to the KBS protocol; add --protocol kbs.');
  const c = new TesseraClient({ server: flags.server, timeoutMs: flags.timeout, retries: flags.retries, ...(flags.insecureHttp ? { allowInsecureHttp: true } : {}) });
  warnInsecure(flags.server);
  return c;
}

function summary(outcome: AttestOutcome): string {
  // Every field but the TEE comes from the server (or its token): printable() keeps an
  // impostor's escape sequences off the terminal.
  const lines = [`status:  ${printable(outcome.status)}`, `tee:     ${outcome.tee}`];
  if (outcome.policy) lines.push(`policy:  ${printable(outcome.policy)}`);
  const exp = /^\d+$/.test(outcome.expiresAt) ? new Date(Number(outcome.expiresAt)).toISOString() : printable(outcome.expiresAt);
  lines.push(`expires: ${exp}`);
  return `${lines.join('\n')}\n`;
}

function parseReportData(hex: string): Buffer {
  const clean = hex.replace(/^0x/i, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(clean)) throw new InvalidArgumentError('expected hex digits (an even number of them)');
  const bytes = Buffer.from(clean, 'hex');
  if (bytes.length > REPORT_DATA_LENGTH) throw new InvalidArgumentError(`REPORT_DATA is at most ${REPORT_DATA_LENGTH} bytes (${REPORT_DATA_LENGTH * 2} hex digits)`);
  // Shorter values are zero-padded on the right, as the hardware interfaces do.
  return Buffer.concat([bytes, Buffer.alloc(REPORT_DATA_LENGTH - bytes.length)]);
}

const program = new Command('tessera-agent')
  .description('tessera guest agent: gathers hardware evidence inside a confidential VM, attests to a tessera server and fetches secrets.')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

providerOptions(serverOptions(program.command('attest').description('attest this guest and print the result (status, policy, expiry)')), 'auto')
  .option('--out <file>', 'write the result token to this file (mode 0600)')
  .action(async (flags: ProviderFlags & ServerFlags & { out?: string }) => {
    if (flags.protocol === 'kbs') {
      const options = kbsOptions(flags);
      const outcome = await kbsAttest(await openProvider(flags), options);
      if (flags.out) await writeFileAtomic0600(flags.out, `${outcome.token}\n`);
      process.stdout.write(`protocol: kbs\ntee:      ${outcome.tee}\nexpires:  ${outcome.expiresAt ?? 'unknown (the token has no exp)'}\n`);
      return;
    }
    const tessera = client(flags); // a bad --server is refused before the TEE is asked for anything
    const provider = await openProvider(flags);
    const outcome = await tessera.attest(provider);
    if (flags.out) await writeFileAtomic0600(flags.out, `${outcome.token}\n`);
    process.stdout.write(summary(outcome));
    if (outcome.status === 'contraindicated') process.exitCode = EXIT_DENIED;
  });

const secret = program.command('secret').description('secrets released to this guest');
providerOptions(serverOptions(secret.command('get').description('attest and fetch secrets in one round trip, written atomically with mode 0600')), 'auto')
  .argument('<names...>', 'secret names')
  .option('--out <file>', 'file for the secret (one name only)')
  .option('--out-dir <dir>', 'directory for the secrets, one file per name (a tmpfs is recommended)')
  .action(async (names: string[], flags: ProviderFlags & ServerFlags & { out?: string; outDir?: string }) => {
    if ((flags.out === undefined) === (flags.outDir === undefined)) throw new UsageError('Give exactly one of --out FILE or --out-dir DIR.');
    if (flags.out !== undefined && names.length !== 1) throw new UsageError('--out takes one secret; use --out-dir for several.');
    const unique = [...new Set(names)];
    if (flags.protocol === 'kbs') {
      await kbsSecretGet(unique, flags);
      return;
    }
    const unsafe = flags.outDir !== undefined ? unique.filter((n) => !isSafeFileName(n)) : [];
    if (unsafe.length > 0) throw new UsageError(`Secret name(s) ${unsafe.map((n) => `"${n}"`).join(', ')} cannot be used as file names in --out-dir; fetch them with --out.`);
    const tessera = client(flags);
    const provider = await openProvider(flags);
    const outcome = await tessera.attest(provider, { release: unique });
    try {
      for (const name of unique) {
        const value = outcome.secrets.get(name)!;
        let path: string;
        if (flags.out !== undefined) {
          await writeFileAtomic0600(flags.out, value);
          path = flags.out;
        } else {
          path = await writeSecretToDir(flags.outDir!, name, value);
        }
        process.stdout.write(`secret ${name}: ${value.length} bytes written to ${path}\n`);
      }
    } finally {
      wipeSecrets(outcome);
    }
  });

providerOptions(program.command('evidence').description('print raw evidence for debugging (no server involved)'), 'auto')
  .requiredOption('--report-data <hex>', 'REPORT_DATA, up to 64 bytes in hex (zero-padded)', parseReportData)
  .requiredOption('--out <file>', 'output file')
  .addOption(new Option('--format <format>', 'raw: the report or quote bytes; json: the evidence object POST /v1/attest takes').choices(['raw', 'json']).default('raw'))
  .action(async (flags: ProviderFlags & { reportData: Buffer; out: string; format: 'raw' | 'json' }) => {
    const provider = await openProvider(flags);
    const evidence = await provider.getEvidence(flags.reportData);
    // raw, on Azure: the HCL report as read from the vTPM (the quote needs the JSON).
    const bytes = evidence.tee === 'tdx' ? evidence.quote : evidence.tee === 'sev-snp' ? evidence.report : Buffer.from(evidence.azure.hcl_report, 'base64url');
    if (flags.format === 'json') await writeFile(flags.out, `${JSON.stringify({ tee: evidence.tee, evidence: evidenceJson(evidence) }, null, 2)}\n`);
    else await writeFile(flags.out, bytes);
    const certs = evidence.tee === 'sev-snp' ? Object.keys(evidence.certificates ?? {}) : [];
    const what = evidence.tee === 'tdx' ? 'TDX quote' : evidence.tee === 'sev-snp' ? 'SEV-SNP report' : `${evidence.tee} evidence (${flags.format === 'json' ? 'HCL report, TPM quote and PCRs' : 'the HCL report; --format json keeps the TPM quote'})`;
    process.stdout.write(`${what} from ${provider.name}: ${bytes.length} bytes written to ${flags.out}${certs.length > 0 ? ` (certificates: ${certs.join(', ')}${flags.format === 'raw' ? '; use --format json to keep them' : ''})` : ''}\n`);
  });

/** `secret get --protocol kbs`: the names are KBS resource paths, <repository>/<type>/<tag>. */
async function kbsSecretGet(paths: string[], flags: ProviderFlags & ServerFlags & { out?: string; outDir?: string }): Promise<void> {
  for (const p of paths) {
    try {
      resourcePath(p);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  const unsafe = flags.outDir !== undefined ? paths.filter((p) => !isSafeFileName(resourceFileName(p))) : [];
  if (unsafe.length > 0) throw new UsageError(`Resource(s) ${unsafe.map((n) => `"${n}"`).join(', ')} cannot be written as file names in --out-dir; fetch them with --out.`);
  const options = kbsOptions(flags);
  const values = await kbsFetchResources(await openProvider(flags), paths, options);
  try {
    for (const p of paths) {
      const value = values.get(p)!;
      let path: string;
      if (flags.out !== undefined) {
        await writeFileAtomic0600(flags.out, value);
        path = flags.out;
      } else {
        path = await writeSecretToDir(flags.outDir!, resourceFileName(p), value);
      }
      process.stdout.write(`resource ${p}: ${value.length} bytes written to ${path}\n`);
    }
  } finally {
    for (const v of values.values()) v.fill(0);
  }
}

/** Zero the decrypted values in memory once they are written. */
function wipeSecrets(outcome: AttestOutcome): void {
  for (const v of outcome.secrets.values()) v.fill(0);
  outcome.secrets.clear();
}

function fail(message: string, code: number): void {
  process.stderr.write(`tessera-agent: ${message}\n`);
  process.exitCode = code;
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : EXIT_ERROR;
  } else if (err instanceof ServerProblem) {
    fail(`the server ${err.denied ? 'refused' : 'could not complete'} the request: ${err.message}`, err.denied ? EXIT_DENIED : EXIT_ERROR);
  } else if (err instanceof KbsProblem) {
    // The KBS protocol says no with 401 (kbs/src/error.rs in Trustee); anything else is a failure.
    fail(`the KBS ${err.status === 401 ? 'refused' : 'could not complete'} the request: ${printable(err.message)}`, err.status === 401 ? EXIT_DENIED : EXIT_ERROR);
  } else if (err instanceof KbsUnreachable || err instanceof JweError || err instanceof KbsEvidenceError) {
    fail(printable(err.message), EXIT_ERROR);
  } else if (err instanceof ServerUnreachable || err instanceof ProviderError || err instanceof AgentError || err instanceof UsageError || err instanceof TypeError) {
    fail(err.message, EXIT_ERROR);
  } else {
    fail(`unexpected failure: ${err instanceof Error ? err.message : String(err)}`, EXIT_ERROR);
  }
}
