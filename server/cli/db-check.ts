// `tessera db check [--data DIR | --database URL]`: name every stored record the service
// could not read (server/integrity-check.ts). Exit 0 when all read, 1 naming them, 2 when
// the database cannot be opened. Needs the KEK, as the service does (sealed records).

import type { Command } from 'commander';
import { checkStoredRecords } from '../integrity-check.ts';
import { EXIT_REJECTED } from './errors.ts';
import { openExisting, operatorConfig, operatorKek, withDataOptions, type DataOptions } from './operator.ts';

/** Adds `check` to the `tessera db` command. */
export function addDbCheck(db: Command): Command {
  withDataOptions(
    db
      .command('check')
      .description('Read every stored record: the audit chain, every sealed record under the KEK, decoded rows; name what fails (exit 1).')
      .option('--json', 'print JSON'),
  ).action(async (opts: DataOptions & { json?: boolean }) => {
    const config = operatorConfig(opts);
    const kek = operatorKek(config);
    const store = await openExisting(config, true);
    let report;
    try {
      report = await checkStoredRecords(store, kek);
    } finally {
      await store.close();
    }
    if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else if (report.ok) process.stdout.write(`all stored records read: audit chain of ${report.auditChain.checked} entries intact, ${report.sealedChecked} sealed records open\n`);
    else {
      process.stdout.write(`${report.corrupt.length} stored record(s) cannot be read:\n`);
      for (const c of report.corrupt) process.stdout.write(`  ${c.record}: ${c.reason}\n`);
    }
    if (!report.ok) process.exitCode = EXIT_REJECTED;
  });
  return db;
}
