// `scripts/swtpm-azure-demo.sh [--tee snp|tdx] [--dir DIR]`: an emulated Azure confidential
// VM host for the agent's --provider azure-vtpm (guest-agent/testing/swtpm-azure.ts): a
// swtpm provisioned as Azure's vTPM, the paravisor refreshing its HCL report, and the
// instance metadata service, all signing with the simulator chain in $TESSERA_SIMULATOR_DIR
// (the one a `tessera serve --dev` on this machine trusts). Prints what the agent needs,
// then runs until Ctrl-C. Development only.

import { parseArgs } from 'node:util';
import { loadOrCreateSimulatorChain } from '../../verifier/testing/simulator-files.ts';
import { startAzureHost, startSwtpm } from './swtpm-azure.ts';

const { values } = parseArgs({ options: { tee: { type: 'string', default: 'snp' }, dir: { type: 'string' }, 'imds-port': { type: 'string' } } });
const tee = values.tee;
if (tee !== 'snp' && tee !== 'tdx') {
  process.stderr.write('swtpm-azure-demo: --tee is snp or tdx\n');
  process.exit(2);
}
const chain = await loadOrCreateSimulatorChain();
const tpm = await startSwtpm(values.dir);
const host = await startAzureHost({ chain, tee, tcti: tpm.tcti, ...(values['imds-port'] ? { imdsPort: Number(values['imds-port']) } : {}) });
process.stdout.write(
  [
    `swtpm-azure-demo: an Azure ${tee === 'snp' ? 'SEV-SNP' : 'TDX'} vTPM (swtpm in ${tpm.dir}) with its paravisor and IMDS emulated; simulator roots, so only a --dev server accepts it. Ctrl-C stops it.`,
    `TPM2TOOLS_TCTI=${tpm.tcti}`,
    `AZURE_IMDS=${host.imds}`,
    'In another shell:',
    `  TPM2TOOLS_TCTI=${tpm.tcti} npx tessera-agent secret get demo --server http://127.0.0.1:8080 --provider azure-vtpm --azure-imds ${host.imds} --out-dir ./secrets`,
    '',
  ].join('\n'),
);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await host.stop().catch((err: unknown) => process.stderr.write(`swtpm-azure-demo: ${(err as Error).message}\n`));
  await tpm.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
