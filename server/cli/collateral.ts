// `tessera collateral fetch|export|import|list`: fill a collateral cache file from AMD KDS
// and Intel PCS (or a mirror / PCCS), carry it as a bundle into an air-gapped site, load
// it there after verifying every document, and see what a cache holds.
// Exit codes: 0 done; 2 usage error or unreadable input; 3 a document could not be
// fetched, or a bundle held documents that do not verify (EXIT_UNAVAILABLE).

import { statSync } from 'node:fs';
import { mkdir, writeFile, rename } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Command, Option } from 'commander';
import { bundleTooLarge, exportBundle, importBundle, MAX_BUNDLE_BYTES } from '../../verifier/collateral/bundle.ts';
import { CachingCollateralSource } from '../../verifier/collateral/caching-source.ts';
import { describeDocument, documentKey, fetchDocument, normalizeRequest, requestFromKey, type CollateralRequest } from '../../verifier/collateral/document.ts';
import { FileCollateralStore } from '../../verifier/collateral/file-store.ts';
import { MemoryCollateralStore } from '../../verifier/collateral/memory-store.ts';
import { VendorCollateralSource } from '../../verifier/collateral/vendor-source.ts';
import { verifyCollateralEntry } from '../../verifier/collateral/verify-entry.ts';
import { CollateralUnavailableError } from '../../verifier/errors.ts';
import { PRODUCTION_ANCHORS } from '../../verifier/production-anchors.ts';
import { SNP_PRODUCTS, type SnpProduct } from '../../verifier/snp/product.ts';
import { snpVcekRequest } from '../../verifier/snp/verify-evidence.ts';
import { intelCollateralNeeds } from '../../verifier/tdx/verify-evidence.ts';
import { CliError, EXIT_USAGE } from './errors.ts';
import { asUsageError, parseAt, readInput } from './inputs.ts';

/** Some documents could not be had (fetch), or a bundle held documents that do not verify (import). */
export const EXIT_UNAVAILABLE = 3;

/** ~/.cache/tessera/collateral.json, or under $XDG_CACHE_HOME. */
export function defaultCachePath(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tessera', 'collateral.json');
}

export interface UpstreamCliOptions {
  kdsUrl?: string;
  pcsUrl?: string;
  timeout: string;
}

/** The vendor source the CLI options describe (shared with `tessera verify`). */
export function vendorSourceFrom(opts: UpstreamCliOptions): VendorCollateralSource {
  const timeoutMs = Number(opts.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new CliError(`--timeout must be a positive number of milliseconds, not "${opts.timeout}"`, EXIT_USAGE);
  for (const [flag, url] of [
    ['--kds-url', opts.kdsUrl],
    ['--pcs-url', opts.pcsUrl],
  ] as const) {
    if (url !== undefined && !/^https?:\/\/[^\s/]+/.test(url)) throw new CliError(`${flag} must be an http(s) URL, not "${url}"`, EXIT_USAGE);
  }
  return new VendorCollateralSource({
    ...(opts.kdsUrl ? { kds: { baseUrl: opts.kdsUrl } } : {}),
    ...(opts.pcsUrl ? { pcs: { baseUrl: opts.pcsUrl } } : {}),
    http: { timeoutMs, now: () => new Date() },
  });
}

export interface VerifyCollateralCliOptions {
  offline?: boolean;
  cache?: string;
  kdsUrl?: string;
  pcsUrl?: string;
  timeout?: string;
}

/**
 * --offline with --kds-url / --pcs-url contradict each other: refused (exit 2) before
 * anything is read or opened, rather than one silently winning over the other. Called by
 * `tessera verify` first, whether or not it will need the network.
 */
export function refuseOfflineWithUrl(opts: VerifyCollateralCliOptions): void {
  if (!opts.offline) return;
  const flag = opts.kdsUrl !== undefined ? '--kds-url' : opts.pcsUrl !== undefined ? '--pcs-url' : undefined;
  if (flag) throw new CliError(`--offline and ${flag} contradict each other: --offline never contacts a vendor; drop one of them`, EXIT_USAGE);
}

/**
 * The collateral source of `tessera verify` when the evidence's collateral is not given
 * on the command line: the cache file (`--cache`, else memory for this run) in front of
 * AMD KDS / Intel PCS, or the cache alone with `--offline`. Its clock is the verification
 * time, so `--at` judges freshness too.
 */
export async function verifyCollateralSource(opts: VerifyCollateralCliOptions, at: Date): Promise<CachingCollateralSource> {
  refuseOfflineWithUrl(opts);
  const store = opts.cache ? await openCache(opts.cache) : new MemoryCollateralStore();
  if (opts.offline) {
    return new CachingCollateralSource({ store, now: () => at, offline: true });
  }
  return new CachingCollateralSource({ store, upstream: vendorSourceFrom({ ...opts, timeout: opts.timeout ?? '10000' }), now: () => at });
}

async function openCache(path: string): Promise<FileCollateralStore> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const store = new FileCollateralStore(path);
  try {
    await store.list();
  } catch (err) {
    throw asUsageError(err);
  }
  for (const u of store.unreadable) process.stderr.write(`tessera: ignoring an unreadable entry of ${path} (${u.key}): ${u.reason}\n`);
  return store;
}

interface FetchOptions extends UpstreamCliOptions {
  fmspc?: string;
  tee?: 'tdx' | 'sgx';
  quote?: string;
  report?: string;
  product?: string;
  cache: string;
  at?: string;
}

/** What `fetch` should get for its input. */
async function fetchPlan(opts: FetchOptions): Promise<CollateralRequest[]> {
  const given = [opts.fmspc !== undefined, opts.quote !== undefined, opts.report !== undefined].filter(Boolean).length;
  if (given !== 1) throw new CliError('give exactly one of --fmspc HEX (with --tee), --quote FILE or --report FILE', EXIT_USAGE);
  const intel = (tee: 'tdx' | 'sgx', fmspc: string, cas: ('platform' | 'processor')[]): CollateralRequest[] => [
    { kind: 'intel-tcb-info', tee, fmspc },
    { kind: 'intel-qe-identity', tee },
    ...cas.map((ca): CollateralRequest => ({ kind: 'intel-pck-crl', ca })),
    { kind: 'intel-root-ca-crl' },
  ];
  try {
    if (opts.fmspc !== undefined) {
      if (!opts.tee) throw new CliError('--fmspc needs --tee tdx|sgx', EXIT_USAGE);
      // Which CA issued the platform's PCK is not known from the FMSPC: fetch both CRLs.
      return intel(opts.tee, opts.fmspc, ['platform', 'processor']).map((r) => normalizeRequest(r));
    }
    if (opts.quote !== undefined) {
      const needs = intelCollateralNeeds(readInput(opts.quote, 'quote'));
      return intel(needs.tee, needs.fmspc, [needs.pckCa]);
    }
    const vcek = snpVcekRequest(readInput(opts.report!, 'report'));
    const product = vcek.product ?? (opts.product as SnpProduct | undefined);
    if (!product) throw new CliError('this report (version 2) does not name its product: add --product Milan|Genoa|Turin', EXIT_USAGE);
    if (!SNP_PRODUCTS.includes(product)) throw new CliError(`--product must be one of ${SNP_PRODUCTS.join(', ')}, not "${product}"`, EXIT_USAGE);
    if (vcek.product && opts.product && opts.product !== vcek.product) {
      throw new CliError(`the report is from a ${vcek.product} processor, not ${opts.product}`, EXIT_USAGE);
    }
    return [
      { kind: 'snp-vcek', product, hwId: vcek.hwId, tcb: vcek.tcb },
      { kind: 'snp-cert-chain', product, signer: 'vcek' },
      { kind: 'snp-crl', product, signer: 'vcek' },
    ];
  } catch (err) {
    throw asUsageError(err);
  }
}

async function runFetch(opts: FetchOptions): Promise<void> {
  const at = parseAt(opts.at);
  const plan = await fetchPlan(opts);
  const upstream = vendorSourceFrom(opts);
  const store = await openCache(opts.cache);
  const source = new CachingCollateralSource({ store, upstream, now: () => at });
  let failures = 0;
  for (const request of plan) {
    const document = describeDocument(request);
    try {
      const doc = await fetchDocument(source, request);
      if (doc.stale) {
        // The vendor could not give a current one; the cached copy stays for stale serving.
        failures++;
        process.stdout.write(`STALE     ${document}: the vendor could not be reached or has nothing newer; the cached copy is past its next update\n`);
        continue;
      }
      const key = documentKey(request);
      const entry = await store.get(key);
      const verdict = entry ? verifyCollateralEntry(request, entry, PRODUCTION_ANCHORS, at) : { ok: false as const, reason: 'it was not stored' };
      if (!verdict.ok) {
        // A document that does not verify against the pinned roots is not kept.
        await store.delete(key);
        failures++;
        process.stdout.write(`REJECTED  ${document}: ${verdict.reason}\n`);
        continue;
      }
      process.stdout.write(`${doc.source === 'cache' ? 'cached   ' : 'fetched  '} ${document}\n`);
    } catch (err) {
      if (!(err instanceof CollateralUnavailableError)) throw err;
      failures++;
      process.stdout.write(`MISSING   ${err.message}\n`);
    }
  }
  process.stdout.write(`${plan.length - failures} of ${plan.length} documents in ${opts.cache}\n`);
  if (failures > 0) process.exitCode = EXIT_UNAVAILABLE;
}

async function runExport(opts: { out: string; cache: string }): Promise<void> {
  const store = await openCache(opts.cache);
  const entries = await store.list();
  if (entries.length === 0) throw new CliError(`the collateral cache ${opts.cache} is empty: run \`tessera collateral fetch\` first`, EXIT_USAGE);
  const bytes = await exportBundle(store);
  // Written atomically, like the cache itself: a bundle is carried away on removable media.
  const tmp = `${opts.out}.tmp`;
  await writeFile(tmp, bytes, { mode: 0o644 });
  await rename(tmp, opts.out);
  process.stdout.write(`wrote ${entries.length} documents to ${opts.out}\n`);
  for (const e of entries) process.stdout.write(`  ${describeDocument(requestFromKey(e.key))}${e.nextUpdate ? ` (next update ${e.nextUpdate.toISOString()})` : ''}\n`);
}

async function runImport(file: string, opts: { cache: string; at?: string }): Promise<void> {
  const at = parseAt(opts.at);
  // Refused before it is read: the file comes from another host and may be anything.
  const size = statSync(file, { throwIfNoEntry: false })?.size;
  if (size !== undefined && size > MAX_BUNDLE_BYTES) throw asUsageError(bundleTooLarge(size, `The bundle ${file}`));
  const bytes = readInput(file, 'bundle');
  const store = await openCache(opts.cache);
  let report;
  try {
    report = await importBundle(store, bytes, { at, anchors: PRODUCTION_ANCHORS });
  } catch (err) {
    throw asUsageError(err);
  }
  for (const l of report.loaded) process.stdout.write(`loaded    ${l.document}\n`);
  for (const k of report.kept) process.stdout.write(`kept      ${k.document}: ${k.reason}\n`);
  for (const r of report.rejected) process.stdout.write(`REJECTED  ${r.document}: ${r.reason}\n`);
  process.stdout.write(
    `${report.loaded.length} loaded, ${report.kept.length} kept (newer in the cache), ${report.rejected.length} rejected, verified at ${at.toISOString()} into ${opts.cache}\n`,
  );
  if (report.rejected.length > 0) process.exitCode = EXIT_UNAVAILABLE;
}

async function runList(opts: { cache: string; at?: string }): Promise<void> {
  const at = parseAt(opts.at);
  const entries = await (await openCache(opts.cache)).list();
  for (const e of entries) {
    const state = e.immutable ? 'kept for good' : !e.nextUpdate ? 'no next update' : e.nextUpdate.getTime() > at.getTime() ? `fresh until ${e.nextUpdate.toISOString()}` : `STALE since ${e.nextUpdate.toISOString()}`;
    process.stdout.write(`${describeDocument(requestFromKey(e.key))}: ${state}; from ${e.source}, fetched ${e.fetchedAt.toISOString()}\n`);
  }
  process.stdout.write(`${entries.length} documents in ${opts.cache}\n`);
}

const cacheOption = (): Option => new Option('--cache <file>', 'the collateral cache file').default(defaultCachePath(), '$XDG_CACHE_HOME/tessera/collateral.json');

/** --kds-url, --pcs-url, --timeout: shared with `tessera verify`. */
export function addUpstreamOptions(cmd: Command): Command {
  return cmd
    .option('--kds-url <url>', 'AMD KDS base URL, or a mirror (default https://kdsintf.amd.com)')
    .option('--pcs-url <url>', 'Intel PCS base URL, or a PCCS / mirror (default https://api.trustedservices.intel.com)')
    .option('--timeout <ms>', 'per-request timeout in milliseconds', '10000');
}

export function collateralCommand(): Command {
  const fetch = addUpstreamOptions(
    new Command('fetch')
      .description('Fetch the collateral for an FMSPC, a TDX/SGX quote or an SEV-SNP report into the cache, verifying each document.')
      .option('--fmspc <hex>', 'an Intel FMSPC (6 bytes of hex); with --tee')
      .addOption(new Option('--tee <tee>', 'with --fmspc').choices(['tdx', 'sgx']))
      .option('--quote <file>', 'a TDX or SGX quote: its FMSPC, TEE and PCK CA decide what to fetch')
      .option('--report <file>', 'an SEV-SNP report: its VCEK, the cert chain and the CRL of its product')
      .option('--product <name>', 'the product of a version 2 SEV-SNP report (Milan, Genoa, Turin)')
      .addOption(cacheOption())
      .option('--at <iso-8601>', 'the time at which documents must verify (default: now)'),
  ).action((opts: FetchOptions) => runFetch(opts));

  const collateral = new Command('collateral')
    .description('Manage the collateral cache: fetch from AMD KDS / Intel PCS, export a bundle, import one in an air-gapped site.')
    .addCommand(fetch)
    .addCommand(
      new Command('export')
        .description('Write every document of the cache to one bundle file.')
        .requiredOption('--out <file>', 'the bundle to write')
        .addOption(cacheOption())
        .action((opts: { out: string; cache: string }) => runExport(opts)),
    )
    .addCommand(
      new Command('import')
        .description('Load a bundle into the cache, verifying every document against the pinned AMD and Intel roots.')
        .argument('<file>', 'the bundle')
        .addOption(cacheOption())
        .option('--at <iso-8601>', 'the time at which documents must be valid (default: now)')
        .action((file: string, opts: { cache: string; at?: string }) => runImport(file, opts)),
    )
    .addCommand(
      new Command('list')
        .description('List the documents of the cache and whether they are fresh.')
        .addOption(cacheOption())
        .option('--at <iso-8601>', 'the time to judge freshness at (default: now)')
        .action((opts: { cache: string; at?: string }) => runList(opts)),
    );
  // Subcommands added with addCommand do not inherit the program's exitOverride: without
  // this a usage error would exit 1 (the code for "rejected") from inside commander.
  for (const cmd of [collateral, ...collateral.commands]) cmd.exitOverride().showHelpAfterError('(run with --help for usage)');
  return collateral;
}
