// `tessera-agent`: runs inside the confidential VM; gathers evidence and talks to tessera.

import { Command, CommanderError } from 'commander';

const program = new Command('tessera-agent')
  .description('tessera guest agent: gathers hardware evidence inside a confidential VM, attests to a tessera server and fetches secrets.')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else {
    process.stderr.write(`tessera-agent: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  }
}
