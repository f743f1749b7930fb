// UEFI device paths as text (UEFI 2.10, section 10.3 "Device Path Nodes" for the binary
// nodes, 10.6 "Text Device Node Reference" for their text), for the device path an
// EV_EFI_BOOT_SERVICES_APPLICATION event carries (TCG PFP UEFI_IMAGE_LOAD_EVENT).
//
// The node texts follow those trustee's eventlog crate prints (deps/eventlog/src/ccel/
// device_paths/), so the decoded logs compare with its parsed vectors, with one exception:
// a PCI node is Pci(Device,Function) as the UEFI text reference writes it (the node holds
// Function at offset 4 and Device at offset 5; trustee prints them in byte order). A node
// this module does not know is Path(type,subtype,hex data), the reference's generic form.

export class DevicePathError extends Error {}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A GUID in its registry format (UEFI 2.10 appendix A: the first three fields little-endian), upper case as the text reference writes it. */
export function guidText(b: Uint8Array): string {
  if (b.length < 16) throw new DevicePathError(`a GUID needs 16 bytes, ${b.length} remain`);
  const v = new DataView(b.buffer, b.byteOffset, 16);
  const p = (n: number, w: number): string => n.toString(16).padStart(w, '0');
  const tail = hex(b.subarray(8, 16));
  return `${p(v.getUint32(0, true), 8)}-${p(v.getUint16(4, true), 4)}-${p(v.getUint16(6, true), 4)}-${tail.slice(0, 4)}-${tail.slice(4)}`.toUpperCase();
}

/** UTF-16LE up to the first NUL. */
export function utf16z(b: Uint8Array): string {
  let end = b.length - (b.length % 2);
  for (let i = 0; i + 1 < end; i += 2) {
    if (b[i] === 0 && b[i + 1] === 0) {
      end = i;
      break;
    }
  }
  return Buffer.from(b.subarray(0, end)).toString('utf16le');
}

function need(data: Uint8Array, n: number, what: string): DataView {
  if (data.length < n) throw new DevicePathError(`${what} node data is ${data.length} bytes, needs ${n}`);
  return new DataView(data.buffer, data.byteOffset, data.byteLength);
}

/** ACPI _HID: a compressed EISA id (three 5-bit letters from '@', then a 16-bit product number), e.g. PNP0A03. */
function eisaId(hid: number): string {
  const vendor = hid & 0xffff;
  const letter = (shift: number): string => String.fromCharCode(((vendor >> shift) & 0x1f) + 0x40);
  return `${letter(10)}${letter(5)}${letter(0)}${(hid >>> 16).toString(16).toUpperCase().padStart(4, '0')}`;
}

function hardDrive(d: Uint8Array): string {
  // Hard Drive Media Device Path (10.3.5.1): partition number u32, start u64, size u64,
  // signature 16, MBR type 1 (1 MBR, 2 GPT), signature type 1.
  const v = need(d, 38, 'HD');
  const part = v.getUint32(0, true);
  const start = v.getBigUint64(4, true);
  const size = v.getBigUint64(12, true);
  const format = d[36];
  let sig: string;
  if (format === 1) sig = `MBR,0x${v.getUint32(20, true).toString(16).padStart(8, '0')}`;
  else if (format === 2) sig = `GPT,${guidText(d.subarray(20, 36))}`;
  else throw new DevicePathError(`HD node has partition format ${format}, expected 1 (MBR) or 2 (GPT)`);
  return `HD(${part},${sig}${part !== 0 ? `,0x${start.toString(16)},0x${size.toString(16)}` : ''})`;
}

function nodeText(type: number, sub: number, d: Uint8Array): string | undefined {
  if (type === 1 && sub === 1) {
    need(d, 2, 'PCI');
    return `Pci(${d[1]},${d[0]})`;
  }
  if (type === 2 && sub === 1) {
    const v = need(d, 8, 'ACPI');
    return `ACPI(${eisaId(v.getUint32(0, true))},${v.getUint32(4, true)})`;
  }
  if (type === 3 && sub === 5) {
    need(d, 2, 'USB');
    return `USB(${d[0]},${d[1]})`;
  }
  if (type === 4 && sub === 1) return hardDrive(d);
  if (type === 4 && sub === 3) {
    need(d, 16, 'VenMedia');
    return `VenMedia(${guidText(d)},${hex(d.subarray(16))})`;
  }
  if (type === 4 && sub === 4) return `File(${utf16z(d)})`;
  // PIWG firmware file and volume (10.3.5.6, 10.3.5.7): what EDK2 loads built-in applications from.
  if (type === 4 && (sub === 6 || sub === 7)) return `${sub === 6 ? 'FvFile' : 'Fv'}(${guidText(d)})`;
  if (type === 5 && sub === 1) {
    const v = need(d, 4, 'BBS');
    const names: Record<number, string> = { 1: 'FLOPPY', 2: 'HARD_DRIVE', 3: 'CDROM', 4: 'PCMCIA', 5: 'USB', 6: 'EMBEDDED_NETWORK', 0x80: 'DEV', 0xff: 'UNKNOWN' };
    const t = v.getUint16(0, true);
    const desc = Buffer.from(d.subarray(4)).toString('latin1').split('\0')[0];
    return `BBS(${names[t] ?? t},${desc},${v.getUint16(2, true)})`;
  }
  return undefined;
}

/**
 * The nodes of a device path, as text, up to its End Entire node (type 7Fh subtype FFh).
 * Each node is type, subtype, a u16 length counting its 4-byte header, then its data; a
 * length under 4 or past the buffer is an error (it would loop or read out of bounds).
 */
export function devicePathNodes(buf: Uint8Array): string[] {
  const nodes: string[] = [];
  let off = 0;
  while (off < buf.length) {
    if (off + 4 > buf.length) throw new DevicePathError(`device path node at offset ${off} needs a 4-byte header, ${buf.length - off} bytes remain`);
    const type = buf[off]!;
    const sub = buf[off + 1]!;
    const len = buf[off + 2]! | (buf[off + 3]! << 8);
    if (len < 4 || off + len > buf.length) throw new DevicePathError(`device path node at offset ${off} has length ${len}, ${buf.length - off} bytes remain`);
    if (type === 0x7f && sub === 0xff) return nodes;
    const data = buf.subarray(off + 4, off + len);
    nodes.push(nodeText(type, sub, data) ?? `Path(${type},${sub},${hex(data)})`);
    off += len;
  }
  return nodes;
}
