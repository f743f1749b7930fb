// `tessera audit verify --data DIR [--head FILE] [--heads FILE]`: check the audit hash chain offline,
// read-only, and that it still holds a signed head exported earlier (server/audit/head.ts).
// Exit 0 when intact, 1 naming the first broken link or the cut, 2 when it cannot be read.

import { Command } from 'commander';
import { checkExportedHeads } from '../audit/exported-heads.ts';
import { AuditHeadError, headMismatch, readSignedAuditHead, type AuditHead } from '../audit/head.ts';
import { verifyAuditChain, type ChainReport } from '../audit/log.ts';
import { allPublicKeys } from '../keys/signing-keys.ts';
import { CliError, EXIT_REJECTED } from './errors.ts';
import { readInput } from './inputs.ts';
import { openExisting, operatorConfig, withDataOptions, type DataOptions } from './operator.ts';

export function auditCommand(): Command {
  const audit = new Command('audit').description('The hash-chained audit log.').exitOverride();
  withDataOptions(
    audit
      .command('verify')
      .description('Verify the whole chain and name the first broken link (exit 0 intact, 1 broken). The other stored records (sealed keys and secrets, decoded rows): tessera db check.')
      .option('--head <file>', 'a signed head (the `signed` of GET /v1/audit/head): the log must still hold that entry with that hash')
      .option('--heads <file>', 'exported heads (audit-heads.jsonl, one JSON line each): the log must hold every one; names the first it contradicts')
      .option('--json', 'print JSON'),
  ).action(async (opts: DataOptions & { head?: string; heads?: string; json?: boolean }) => {
    const config = operatorConfig(opts);
    const store = await openExisting(config, true);
    let report: ChainReport & { signedHead?: AuditHead; headMismatch?: string; exportedHeads?: number };
    try {
      report = await verifyAuditChain(store.audit);
      if (opts.head !== undefined) {
        const text = readInput(opts.head, 'signed audit head').toString('utf8').trim();
        // Public keys only: no KEK needed to read them.
        const keys = await allPublicKeys(store.signingKeys);
        let head: AuditHead;
        try {
          head = await readSignedAuditHead(text, keys);
        } catch (err) {
          if (err instanceof AuditHeadError) throw new CliError(`${opts.head}: ${err.message}`);
          throw err;
        }
        report.signedHead = head;
        const mismatch = report.ok ? await headMismatch(store.audit, report, head) : undefined;
        if (mismatch) report = { ...report, ok: false, headMismatch: mismatch };
      }
      if (opts.heads !== undefined && report.ok) {
        const text = readInput(opts.heads, 'exported audit heads').toString('utf8');
        const checked = await checkExportedHeads(store.audit, report, text, await allPublicKeys(store.signingKeys));
        if ('error' in checked) throw new CliError(`${opts.heads}: ${checked.error}`);
        report.exportedHeads = checked.count;
        if (checked.mismatch) report = { ...report, ok: false, headMismatch: checked.mismatch };
      }
    } finally {
      await store.close();
    }
    if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else if (report.headMismatch) process.stdout.write(`audit log CUT SHORT or REWRITTEN: ${report.headMismatch}\n${report.checked} entries verify as a chain.\n`);
    else if (report.ok) {
      const pinned =
        (report.signedHead ? `; holds the head signed at ${report.signedHead.at} (entry ${report.signedHead.seq})` : '') +
        (report.exportedHeads !== undefined ? `; holds all ${report.exportedHeads} exported heads` : '');
      process.stdout.write(`audit chain intact: ${report.checked} entries${report.head ? `, head ${report.head.seq} ${report.head.hash}` : ''}${pinned}\n`);
    } else process.stdout.write(`audit chain BROKEN at entry ${report.firstBroken!.seq} (${report.firstBroken!.reason}): ${report.firstBroken!.detail}\n${report.checked} entries before it verify.\n`);
    if (!report.ok) process.exitCode = EXIT_REJECTED;
  });
  return audit;
}
