// Evidence from an Azure confidential VM (SEV-SNP or TDX under Azure's paravisor, the HCL).
// The guest cannot ask the firmware for a report; it asks the vTPM, as the CoCo
// attestation-agent does (guest-components attester/src/az_snp_vtpm, az_tdx_vtpm, on the
// az-cvm-vtpm crate, kinvolk/azure-cvm-tooling az-cvm-vtpm/src/vtpm/mod.rs):
//   1. write the report data to NV index 0x01400002 (defined owner read/write if absent);
//      the paravisor then refreshes the HCL report in NV index 0x01400001, with the report
//      data as the runtime data's `user-data` and SHA-256(runtime data) as the hardware
//      report's REPORT_DATA[0:32]. The crate sleeps 3 s for it; we read until the report
//      carries our data, up to a deadline, so a stale report is never sent.
//   2. TPM2_Quote with the AK at persistent handle 0x81000003 over sha256 PCRs 0..23, the
//      report data as qualifying data; then PCR_Read of the same selection.
//   3. SEV-SNP: the VCEK (with ASK and ARK) from the instance metadata service's THIM
//      endpoint, GET http://169.254.169.254/metadata/THIM/amd/certification (az-snp-vtpm
//      imds.rs); TDX: the TD quote for the HCL's TD report from the IMDS quote endpoint,
//      POST http://169.254.169.254/acc/tdquote {report: base64url} (az-tdx-vtpm imds.rs).
// The report data is tessera's Azure binding: 48 bytes, SHA-384 of the 64-byte REPORT_DATA
// (verifier/binding.ts), as the TPM nonce and the first 48 of the 64 user-data bytes.

import { createHash, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHclReport, type HclReport } from '../../verifier/azure/abi/hcl-report.ts';
import { parseTpmQuoteAttest } from '../../verifier/azure/abi/tpm-attest.ts';
import { azureNonceFromReportData } from '../../verifier/binding.ts';
import { BodyTimeoutError, BodyTooLargeError, readBodyWithin } from '../../verifier/collateral/read-body.ts';
import { EvidenceFormatError } from '../../verifier/errors.ts';
import type { Tee } from '../../verifier/result.ts';
import { ProviderError, requireReportData, type AzureVtpmEvidenceJson, type EvidenceProvider, type ProviderEvidence } from './provider.ts';
import { handleArg, tpm2Tools, type Tpm2Tools } from './tpm2-tools.ts';

export const HCL_REPORT_NV_INDEX = 0x01400001;
export const REPORT_DATA_NV_INDEX = 0x01400002;
export const AK_HANDLE = 0x81000003;
/** The user-data the paravisor copies into the runtime data: 64 bytes. */
export const REPORT_DATA_NV_SIZE = 64;
/** The quote covers every sha256 PCR, as the CoCo attester's (VTPM_QUOTE_PCR_SLOTS 0..23). */
export const QUOTE_PCRS = Array.from({ length: 24 }, (_, i) => i);
export const AZURE_IMDS = 'http://169.254.169.254';
export const THIM_PATH = '/metadata/THIM/amd/certification';
export const TD_QUOTE_PATH = '/acc/tdquote';
/** The evidence version whose user-data carries the report data (trustee az_snp_vtpm verify_user_data). */
export const AZURE_EVIDENCE_VERSION = 2;

export interface AzureVtpmOptions {
  /** tpm2-tools TCTI (default `$TPM2TOOLS_TCTI`, else the tools' default, /dev/tpmrm0). */
  tcti?: string;
  /** A TPM driver already in hand (tests). */
  tools?: Tpm2Tools;
  /** Base URL of the instance metadata service (THIM certificates, TD quotes). Default http://169.254.169.254. */
  imds?: string;
  /** How long to wait for the paravisor to refresh the HCL report. Default 10 s (the CoCo attester sleeps 3 s). */
  reportTimeoutMs?: number;
  /** Between reads of the HCL report while waiting. Default 250 ms. */
  reportPollMs?: number;
  /** Per IMDS request. Default 15 s. */
  imdsTimeoutMs?: number;
  fetch?: typeof fetch;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const pcrList = `sha256:${QUOTE_PCRS.join(',')}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const MAX_IMDS_BODY = 1024 * 1024;

/** The runtime data's user-data, or undefined when it has none (or is not JSON). */
function userDataOf(report: HclReport): Buffer | undefined {
  try {
    const doc = JSON.parse(Buffer.from(report.runtimeData).toString('utf8')) as Record<string, unknown>;
    const ud = doc['user-data'];
    return typeof ud === 'string' && /^(?:[0-9a-fA-F]{2})*$/.test(ud) ? Buffer.from(ud, 'hex') : undefined;
  } catch {
    return undefined;
  }
}

/** PEM blocks of a text, each as a node X509Certificate. */
function pemCertificates(text: string, what: string): X509Certificate[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => {
    try {
      return new X509Certificate(b);
    } catch (err) {
      throw new ProviderError('provider_output', `The IMDS ${what} holds a certificate that does not parse: ${(err as Error).message}.`);
    }
  });
}

export class AzureVtpmProvider implements EvidenceProvider {
  readonly name = 'azure-vtpm';
  private readonly tools: Tpm2Tools;
  private readonly imds: string;
  private readonly reportTimeoutMs: number;
  private readonly reportPollMs: number;
  private readonly imdsTimeoutMs: number;
  private readonly fetchImpl: typeof fetch;
  private detected: 'az-snp-vtpm' | 'az-tdx-vtpm' | undefined;

  constructor(options: AzureVtpmOptions = {}) {
    this.tools = options.tools ?? tpm2Tools(options.tcti !== undefined ? { tcti: options.tcti } : {});
    this.imds = (options.imds ?? AZURE_IMDS).replace(/\/+$/, '');
    this.reportTimeoutMs = options.reportTimeoutMs ?? 10_000;
    this.reportPollMs = options.reportPollMs ?? 250;
    this.imdsTimeoutMs = options.imdsTimeoutMs ?? 15_000;
    this.fetchImpl = options.fetch ?? fetch;
  }

  async tee(): Promise<Tee> {
    if (this.detected) return this.detected;
    return this.withDir(async (dir) => this.teeOf(await this.readHcl(dir)));
  }

  async getEvidence(reportData: Uint8Array): Promise<ProviderEvidence> {
    requireReportData(reportData);
    const nonce = azureNonceFromReportData(reportData);
    return this.withDir(async (dir) => {
      const { bytes, report } = await this.freshHcl(dir, nonce);
      const tee = this.teeOf({ report });
      const tpm_quote = await this.quote(dir, nonce);
      const base = { version: AZURE_EVIDENCE_VERSION, tpm_quote, hcl_report: bytes.toString('base64url') };
      const azure: AzureVtpmEvidenceJson = tee === 'az-snp-vtpm' ? { ...base, vcek: await this.vcek() } : { ...base, td_quote: (await this.tdQuote(report.hwReport)).toString('base64url') };
      return { tee, azure };
    });
  }

  private teeOf(hcl: { report: HclReport }): 'az-snp-vtpm' | 'az-tdx-vtpm' {
    this.detected = hcl.report.tee === 'snp' ? 'az-snp-vtpm' : 'az-tdx-vtpm';
    return this.detected;
  }

  private async withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(join(tmpdir(), 'tessera-vtpm-'));
    try {
      return await fn(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async readHcl(dir: string): Promise<{ bytes: Buffer; report: HclReport }> {
    const out = join(dir, 'hcl-report.bin');
    try {
      await this.tools.run('tpm2_nvread', [handleArg(HCL_REPORT_NV_INDEX), '-C', 'o', '-o', out]);
    } catch (err) {
      if (err instanceof ProviderError && err.code === 'provider_output') {
        throw new ProviderError('provider_unavailable', `No Azure HCL report in vTPM NV index ${handleArg(HCL_REPORT_NV_INDEX)}: is this an Azure confidential VM? (${err.message})`);
      }
      throw err;
    }
    const bytes = await readFile(out);
    const parsed = parseHclReport(bytes);
    if (!parsed.ok) throw new ProviderError('provider_output', `vTPM NV index ${handleArg(HCL_REPORT_NV_INDEX)} does not hold an HCL report: ${parsed.problem.detail}`);
    return { bytes, report: parsed.report };
  }

  /** Write the report data for the paravisor, then read the HCL report until it carries it. */
  private async freshHcl(dir: string, nonce: Buffer): Promise<{ bytes: Buffer; report: HclReport }> {
    const userData = Buffer.concat([nonce, Buffer.alloc(REPORT_DATA_NV_SIZE - nonce.length)]);
    // An HCL report first: nothing is written to a TPM that is not an Azure vTPM.
    await this.readHcl(dir);
    await this.writeReportData(dir, userData);
    const deadline = Date.now() + this.reportTimeoutMs;
    for (;;) {
      const hcl = await this.readHcl(dir);
      const ud = userDataOf(hcl.report);
      if (ud && ud.length >= nonce.length && ud.subarray(0, nonce.length).equals(nonce)) return hcl;
      if (Date.now() >= deadline) {
        throw new ProviderError(
          'provider_output',
          `The HCL report in vTPM NV index ${handleArg(HCL_REPORT_NV_INDEX)} still does not carry the report data written to ${handleArg(REPORT_DATA_NV_INDEX)} after ${this.reportTimeoutMs} ms ` +
            `(its user-data is ${ud ? hex(ud).slice(0, 32) + '…' : 'absent'}): the Azure paravisor did not refresh it. Raise the wait with --azure-report-timeout.`,
        );
      }
      await sleep(this.reportPollMs);
    }
  }

  private async writeReportData(dir: string, data: Buffer): Promise<void> {
    const index = handleArg(REPORT_DATA_NV_INDEX);
    let size: number | undefined;
    try {
      const text = (await this.tools.run('tpm2_nvreadpublic', [index])).toString('utf8');
      const m = /^\s*size:\s*(\d+)\s*$/m.exec(text);
      size = m ? Number(m[1]) : undefined;
    } catch (err) {
      if (!(err instanceof ProviderError && err.code === 'provider_output')) throw err;
      // Not defined yet: the first request on this VM defines it (as az-cvm-vtpm write_nv_index does).
    }
    if (size !== undefined && size !== data.length) {
      await this.tools.run('tpm2_nvundefine', [index, '-C', 'o']);
      size = undefined;
    }
    if (size === undefined) await this.tools.run('tpm2_nvdefine', [index, '-C', 'o', '-s', String(data.length), '-a', 'ownerread|ownerwrite']);
    const file = join(dir, 'report-data.bin');
    await writeFile(file, data);
    await this.tools.run('tpm2_nvwrite', [index, '-C', 'o', '-i', file]);
  }

  /**
   * The quote and the PCR values it digests. PCR_Read comes after the quote (as in the
   * crate): a PCR extended in between would make the values disagree with the quote's
   * pcrDigest, so the agent checks them itself and asks again rather than send evidence that
   * cannot verify.
   */
  private async quote(dir: string, nonce: Buffer): Promise<AzureVtpmEvidenceJson['tpm_quote']> {
    const msg = join(dir, 'quote.msg');
    const sig = join(dir, 'quote.sig');
    const pcrs = join(dir, 'pcrs.bin');
    for (let attempt = 1; ; attempt++) {
      await this.tools.run('tpm2_quote', ['-c', handleArg(AK_HANDLE), '-l', pcrList, '-q', hex(nonce), '-g', 'sha256', '-m', msg, '-s', sig, '-f', 'plain']);
      await this.tools.run('tpm2_pcrread', [pcrList, '-F', 'values', '-o', pcrs]);
      const [message, signature, values] = await Promise.all([readFile(msg), readFile(sig), readFile(pcrs)]);
      if (values.length !== QUOTE_PCRS.length * 32) throw new ProviderError('provider_output', `tpm2_pcrread returned ${values.length} bytes for ${QUOTE_PCRS.length} sha256 PCRs.`);
      let attest;
      try {
        attest = parseTpmQuoteAttest(message);
      } catch (err) {
        if (err instanceof EvidenceFormatError) throw new ProviderError('provider_output', `The vTPM's quote is not a TPMS_ATTEST quote: ${err.message}`);
        throw err;
      }
      if (!Buffer.from(attest.extraData).equals(nonce)) throw new ProviderError('provider_output', "The vTPM's quote does not carry the nonce it was asked for.");
      const digest = createHash('sha256').update(values).digest();
      if (digest.equals(Buffer.from(attest.pcrDigest))) {
        const list = QUOTE_PCRS.map((_, i) => hex(values.subarray(i * 32, i * 32 + 32)));
        return { signature: hex(signature), message: hex(message), pcrs: list };
      }
      if (attempt >= 3) throw new ProviderError('provider_busy', 'The vTPM PCRs kept changing between the quote and reading them (3 attempts).');
    }
  }

  private async imdsRequest(path: string, init: RequestInit, what: string): Promise<unknown> {
    const url = `${this.imds}${path}`;
    const deadline = Date.now() + this.imdsTimeoutMs;
    let res: Response;
    try {
      res = await this.fetchImpl(url, { ...init, headers: { Metadata: 'true', accept: 'application/json', ...(init.headers as Record<string, string> | undefined) }, signal: AbortSignal.timeout(this.imdsTimeoutMs), redirect: 'error' });
    } catch (err) {
      throw new ProviderError('provider_unavailable', `The instance metadata service at ${url} (${what}) cannot be reached: ${(err as Error).message}. It answers only inside an Azure VM; elsewhere set --azure-imds.`);
    }
    let body: Buffer;
    try {
      body = await readBodyWithin(res, MAX_IMDS_BODY, deadline);
    } catch (err) {
      const why = err instanceof BodyTooLargeError ? `more than ${MAX_IMDS_BODY} bytes` : err instanceof BodyTimeoutError ? 'not complete in time' : (err as Error).message;
      throw new ProviderError('provider_output', `The instance metadata service's answer for ${what} was refused: ${why}.`);
    }
    if (!res.ok) throw new ProviderError('provider_output', `The instance metadata service answered ${what} with HTTP ${res.status}: ${body.toString('utf8').slice(0, 200)}`);
    try {
      return JSON.parse(body.toString('utf8'));
    } catch {
      throw new ProviderError('provider_output', `The instance metadata service's answer for ${what} is not JSON.`);
    }
  }

  /**
   * The VCEK and the AMD chain Azure caches for this host (THIM): {vcekCert, certificateChain}
   * as PEM. Sent as one PEM, VCEK first, then ASK and ARK (the verifier still chains them to
   * its pinned ARK), so the server needs no AMD KDS round trip.
   */
  private async vcek(): Promise<string> {
    const doc = await this.imdsRequest(THIM_PATH, { method: 'GET' }, 'the VCEK (THIM)');
    const o = (typeof doc === 'object' && doc !== null ? doc : {}) as Record<string, unknown>;
    if (typeof o['vcekCert'] !== 'string') throw new ProviderError('provider_output', 'The THIM answer has no vcekCert.');
    const [vcek, ...extra] = pemCertificates(o['vcekCert'], 'vcekCert');
    if (!vcek || extra.length > 0) throw new ProviderError('provider_output', `The THIM vcekCert holds ${extra.length + (vcek ? 1 : 0)} certificates, not one.`);
    const chain = typeof o['certificateChain'] === 'string' ? pemCertificates(o['certificateChain'], 'certificateChain') : [];
    const ark = chain.find((c) => c.checkIssued(c));
    const ask = chain.find((c) => c !== ark && ark !== undefined && c.checkIssued(ark));
    const certs = [vcek, ...(ask ? [ask] : []), ...(ask && ark ? [ark] : [])];
    return certs.map((c) => c.toString().trim()).join('\n') + '\n';
  }

  /** The TD quote of the HCL's TD report (1024 bytes), from the IMDS quote endpoint. */
  private async tdQuote(tdReport: Uint8Array): Promise<Buffer> {
    const doc = await this.imdsRequest(
      TD_QUOTE_PATH,
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ report: Buffer.from(tdReport).toString('base64url') }) },
      'the TD quote',
    );
    const quote = (doc as Record<string, unknown> | null)?.['quote'];
    if (typeof quote !== 'string' || !/^[A-Za-z0-9_-]+={0,2}$/.test(quote)) throw new ProviderError('provider_output', 'The IMDS TD quote answer has no base64url quote.');
    return Buffer.from(quote, 'base64url');
  }
}
