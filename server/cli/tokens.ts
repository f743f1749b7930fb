// `tessera tokens create|list|revoke`: API tokens, offline against the data directory.
// The new token is printed once on stdout; only its hash is stored.

import { Command, Option } from 'commander';
import { createApiToken, listApiTokens, MAX_TOKEN_DAYS, revokeApiToken, SCOPES, type Scope } from '../auth/api-tokens.ts';
import { CliError } from './errors.ts';
import { openExisting, operatorConfig, withDataOptions, type DataOptions } from './operator.ts';

export function tokensCommand(): Command {
  const tokens = new Command('tokens').description('API tokens for the admin and auditor scopes.').exitOverride();
  withDataOptions(
    tokens
      .command('create')
      .description('Create a token and print it (shown this once).')
      .requiredOption('--name <name>', 'what the token is for')
      .addOption(new Option('--scope <scope>', 'admin or auditor').choices([...SCOPES]).makeOptionMandatory())
      .option('--expires-in-days <days>', `refuse the token this many days from now (1 to ${MAX_TOKEN_DAYS}); default: until revoked`)
      .option('--json', 'print JSON'),
  ).action(async (opts: DataOptions & { name: string; scope: Scope; expiresInDays?: string; json?: boolean }) => {
    if (opts.name.length === 0 || opts.name.length > 128) throw new CliError('--name must be 1 to 128 characters');
    const days = opts.expiresInDays === undefined ? undefined : Number(opts.expiresInDays);
    if (days !== undefined && !(/^[1-9]\d*$/.test(opts.expiresInDays!) && days <= MAX_TOKEN_DAYS)) {
      throw new CliError(`--expires-in-days must be a whole number of days from 1 to ${MAX_TOKEN_DAYS}, found ${JSON.stringify(opts.expiresInDays)}`);
    }
    const store = await openExisting(operatorConfig(opts));
    try {
      const created = await createApiToken(store.apiTokens, { name: opts.name, scope: opts.scope, expiresInDays: days }, (info) => ({
        action: 'token.create',
        outcome: 'success',
        actor: 'cli',
        subject: info.id,
        details: { name: opts.name, scope: opts.scope, expiresAt: info.expiresAt },
      }));
      process.stdout.write(opts.json ? `${JSON.stringify({ ...created.info, token: created.token })}\n` : `${created.token}\n`);
      if (!opts.json) process.stderr.write(`token ${created.info.id} (${created.info.scope}${created.info.expiresAt ? `, expires ${created.info.expiresAt}` : ''}) created; it is not shown again\n`);
    } finally {
      await store.close();
    }
  });
  withDataOptions(tokens.command('list').description('List tokens (never their secrets).').option('--json', 'print JSON')).action(async (opts: DataOptions & { json?: boolean }) => {
    const store = await openExisting(operatorConfig(opts), true);
    try {
      const all = await listApiTokens(store.apiTokens);
      if (opts.json) process.stdout.write(`${JSON.stringify(all)}\n`);
      else {
        const now = Date.now();
        const state = (t: (typeof all)[number]) =>
          t.revokedAt ? `revoked ${t.revokedAt}` : t.expiresAt && Date.parse(t.expiresAt) <= now ? `expired ${t.expiresAt}` : t.expiresAt ? `active until ${t.expiresAt}` : 'active';
        for (const t of all) process.stdout.write(`${t.id}  ${t.scope.padEnd(7)}  ${state(t)}  ${t.name}\n`);
      }
    } finally {
      await store.close();
    }
  });
  withDataOptions(tokens.command('revoke').description('Revoke a token by id.').argument('<id>', 'token id (16 hex digits)')).action(async (id: string, opts: DataOptions) => {
    if (!/^[0-9a-f]{16}$/.test(id)) throw new CliError(`not a token id: ${JSON.stringify(id)} (expected 16 hex digits, see tokens list)`);
    const store = await openExisting(operatorConfig(opts));
    try {
      const info = await revokeApiToken(store.apiTokens, id, (i) => ({ action: 'token.revoke', outcome: 'success', actor: 'cli', subject: id, details: { name: i.name } }));
      if (!info) throw new CliError(`no token with id ${id}`);
      process.stdout.write(info.changed ? `revoked ${info.id} (${info.name})\n` : `${info.id} (${info.name}) was already revoked at ${info.revokedAt}\n`);
    } finally {
      await store.close();
    }
  });
  return tokens;
}
