// Builds TD event logs in the CCEL format (TCG PC Client PFP 1.05 crypto-agile log: the
// SHA-1-format Spec ID event, then TCG_PCR_EVENT2 records with one SHA-384 digest each),
// and the small boot the TDX simulator reports: firmware configuration into RTMR0, a boot
// application (a UKI) into RTMR1, its kernel command line into RTMR2 (measured as GRUB
// does), an attestation-agent entry into RTMR3. The quote's RTMRs are its replay.

import { createHash } from 'node:crypto';
import { EV } from '../tdx/eventlog/event-types.ts';

export interface LogEvent {
  /** CC MR index: 1..4 for RTMR0..3 (0 is MRTD). */
  mrIndex: number;
  type: number;
  data: Uint8Array;
  /** Default SHA-384(data). */
  digest?: Uint8Array;
}

const sha384 = (b: Uint8Array | string): Buffer => createHash('sha384').update(b).digest();

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

function specIdEvent(): Buffer {
  // TCG_EfiSpecIdEventStruct: signature, platformClass 0, spec 2.0 errata 0, uintnSize 2
  // (64-bit UINTN), one algorithm (SHA-384, 48 bytes), no vendor info.
  const body = Buffer.concat([Buffer.from('Spec ID Event03\0', 'latin1'), u32(0), Buffer.from([0, 2, 0, 2]), u32(1), Buffer.from([0x0c, 0x00, 48, 0x00]), Buffer.from([0])]);
  return Buffer.concat([u32(0), u32(EV.NO_ACTION), Buffer.alloc(20), u32(body.length), body]);
}

/** A log of `events` after the Spec ID event, followed by `padding` bytes of 0xFF as in a CCEL table. */
export function buildEventLog(events: readonly LogEvent[], padding = 0): Uint8Array {
  const parts = [specIdEvent()];
  for (const e of events) {
    const digest = Buffer.from(e.digest ?? sha384(e.data));
    parts.push(u32(e.mrIndex), u32(e.type), u32(1), Buffer.from([0x0c, 0x00]), digest, u32(e.data.length), Buffer.from(e.data));
  }
  parts.push(Buffer.alloc(padding, 0xff));
  return new Uint8Array(Buffer.concat(parts));
}

/** SHA-384 replay of `events` (EV_NO_ACTION not extended): the RTMRs a quote must carry. */
export function replayLogEvents(events: readonly LogEvent[]): [Uint8Array, Uint8Array, Uint8Array, Uint8Array] {
  const rtmr = [0, 1, 2, 3].map(() => Buffer.alloc(48));
  for (const e of events) {
    if (e.type === EV.NO_ACTION || e.mrIndex < 1 || e.mrIndex > 4) continue;
    rtmr[e.mrIndex - 1] = createHash('sha384').update(rtmr[e.mrIndex - 1]!).update(e.digest ?? sha384(e.data)).digest();
  }
  return rtmr.map((b) => new Uint8Array(b)) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
}

const utf16z = (s: string): Buffer => Buffer.from(`${s}\0`, 'utf16le');

/** UEFI_VARIABLE_DATA for EFI_GLOBAL_VARIABLE `name`. */
function globalVariable(name: string, data: Uint8Array): Buffer {
  const guid = Buffer.from('61dfe48bca93d211aa0d00e098032b8c', 'hex'); // 8BE4DF61-93CA-11D2-AA0D-00E098032B8C
  const len = Buffer.alloc(16);
  len.writeBigUInt64LE(BigInt(name.length), 0);
  len.writeBigUInt64LE(BigInt(data.length), 8);
  return Buffer.concat([guid, len, Buffer.from(name, 'utf16le'), Buffer.from(data)]);
}

/** UEFI_IMAGE_LOAD_EVENT for an image at `path` (a File() node then End Entire). */
function imageLoad(path: string): Buffer {
  const file = utf16z(path);
  const node = Buffer.concat([Buffer.from([0x04, 0x04]), Buffer.from([(file.length + 4) & 0xff, (file.length + 4) >> 8]), file]);
  const devicePath = Buffer.concat([node, Buffer.from([0x7f, 0xff, 0x04, 0x00])]);
  const head = Buffer.alloc(32);
  head.writeBigUInt64LE(0x7e000000n, 0);
  head.writeBigUInt64LE(0x1000000n, 8);
  head.writeBigUInt64LE(BigInt(devicePath.length), 24);
  return Buffer.concat([head, devicePath]);
}

/** The simulated UKI's Authenticode digest (what a policy's tdx.eventLog.bootAppDigests lists). */
export const SIMULATOR_UKI_DIGEST = sha384('tessera simulator: UKI').toString('hex');
export const SIMULATOR_KERNEL_CMDLINE = 'console=hvc0 root=/dev/vda1 ro';

export function simulatorBootEvents(options: { kernelCmdline?: string } = {}): LogEvent[] {
  const cmdline = options.kernelCmdline ?? SIMULATOR_KERNEL_CMDLINE;
  const separator = Buffer.alloc(4);
  const aael = Buffer.from('tessera.dev boot simulator', 'utf8');
  const tag = Buffer.concat([u32(0x4141454c), u32(aael.length), aael]);
  return [
    { mrIndex: 1, type: EV.EFI_VARIABLE_DRIVER_CONFIG, data: globalVariable('SecureBoot', Buffer.from([1])) },
    { mrIndex: 1, type: EV.SEPARATOR, data: separator },
    { mrIndex: 2, type: EV.EFI_ACTION, data: Buffer.from('Calling EFI Application from Boot Option') },
    { mrIndex: 2, type: EV.SEPARATOR, data: separator },
    { mrIndex: 2, type: EV.EFI_BOOT_SERVICES_APPLICATION, data: imageLoad('\\EFI\\BOOT\\BOOTX64.EFI'), digest: Buffer.from(SIMULATOR_UKI_DIGEST, 'hex') },
    { mrIndex: 3, type: EV.IPL, data: Buffer.from(`grub_kernel_cmdline ${cmdline}\0`), digest: sha384(cmdline) },
    { mrIndex: 2, type: EV.EFI_ACTION, data: Buffer.from('Exit Boot Services Invocation') },
    { mrIndex: 4, type: EV.EVENT_TAG, data: tag },
  ];
}

/** The simulator's event log and the RTMRs its quote carries. */
export function simulatorEventLog(options: { kernelCmdline?: string } = {}): { eventLog: Uint8Array; rtmr: [Uint8Array, Uint8Array, Uint8Array, Uint8Array] } {
  const events = simulatorBootEvents(options);
  return { eventLog: buildEventLog(events, 64), rtmr: replayLogEvents(events) };
}
