// `tessera verify snp|tdx|sgx|az-snp-vtpm|az-tdx-vtpm`: verify one piece of evidence offline and print the verdict.

import { Command } from 'commander';
import { verifySnpCommand } from './verify-snp.ts';
import { verifyIntelCommand } from './verify-intel.ts';
import { verifyAzureCommand } from './verify-azure.ts';

export function verifyCommand(): Command {
  return new Command('verify')
    .description('Verify attestation evidence and print the verdict (exit 0 verified, 1 rejected, 2 usage error).')
    .addCommand(verifySnpCommand())
    .addCommand(verifyIntelCommand('tdx'))
    .addCommand(verifyIntelCommand('sgx'))
    .addCommand(verifyAzureCommand('az-snp-vtpm'))
    .addCommand(verifyAzureCommand('az-tdx-vtpm'));
}
