// What an event says, decoded from its event data (TCG PC Client Platform Firmware Profile
// 1.05, section 10.4 "Event Descriptions"): the description where the event carries one.
//
// The event data is not what the RTMR covers: the digest is. So every description comes
// with `measured`, true only when the digest is SHA-384 of the bytes the description was
// read from, as the measuring code hashes them; only then does a replayed RTMR vouch for
// the text. Rules (each from the code that measures):
//  - most events: SHA-384 of the event data (EDK2 Tcg2Dxe / TdTcg2Dxe TcgDxeHashLogExtendEvent);
//  - EV_EFI_VARIABLE_BOOT: SHA-384 of the variable's data alone (EDK2 MeasureVariable,
//    PFP 10.4.4: "the digest is of the VariableData field" for Boot#### and BootOrder);
//  - GRUB's strings (EV_IPL "grub_cmd X", "grub_kernel_cmdline X", "grub_module_cmdline X"):
//    SHA-384 of X without the prefix, with its NUL terminator (as the Alibaba Cloud vector's
//    GRUB measures it) or without (grub-core/commands/tpm.c grub_tpm_verify_string of
//    upstream GRUB hashes grub_strlen bytes); the log carries prefix + X + NUL;
//  - EV_EFI_BOOT_SERVICES_APPLICATION: the digest is the image's Authenticode hash, so the
//    device path is never measured.

import { createHash } from 'node:crypto';
import type { Event } from './abi.ts';
import { devicePathNodes, guidText, utf16z } from './device-path.ts';
import { EV, eventTypeName } from './event-types.ts';

export interface DecodedVariable {
  /** The vendor GUID, registry format, lower case (8be4df61-93ca-11d2-aa0d-00e098032b8c is EFI_GLOBAL_VARIABLE). */
  guid: string;
  name: string;
  dataLength: number;
  /** The variable's data, hex, when at most 64 bytes (SecureBoot, BootOrder...); larger ones (db, dbx) are left out. */
  data?: string;
}

export interface AaelEntry {
  domain: string;
  operation: string;
  /** The content as JSON when it parses, else the text. */
  content: unknown;
}

export interface DecodedEvent {
  /** TCG name, e.g. EV_EFI_BOOT_SERVICES_APPLICATION. */
  type: string;
  typeNumber: number;
  /** The SHA-384 digest extended into the RTMR, lower-case hex. */
  digest: string;
  /** A text description (EV_IPL, EV_EFI_ACTION, EV_EVENT_TAG, EV_PLATFORM_CONFIG_FLAGS, firmware blob and handoff table descriptions). */
  string?: string;
  /** EV_EFI_BOOT_SERVICES_APPLICATION / _DRIVER: the image's UEFI device path, nodes joined by `/`. */
  devicePath?: string;
  /** EV_EFI_VARIABLE_*: the variable measured. */
  variable?: DecodedVariable;
  /** GRUB: the command of a `grub_cmd` string. */
  grubCommand?: string;
  /** The kernel command line: GRUB's `grub_kernel_cmdline` string, or systemd-stub's UTF-16 load options. */
  kernelCmdline?: string;
  /** The CoCo attestation-agent's event log entry (EV_EVENT_TAG with tag "AAEL"). */
  aael?: AaelEntry;
  /** True when the digest is SHA-384 of what the description was decoded from (see the rules above). */
  measured?: boolean;
  /** Why the event data could not be decoded (the digest and replay are unaffected). */
  decodeError?: string;
}

const sha384 = (b: Uint8Array): Buffer => createHash('sha384').update(b).digest();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

function utf8(b: Uint8Array): string | undefined {
  try {
    return textDecoder.decode(b);
  } catch {
    return undefined;
  }
}

/** Up to the first NUL, as UTF-8 (else hex), as trustee's EV_IPL parser reads it. */
function cString(b: Uint8Array): string {
  const nul = b.indexOf(0);
  const s = utf8(nul < 0 ? b : b.subarray(0, nul));
  return s ?? Buffer.from(b).toString('hex');
}

/** UTF-16LE text: even length, every high byte zero, not empty. */
function looksUtf16(b: Uint8Array): boolean {
  if (b.length < 4 || b.length % 2 !== 0 || b[0] === 0) return false;
  for (let i = 1; i < b.length; i += 2) if (b[i] !== 0) return false;
  return true;
}

// TCG_PCClientTaggedEvent.taggedEventID of the attestation-agent's entries: "AAEL" as a
// little-endian u32 (confidential-containers/guest-components attestation-agent eventlog).
const AAEL_TAG = 0x4141454c;

const GRUB_PREFIXES = [
  ['grub_cmd ', 'grubCommand'],
  ['grub_kernel_cmdline ', 'kernelCmdline'],
  ['grub_module_cmdline ', undefined],
] as const;

function variable(ev: Event, out: DecodedEvent, digest: Uint8Array): void {
  // UEFI_VARIABLE_DATA (PFP 10.4.4): VariableName GUID, UnicodeNameLength u64 (characters),
  // VariableDataLength u64, UnicodeName, VariableData.
  const d = ev.event;
  if (d.length < 32) throw new Error(`UEFI_VARIABLE_DATA is ${d.length} bytes, needs at least 32`);
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const nameChars = v.getBigUint64(16, true);
  const dataLength = v.getBigUint64(24, true);
  const nameEnd = 32n + nameChars * 2n;
  if (nameEnd + dataLength > BigInt(d.length)) throw new Error(`UEFI_VARIABLE_DATA names ${nameChars} characters and ${dataLength} data bytes, the event holds ${d.length - 32}`);
  const data = d.subarray(Number(nameEnd), Number(nameEnd + dataLength));
  out.variable = {
    guid: guidText(d.subarray(0, 16)).toLowerCase(),
    name: Buffer.from(d.subarray(32, Number(nameEnd))).toString('utf16le'),
    dataLength: data.length,
    ...(data.length <= 64 ? { data: Buffer.from(data).toString('hex') } : {}),
  };
  out.measured = sha384(ev.eventType === EV.EFI_VARIABLE_BOOT ? data : d).equals(digest);
}

function ipl(ev: Event, out: DecodedEvent, digest: Uint8Array): void {
  const d = ev.event;
  // systemd-stub (src/boot/measure.c tpm_log_ipl_event) logs UTF-16 strings: the PE section
  // names of a UKI (".linux", ".cmdline"...; written without the dot, as trustee does), and
  // the load options it boots the kernel with.
  if (d.length >= 2 && d[0] === 0x2e && d[1] === 0) {
    out.string = utf16z(d.subarray(2));
    out.measured = sha384(d).equals(digest);
    return;
  }
  if (looksUtf16(d)) {
    out.string = utf16z(d);
    out.measured = sha384(d).equals(digest);
    if (out.measured) out.kernelCmdline = out.string;
    return;
  }
  const s = cString(d);
  out.string = s;
  for (const [prefix, field] of GRUB_PREFIXES) {
    if (!s.startsWith(prefix)) continue;
    const payload = s.slice(prefix.length);
    if (field) out[field] = payload;
    const bytes = Buffer.from(payload, 'utf8');
    out.measured = sha384(bytes).equals(digest) || sha384(Buffer.concat([bytes, Buffer.alloc(1)])).equals(digest);
    return;
  }
  out.measured = sha384(d).equals(digest);
}

function eventTag(ev: Event, out: DecodedEvent, digest: Uint8Array): void {
  // TCG_PCClientTaggedEvent (PFP 10.4.2): taggedEventID u32, taggedEventDataSize u32, data.
  const d = ev.event;
  if (d.length < 8) throw new Error(`TCG_PCClientTaggedEvent is ${d.length} bytes, needs at least 8`);
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const id = v.getUint32(0, true);
  const size = v.getUint32(4, true);
  if (8 + size > d.length) throw new Error(`TCG_PCClientTaggedEvent data size ${size} runs past the event (${d.length - 8} bytes)`);
  const data = d.subarray(8, 8 + size);
  out.string = Buffer.from(data).toString('utf8').replaceAll('\0', '');
  out.measured = sha384(d).equals(digest);
  if (id === AAEL_TAG) {
    // "<domain> <operation> <content>", content JSON when it parses.
    const s = utf8(data);
    const m = s === undefined ? null : /^([^ ]*) ([^ ]*) ([\s\S]*)$/.exec(s);
    if (!m) throw new Error('AAEL entry is not UTF-8 "<domain> <operation> <content>"');
    let content: unknown = m[3];
    try {
      content = JSON.parse(m[3]!);
    } catch {
      /* plain text content */
    }
    out.aael = { domain: m[1]!, operation: m[2]!, content };
  }
}

/** UEFI_PLATFORM_FIRMWARE_BLOB2 / UEFI_HANDOFF_TABLE_POINTERS2 (PFP 10.4.8, 10.4.9): a length-prefixed description. */
function prefixedDescription(ev: Event, out: DecodedEvent, digest: Uint8Array): void {
  const d = ev.event;
  const n = d[0];
  if (n === undefined || 1 + n > d.length) throw new Error(`description of ${n ?? 'no'} bytes runs past the event (${d.length} bytes)`);
  const s = utf8(d.subarray(1, 1 + n));
  if (s === undefined) throw new Error('description is not UTF-8');
  out.string = s.replace(/\0+$/, '');
  out.measured = sha384(d).equals(digest);
}

function imageLoad(ev: Event, out: DecodedEvent): void {
  // UEFI_IMAGE_LOAD_EVENT (PFP 10.4.3): ImageLocationInMemory u64, ImageLengthInMemory u64,
  // ImageLinkTimeAddress u64, LengthOfDevicePath u64, DevicePath.
  const d = ev.event;
  if (d.length < 32) throw new Error(`UEFI_IMAGE_LOAD_EVENT is ${d.length} bytes, needs at least 32`);
  const len = new DataView(d.buffer, d.byteOffset, d.byteLength).getBigUint64(24, true);
  if (32n + len > BigInt(d.length)) throw new Error(`device path of ${len} bytes runs past the event (${d.length - 32} bytes)`);
  if (len === 0n) return;
  out.devicePath = devicePathNodes(d.subarray(32, 32 + Number(len))).join('/');
  out.measured = false;
}

export function decodeEvent(ev: Event, digest: Uint8Array): DecodedEvent {
  const out: DecodedEvent = { type: eventTypeName(ev.eventType), typeNumber: ev.eventType, digest: Buffer.from(digest).toString('hex') };
  try {
    switch (ev.eventType) {
      case EV.EFI_BOOT_SERVICES_APPLICATION:
      case 0x80000004: // EV_EFI_BOOT_SERVICES_DRIVER
      case 0x80000005: // EV_EFI_RUNTIME_SERVICES_DRIVER
        imageLoad(ev, out);
        break;
      case EV.EFI_VARIABLE_DRIVER_CONFIG:
      case EV.EFI_VARIABLE_BOOT:
      case EV.EFI_VARIABLE_BOOT2:
      case EV.EFI_VARIABLE_AUTHORITY:
        variable(ev, out, digest);
        break;
      case EV.IPL:
        ipl(ev, out, digest);
        break;
      case EV.EVENT_TAG:
        eventTag(ev, out, digest);
        break;
      case EV.EFI_PLATFORM_FIRMWARE_BLOB2:
      case EV.EFI_HANDOFF_TABLES2:
        prefixedDescription(ev, out, digest);
        break;
      case EV.PLATFORM_CONFIG_FLAGS: {
        // Vendor-defined (PFP 10.4.1); trustee reads it as text with control characters dropped.
        const s = utf8(ev.event);
        if (s !== undefined) {
          out.string = s.replaceAll('\x10', ' ').replace(/\p{Cc}/gu, '');
          out.measured = sha384(ev.event).equals(digest);
        }
        break;
      }
      case EV.POST_CODE:
      case EV.ACTION:
      case EV.EFI_ACTION:
      case 0xc: // EV_COMPACT_HASH
      case 0x12: {
        // EV_OMIT_BOOT_DEVICE_EVENTS
        const s = utf8(ev.event);
        if (s !== undefined) {
          out.string = s;
          out.measured = sha384(ev.event).equals(digest);
        }
        break;
      }
      default:
        break;
    }
  } catch (err) {
    for (const k of ['string', 'devicePath', 'variable', 'grubCommand', 'kernelCmdline', 'aael', 'measured'] as const) delete out[k];
    out.decodeError = err instanceof Error ? err.message : String(err);
  }
  return out;
}
