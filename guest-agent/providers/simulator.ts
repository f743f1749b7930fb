// The development TEE: evidence in the real SEV-SNP and TDX formats, signed by the
// simulated vendor chain shared with a development server through the simulator directory
// (verifier/testing/simulator-files.ts). A production server refuses it: its roots are
// trusted only in development mode, and every result from them says `simulated: true`.
// For Azure (az-snp-vtpm, az-tdx-vtpm) it builds what an Azure confidential VM's agent sends
// (verifier/testing/azure-evidence-builder.ts): the simulator's SNP report or TD quote in an
// HCL report whose HCLAkPub is a software RSA key, and a TPM quote signed by that key.

import type { Tee } from '../../verifier/result.ts';
import { buildAzSnpVtpmEvidence, buildAzTdxVtpmEvidence, createAzureAk, type AzureAk } from '../../verifier/testing/azure-evidence-builder.ts';
import type { SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { loadOrCreateSimulatorChain } from '../../verifier/testing/simulator-files.ts';
import { buildSnpReport, type SnpReportOptions } from '../../verifier/testing/snp-report-builder.ts';
import { buildTdxQuote, type TdxQuoteOptions } from '../../verifier/testing/tdx-quote-builder.ts';
import { simulatorEventLog } from '../../verifier/testing/eventlog-builder.ts';
import { ProviderError, requireReportData, type EvidenceProvider, type ProviderEvidence } from './provider.ts';

export const SIMULATED_TEES: readonly Tee[] = ['sev-snp', 'tdx', 'az-snp-vtpm', 'az-tdx-vtpm'];

export interface SimulatorProviderOptions {
  /** Default `sev-snp`; also `tdx`, `az-snp-vtpm`, `az-tdx-vtpm`. */
  tee?: Tee;
  /** The simulator directory; default `$TESSERA_SIMULATOR_DIR` or `~/.local/state/tessera/simulator`. */
  dir?: string;
  /** A chain already in hand (tests); `dir` is then not read. */
  chain?: SimulatorChain;
  /** What the simulated guest looks like (measurement, policy bits, TCB...). */
  snp?: Omit<SnpReportOptions, 'reportData'>;
  tdx?: Omit<TdxQuoteOptions, 'reportData'>;
  /**
   * TDX: send the simulated boot's event log (verifier/testing/eventlog-builder.ts), its
   * replay in the quote's RTMRs. Default on, unless `tdx.rtmr` sets the RTMRs by hand (no
   * log replays to arbitrary values), or `false`.
   */
  eventLog?: boolean;
}

export class SimulatorProvider implements EvidenceProvider {
  readonly name = 'simulator';
  private readonly kind: Tee;
  private chain: Promise<SimulatorChain> | undefined;
  /** The simulated vTPM's attestation key, one per provider, as a VM's is. */
  private ak: AzureAk | undefined;

  constructor(private readonly options: SimulatorProviderOptions = {}) {
    this.kind = options.tee ?? 'sev-snp';
    if (!SIMULATED_TEES.includes(this.kind)) {
      throw new ProviderError('provider_unsupported', `The simulator produces ${SIMULATED_TEES.join(', ')} evidence, not ${this.kind}.`);
    }
    if (options.chain) this.chain = Promise.resolve(options.chain);
  }

  tee(): Promise<Tee> {
    return Promise.resolve(this.kind);
  }

  async getEvidence(reportData: Uint8Array): Promise<ProviderEvidence> {
    requireReportData(reportData);
    this.chain ??= loadOrCreateSimulatorChain(this.options.dir);
    const chain = await this.chain;
    if (this.kind === 'tdx') {
      if (this.options.eventLog === false || this.options.tdx?.rtmr !== undefined) return { tee: 'tdx', quote: buildTdxQuote(chain, { ...this.options.tdx, reportData }).quote };
      const { eventLog, rtmr } = simulatorEventLog();
      return { tee: 'tdx', quote: buildTdxQuote(chain, { ...this.options.tdx, rtmr, reportData }).quote, eventLog };
    }
    if (this.kind === 'az-snp-vtpm' || this.kind === 'az-tdx-vtpm') {
      this.ak ??= createAzureAk();
      const o = { reportData, ak: this.ak, ...(this.options.snp ? { snp: this.options.snp } : {}), ...(this.options.tdx ? { tdx: this.options.tdx } : {}) };
      const azure = this.kind === 'az-snp-vtpm' ? buildAzSnpVtpmEvidence(chain, o) : buildAzTdxVtpmEvidence(chain, o);
      return { tee: this.kind, azure };
    }
    const { report, certificates } = buildSnpReport(chain, { ...this.options.snp, reportData });
    return { tee: 'sev-snp', report, certificates };
  }
}
