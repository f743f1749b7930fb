// `tessera eventlog FILE [--json]`: decode a TD event log (the CCEL table data, as read from
// /sys/firmware/acpi/tables/data/CCEL) and print its events and the RTMRs it replays to.
// `--json` prints `{ rtmrs: [hex x4], events: [...] }` (verifier/tdx/eventlog/listing.ts).
// Exit 0 when the log parsed, 2 when it cannot be read or does not parse.

import { Command } from 'commander';
import { listEventLog, type ListedEvent } from '../../verifier/tdx/eventlog/listing.ts';
import { CliError, EXIT_USAGE } from './errors.ts';
import { readInput } from './inputs.ts';

function description(e: ListedEvent): string {
  if (e.decodeError) return `(undecoded: ${e.decodeError})`;
  if (e.devicePath !== undefined) return e.devicePath;
  if (e.variable) return `${e.variable.name} {${e.variable.guid}} ${e.variable.data !== undefined ? `= ${e.variable.data}` : `(${e.variable.dataLength} bytes)`}`;
  if (e.aael) return `AAEL ${e.aael.domain} ${e.aael.operation} ${typeof e.aael.content === 'string' ? e.aael.content : JSON.stringify(e.aael.content)}`;
  if (e.kernelCmdline !== undefined) return `kernel command line: ${e.kernelCmdline}`;
  return e.string ?? '';
}

function summary(file: string, listing: ReturnType<typeof listEventLog>): string {
  const lines = [`TD event log ${file}: ${listing.events.length} events, ${listing.events.filter((e) => e.extended).length} extended (SHA-384)`];
  listing.rtmrs.forEach((r, i) => lines.push(`  RTMR${i}  ${r}`));
  for (const i of [0, 1, 2, 3]) {
    const events = listing.events.filter((e) => e.rtmr === i && e.extended);
    if (events.length === 0) continue;
    lines.push(`RTMR${i}:`);
    for (const e of events) {
      // A device path is never measured (the digest is the image's), so only texts are marked.
      const mark = e.measured === false && e.devicePath === undefined ? ' [text not measured]' : '';
      lines.push(`  ${String(e.seq).padStart(3)}  ${e.type.padEnd(33)} ${e.digest.slice(0, 16)}…  ${description(e)}${mark}`);
    }
  }
  const skipped = listing.events.filter((e) => !e.extended);
  if (skipped.length > 0) {
    lines.push('not extended:');
    for (const e of skipped) lines.push(`  ${String(e.seq).padStart(3)}  ${e.type} (MR index ${e.mrIndex})`);
  }
  return `${lines.join('\n')}\n`;
}

export function eventlogCommand(): Command {
  return new Command('eventlog')
    .description('Decode a TDX event log (CCEL) and print its events and the RTMRs it replays to.')
    .argument('<file>', 'the event log: /sys/firmware/acpi/tables/data/CCEL, or a copy')
    .option('--json', 'print { rtmrs: [RTMR0..3 hex], events: [...] } as JSON')
    .action((file: string, opts: { json?: boolean }) => {
      const bytes = readInput(file, 'event log');
      let listing: ReturnType<typeof listEventLog>;
      try {
        listing = listEventLog(bytes);
      } catch (err) {
        throw new CliError(`${file} is not a TD event log: ${(err as Error).message}`, EXIT_USAGE);
      }
      process.stdout.write(opts.json ? `${JSON.stringify(listing, null, 2)}\n` : summary(file, listing));
    });
}
