// `tessera db migrate`: bring a database's schema up to date without serving (SQLite in --data,
// or --database postgres://...). `tessera db copy --from DATA_DIR --to postgres://...`: move a
// SQLite deployment into an empty PostgreSQL database with its audit chain intact
// (server/storage/postgres/copy-from-sqlite.ts), then verify the chain on the copy.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { verifyAuditChain } from '../audit/log.ts';
import { copySqliteToPostgres, TargetNotEmptyError } from '../storage/postgres/copy-from-sqlite.ts';
import { isPostgresUrl, openPostgresStore, redactUrl } from '../storage/postgres/index.ts';
import { openStore, storeLocation } from '../storage/open.ts';
import { DB_FILE, openSqliteStore } from '../storage/sqlite/index.ts';
import { CliError, EXIT_REJECTED } from './errors.ts';
import { operatorConfig, withDataOptions, type DataOptions } from './operator.ts';

function failure(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function dbCommand(): Command {
  const db = new Command('db').description('The database: migrations, and moving to PostgreSQL.').exitOverride();
  withDataOptions(db.command('migrate').description('Apply the migrations not yet applied (under the migration lock on PostgreSQL), then exit.')).action(async (opts: DataOptions) => {
    const config = operatorConfig(opts);
    let store;
    try {
      store = await openStore(config);
    } catch (err) {
      throw new CliError(`cannot migrate the database in ${storeLocation(config)}: ${failure(err)}`);
    }
    const applied = 'migrationsApplied' in store ? ` (${String(store.migrationsApplied)} applied now)` : '';
    await store.close();
    process.stdout.write(`database ${storeLocation(config)} is up to date${applied}\n`);
  });
  db.command('copy')
    .description('Copy a SQLite deployment (its data directory) into an empty PostgreSQL database, audit chain intact.')
    .requiredOption('--from <dir>', 'the data directory holding tessera.db (stop the service first)')
    .requiredOption('--to <url>', 'the PostgreSQL database (postgres://user@host:5432/db), empty')
    .option('--json', 'print JSON')
    .action(async (opts: { from: string; to: string; json?: boolean }) => {
      if (!isPostgresUrl(opts.to)) throw new CliError(`--to: expected a postgres:// URL, found ${redactUrl(opts.to)}`);
      if (!existsSync(join(opts.from, DB_FILE))) throw new CliError(`no tessera database in ${opts.from} (--from names the data directory)`);
      const source = openSqliteStore(opts.from, { readonly: true });
      let target;
      try {
        target = await openPostgresStore(opts.to);
      } catch (err) {
        await source.close();
        throw new CliError(`cannot open ${redactUrl(opts.to)}: ${failure(err)}`);
      }
      try {
        const report = await copySqliteToPostgres(source, target);
        const chain = await verifyAuditChain(target.audit);
        const ok = chain.ok && (chain.head?.hash ?? report.head.hash) === report.head.hash;
        if (opts.json) process.stdout.write(`${JSON.stringify({ ok, rows: report.rows, head: report.head, chain })}\n`);
        else {
          const rows = Object.entries(report.rows)
            .map(([t, n]) => `${t} ${n}`)
            .join(', ');
          process.stdout.write(`copied ${opts.from} to ${redactUrl(opts.to)}: ${rows}\n`);
          process.stdout.write(ok ? `audit chain intact on the copy: ${chain.checked} entries, head ${report.head.seq} ${report.head.hash}\n` : `audit chain on the copy does NOT verify: ${JSON.stringify(chain.firstBroken)}\n`);
        }
        if (!ok) process.exitCode = EXIT_REJECTED;
      } catch (err) {
        if (err instanceof TargetNotEmptyError) throw new CliError(err.message);
        throw new CliError(`the copy failed, nothing was written: ${failure(err)}`);
      } finally {
        await source.close();
        await target.close();
      }
    });
  return db;
}
