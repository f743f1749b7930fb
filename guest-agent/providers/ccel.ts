// The TD event log the firmware publishes: the ACPI CCEL table's log area, which Linux
// exposes as /sys/firmware/acpi/tables/data/CCEL (drivers/acpi/sysfs.c, the table data files;
// readable by root). It is sent beside the quote so the verifier can replay it to RTMR0..3.
// The log area is mostly padding (64 KiB to 1 MiB of 0xFF after the last event): what is
// sent stops after the last event, which is all the verifier reads.

import { EventLogError, parseEventLog } from '../../verifier/tdx/eventlog/abi.ts';
import { ProviderError } from './provider.ts';

export const CCEL_PATH = '/sys/firmware/acpi/tables/data/CCEL';

/** The log at `path` cut after its last event; undefined when there is none (not a TD, or a kernel that does not expose it). */
export async function readCcel(path: string, readFile: (p: string) => Promise<Buffer>): Promise<Uint8Array | undefined> {
  let raw: Buffer;
  try {
    raw = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'EACCES' || code === 'EPERM') throw new ProviderError('provider_permission', `Not allowed to read the TD event log ${path}: run the agent as root.`);
    throw new ProviderError('provider_output', `Reading the TD event log ${path} failed: ${(err as Error).message}`);
  }
  if (raw.length === 0) return undefined;
  try {
    return new Uint8Array(raw.subarray(0, parseEventLog(raw).end));
  } catch (err) {
    // Sent whole: the verifier names what is wrong with it (tdx.eventlog.format).
    if (err instanceof EventLogError) return new Uint8Array(raw);
    throw err;
  }
}
