// The lazily loaded `tessera` subcommands (server/cli/commands.ts): what --help lists without
// loading a command must be what the command module itself declares, and the version the
// CLI prints must be the package's.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS, commandToLoad, TESSERA_VERSION } from '../../server/cli/commands.ts';
import { runTessera } from '../support/cli.ts';

describe('tessera subcommands loaded on demand', () => {
  it('lists each command with the name and description its module declares', async () => {
    for (const c of COMMANDS) {
      const loaded = await c.load();
      expect(loaded.name()).toBe(c.name);
      expect(loaded.description()).toBe(c.description);
    }
  });

  it('loads the command named first, or after help, and none for the top-level flags', () => {
    expect(commandToLoad(['verify', 'snp', '--report', 'r.bin'])?.name).toBe('verify');
    expect(commandToLoad(['help', 'db'])?.name).toBe('db');
    expect(commandToLoad(['--version'])).toBeUndefined();
    expect(commandToLoad(['--help'])).toBeUndefined();
    expect(commandToLoad([])).toBeUndefined();
    expect(commandToLoad(['verfy'])).toBeUndefined();
  });

  it('prints the package version, help listing every command, and suggests on a typo', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(TESSERA_VERSION).toBe(pkg.version);
    const version = await runTessera(['--version']);
    expect(version).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    const help = await runTessera(['--help']);
    expect(help.code).toBe(0);
    for (const c of COMMANDS) expect(help.stdout).toMatch(new RegExp(`^  ${c.name} `, 'm'));
    const typo = await runTessera(['verfy']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("unknown command 'verfy'");
    expect(typo.stderr).toContain('(Did you mean verify?)');
    const sub = await runTessera(['help', 'verify']);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toContain('Usage: tessera verify');
    expect(sub.stdout).toMatch(/^ {2}snp /m);
  });
});
