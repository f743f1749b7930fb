// Choosing a provider by name. `auto` means real hardware: configfs-tsm when the kernel
// offers it, else the Azure vTPM when the TPM holds an HCL report, otherwise a clear stop. It never falls back to the simulator: evidence from
// the simulator must always be asked for by name (issue 6).

import type { Tee } from '../../verifier/result.ts';
import { AzureVtpmProvider, type AzureVtpmOptions } from './azure-vtpm.ts';
import { CONFIGFS_TSM_ROOT, ConfigfsTsmProvider, configfsTsmPresent, nodeConfigfsIo, type ConfigfsIo } from './configfs-tsm.ts';
import { ProviderError, type EvidenceProvider } from './provider.ts';
import { SimulatorProvider, type SimulatorProviderOptions } from './simulator.ts';

export const PROVIDER_NAMES = ['auto', 'configfs-tsm', 'azure-vtpm', 'simulator'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

export interface ProviderOptions {
  /** configfs-tsm root (default /sys/kernel/config/tsm/report). */
  configfsRoot?: string;
  configfsIo?: ConfigfsIo;
  /** TDX: the TD event log path (default /sys/firmware/acpi/tables/data/CCEL). */
  ccelPath?: string;
  /** Simulator: which TEE to simulate (default sev-snp) and where its chain lives. */
  tee?: Tee;
  simulatorDir?: string;
  /** Simulator: what the simulated guest looks like. */
  simulatedGuest?: Pick<SimulatorProviderOptions, 'snp' | 'tdx'>;
  /** azure-vtpm: TCTI, IMDS base URL, how long to wait for the paravisor. */
  azure?: Pick<AzureVtpmOptions, 'tcti' | 'imds' | 'reportTimeoutMs'>;
}

export async function autoProvider(options: ProviderOptions = {}): Promise<EvidenceProvider> {
  const root = options.configfsRoot ?? CONFIGFS_TSM_ROOT;
  const io = options.configfsIo ?? nodeConfigfsIo;
  if (await configfsTsmPresent(root, io)) return new ConfigfsTsmProvider({ root, io, ...(options.ccelPath ? { ccelPath: options.ccelPath } : {}) });
  // An Azure confidential VM has no configfs-tsm report for the guest: its evidence is the
  // HCL report in the vTPM, there whenever this is one.
  const azure = new AzureVtpmProvider(options.azure ?? {});
  let azureWhy: string;
  try {
    await azure.tee();
    return azure;
  } catch (err) {
    if (!(err instanceof ProviderError) || err.code !== 'provider_unavailable') throw err;
    azureWhy = err.message;
  }
  throw new ProviderError(
    'provider_unavailable',
    `No TEE evidence interface found: ${root} does not exist. Inside a SEV-SNP or TDX guest this needs Linux 6.7+ with CONFIG_TSM_REPORTS and configfs mounted. ` +
      `Nor is this an Azure confidential VM (--provider azure-vtpm): ${azureWhy} ` +
      'For development without a TEE, ask for the simulator explicitly with --provider simulator (a production server rejects its evidence).',
  );
}

export async function createProvider(name: ProviderName, options: ProviderOptions = {}): Promise<EvidenceProvider> {
  switch (name) {
    case 'auto':
      return autoProvider(options);
    case 'configfs-tsm':
      return new ConfigfsTsmProvider({
        ...(options.configfsRoot ? { root: options.configfsRoot } : {}),
        ...(options.configfsIo ? { io: options.configfsIo } : {}),
        ...(options.ccelPath ? { ccelPath: options.ccelPath } : {}),
      });
    case 'azure-vtpm':
      return new AzureVtpmProvider(options.azure ?? {});
    case 'simulator':
      return new SimulatorProvider({
        ...(options.tee ? { tee: options.tee } : {}),
        ...(options.simulatorDir ? { dir: options.simulatorDir } : {}),
        ...options.simulatedGuest,
      });
  }
}
