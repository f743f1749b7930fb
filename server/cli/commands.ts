// The `tessera` subcommands, each loaded only when it runs. Importing a command module pulls
// in the verifier, the storage layer or the HTTP server (about 0.7 s of module loading), and
// `tessera --version` / `--help` need none of it: they see only the names and descriptions
// below. test/build/cli-commands.test.ts keeps each description equal to the one the
// command module itself declares.

import type { Command } from 'commander';

export interface LazyCommand {
  name: string;
  description: string;
  load: () => Promise<Command>;
}

export const TESSERA_VERSION = '0.1.0';

export const COMMANDS: readonly LazyCommand[] = [
  {
    name: 'verify',
    description: 'Verify attestation evidence and print the verdict (exit 0 verified, 1 rejected, 2 usage error).',
    load: async () => (await import('./verify.ts')).verifyCommand(),
  },
  {
    name: 'eventlog',
    description: 'Decode a TDX event log (CCEL) and print its events and the RTMRs it replays to.',
    load: async () => (await import('./eventlog.ts')).eventlogCommand(),
  },
  {
    name: 'serve',
    description: 'Run the attestation service (exit 2 on a configuration or startup error).',
    load: async () => (await import('./serve.ts')).serveCommand(),
  },
  {
    name: 'keys',
    description: 'Result-signing keys (ES256).',
    load: async () => (await import('./keys.ts')).keysCommand(),
  },
  {
    name: 'tokens',
    description: 'API tokens for the admin and auditor scopes.',
    load: async () => (await import('./tokens.ts')).tokensCommand(),
  },
  {
    name: 'audit',
    description: 'The hash-chained audit log.',
    load: async () => (await import('./audit.ts')).auditCommand(),
  },
  {
    name: 'collateral',
    description: 'Manage the collateral cache: fetch from AMD KDS / Intel PCS, export a bundle, import one in an air-gapped site.',
    load: async () => (await import('./collateral.ts')).collateralCommand(),
  },
  {
    name: 'db',
    description: 'The database: migrations, and moving to PostgreSQL.',
    load: async () => {
      const [{ dbCommand }, { addDbCheck }] = await Promise.all([import('./db.ts'), import('./db-check.ts')]);
      return addDbCheck(dbCommand());
    },
  },
];

/**
 * The command `argv` (without node and the script) runs: its first word, or the word after
 * `help`. Undefined for `--version`, `--help`, no arguments or an unknown word, which the
 * top-level program answers from COMMANDS alone.
 */
export function commandToLoad(argv: readonly string[]): LazyCommand | undefined {
  const word = argv[0] === 'help' ? argv[1] : argv[0];
  return COMMANDS.find((c) => c.name === word);
}
