// `tessera`: the service and its operator CLI. Each command lives in its own module.

import { Command, CommanderError } from 'commander';
import { CliError, EXIT_USAGE } from './errors.ts';
import { verifyCommand } from './verify.ts';
import { serveCommand } from './serve.ts';
import { keysCommand } from './keys.ts';
import { tokensCommand } from './tokens.ts';
import { auditCommand } from './audit.ts';
import { collateralCommand } from './collateral.ts';
import { dbCommand } from './db.ts';
import { addDbCheck } from './db-check.ts';

const program = new Command('tessera')
  .description('Attestation service for confidential computing (AMD SEV-SNP, Intel TDX and SGX).')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

program.addCommand(verifyCommand());
program.addCommand(serveCommand());
program.addCommand(keysCommand());
program.addCommand(tokensCommand());
program.addCommand(auditCommand());
program.addCommand(collateralCommand());
program.addCommand(addDbCheck(dbCommand()));

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version end here with exit code 0; usage errors were already printed.
    process.exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE;
  } else if (err instanceof CliError) {
    process.stderr.write(`tessera: ${err.message}\n`);
    process.exitCode = err.exitCode;
  } else {
    process.stderr.write(`tessera: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = EXIT_USAGE;
  }
}
