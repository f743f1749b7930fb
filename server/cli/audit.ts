// `tessera audit verify --data DIR`: check the audit hash chain offline, read-only.
// Exit 0 when intact, 1 naming the first broken link, 2 when it cannot be read.

import { Command } from 'commander';
import { verifyAuditChain } from '../audit/log.ts';
import { EXIT_REJECTED } from './errors.ts';
import { openExisting, operatorConfig, withDataOptions, type DataOptions } from './operator.ts';

export function auditCommand(): Command {
  const audit = new Command('audit').description('The hash-chained audit log.').exitOverride();
  withDataOptions(audit.command('verify').description('Verify the whole chain and name the first broken link (exit 0 intact, 1 broken).').option('--json', 'print JSON')).action(
    (opts: DataOptions & { json?: boolean }) => {
      const storage = openExisting(operatorConfig(opts), true);
      let report;
      try {
        report = verifyAuditChain(storage.db);
      } finally {
        storage.close();
      }
      if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
      else if (report.ok) process.stdout.write(`audit chain intact: ${report.checked} entries${report.head ? `, head ${report.head.seq} ${report.head.hash}` : ''}\n`);
      else process.stdout.write(`audit chain BROKEN at entry ${report.firstBroken!.seq} (${report.firstBroken!.reason}): ${report.firstBroken!.detail}\n${report.checked} entries before it verify.\n`);
      if (!report.ok) process.exitCode = EXIT_REJECTED;
    },
  );
  return audit;
}
