// `tessera`: the service and its operator CLI. Each command lives in its own module, loaded when it runs.

import { Command, CommanderError } from 'commander';
import { CliError, EXIT_USAGE } from './errors.ts';
import { COMMANDS, commandToLoad, TESSERA_VERSION } from './commands.ts';

const program = new Command('tessera')
  .description('Attestation service for confidential computing (AMD SEV-SNP, Intel TDX and SGX).')
  .version(TESSERA_VERSION)
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

try {
  // Only the command that runs is imported (server/cli/commands.ts); the others are listed by
  // name and description, which is all --help and the unknown-command suggestions use.
  const chosen = commandToLoad(process.argv.slice(2));
  for (const c of COMMANDS) {
    if (c === chosen) program.addCommand(await c.load());
    else program.command(c.name).description(c.description);
  }
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
