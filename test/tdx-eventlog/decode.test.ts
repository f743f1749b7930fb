// Our decoding of each real log against the events trustee's own parser decodes from it
// (deps/eventlog test_query_digest, the *_out.json files): same events in the same order,
// same MR index, type, digest and event bytes, and the same descriptions. Where we differ
// by design, the difference is spelled out here:
//  - a PCI device path node is Pci(Device,Function) (UEFI 2.10 section 10.6.1.2); trustee
//    prints the two bytes in storage order, Function first;
//  - a variable's GUID is in registry format (8be4df61-93ca-11d2-...); trustee prints the
//    16 bytes as stored (61dfe48b-ca93-d211-...);
//  - variable data over 64 bytes (certificate lists) is left out of our claims;
//  - `measured` is our own finding: for GRUB strings and EV_EFI_VARIABLE_BOOT it follows
//    what the measuring code hashes, where trustee's digest_matches_event hashes the event data.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseEventLog } from '../../verifier/tdx/eventlog/abi.ts';
import { decodeEvent, type DecodedEvent } from '../../verifier/tdx/eventlog/decode.ts';
import { devicePathNodes } from '../../verifier/tdx/eventlog/device-path.ts';
import { eventLogClaims } from '../../verifier/tdx/eventlog/claims.ts';
import { EV } from '../../verifier/tdx/eventlog/event-types.ts';
import { CCEL_CASES, CCEL_DIR } from './vectors.ts';

interface TrusteeEntry {
  index: number;
  type_name: string;
  event: string;
  digest_matches_event: boolean;
  digests: { alg: string; digest: string }[];
  details: {
    string?: string;
    unicode_name?: string;
    unicode_name_length?: number;
    variable_data?: string;
    variable_data_length?: number;
    variable_name?: string;
    device_paths?: string[];
    data?: unknown;
  };
}

/** trustee's byte-order GUID text to the registry format. */
function registryGuid(raw: string): string {
  const b = Buffer.from(raw.replaceAll('-', ''), 'hex');
  const le = (s: number, n: number) => Buffer.from(b.subarray(s, s + n)).reverse().toString('hex');
  return `${le(0, 4)}-${le(4, 2)}-${le(6, 2)}-${b.subarray(8, 10).toString('hex')}-${b.subarray(10).toString('hex')}`;
}

const pciDeviceFirst = (node: string) => node.replace(/^Pci\((\d+),(\d+)\)$/, 'Pci($2,$1)');
const sha384 = (b: Uint8Array) => createHash('sha384').update(b).digest();

const parsedCases = CCEL_CASES.filter((c) => c.parsed !== undefined);

describe('decoding compared with trustee’s parsed events', () => {
  it('covers every vector trustee parses', () => {
    expect(parsedCases.map((c) => c.name).sort()).toEqual(['CCEL_AAEL_alibabacloud', 'CCEL_data_grub', 'CCEL_data_grub_gke', 'CCEL_data_ovmf']);
  });

  for (const c of parsedCases) {
    it(`${c.name}: same events, digests and descriptions`, () => {
      const expected = (JSON.parse(readFileSync(new URL(c.parsed!, CCEL_DIR), 'utf8')) as { uefi_event_logs: TrusteeEntry[] }).uefi_event_logs;
      const log = parseEventLog(c.log);
      expect(log.events).toHaveLength(expected.length);
      let described = 0;
      log.events.forEach((ev, i) => {
        const t = expected[i]!;
        const at = `${c.name} event ${i + 1} (${t.type_name})`;
        const d: DecodedEvent = decodeEvent(ev, ev.digests[0]!.digest);
        expect(ev.mrIndex, at).toBe(t.index);
        expect(d.type, at).toBe(t.type_name);
        expect(ev.digests.map((x) => x.algId === 0x0c ? 'SHA-384' : String(x.algId)), at).toEqual(t.digests.map((x) => x.alg));
        expect(d.digest, at).toBe(t.digests[0]!.digest);
        expect(Buffer.from(ev.event).toString('base64'), at).toBe(t.event);
        expect(d.decodeError, at).toBeUndefined();
        const det = t.details;
        if (det.device_paths) {
          expect(d.devicePath?.split('/'), at).toEqual(det.device_paths.map(pciDeviceFirst));
          described++;
        } else {
          expect(d.devicePath, at).toBeUndefined();
        }
        if (det.variable_name !== undefined) {
          expect(d.variable, at).toMatchObject({ guid: registryGuid(det.variable_name), name: det.unicode_name, dataLength: det.variable_data_length });
          if (det.variable_data_length! <= 64) expect(d.variable!.data, at).toBe(Buffer.from(det.variable_data!, 'base64').toString('hex'));
          else expect(d.variable!.data, at).toBeUndefined();
          described++;
        } else {
          expect(d.variable, at).toBeUndefined();
        }
        expect(d.string, at).toBe(det.string);
        if (det.string !== undefined) described++;
        if (det.unicode_name === 'AAEL') expect(d.aael, at).toEqual(det.data);
        else expect(d.aael, at).toBeUndefined();
        // Where the measured bytes are the event data, `measured` is trustee's digest_matches_event.
        const grub = /^grub_(cmd|kernel_cmdline|module_cmdline) /.test(d.string ?? '');
        if (d.measured !== undefined && !grub && ev.eventType !== EV.EFI_VARIABLE_BOOT && ev.eventType !== EV.EFI_BOOT_SERVICES_APPLICATION) {
          expect(d.measured, at).toBe(t.digest_matches_event);
        }
        expect(t.digest_matches_event, at).toBe(sha384(ev.event).equals(ev.digests[0]!.digest));
      });
      expect(described).toBeGreaterThan(log.events.length / 2);
    });
  }

  it('GRUB strings and boot variables are measured as GRUB and EDK2 hash them (Alibaba Cloud log)', () => {
    const c = CCEL_CASES.find((x) => x.name === 'CCEL_AAEL_alibabacloud')!;
    const events = eventLogClaims(parseEventLog(c.log)).rtmr.flat();
    const grub = events.filter((e) => e.grubCommand !== undefined || e.kernelCmdline !== undefined);
    expect(grub.length).toBeGreaterThan(50);
    expect(grub.every((e) => e.measured === true)).toBe(true);
    const cmdline = events.filter((e) => e.kernelCmdline !== undefined);
    expect(cmdline).toHaveLength(1);
    expect(cmdline[0]!.kernelCmdline).toMatch(/^\(hd0,gpt3\)\/boot\/vmlinuz-5\.10\.134-19\.1\.al8\.x86_64 root=UUID=33b46ac5-7482-4aa5-8de0-60ab4c3a4c78 ro /);
    const boot = events.filter((e) => e.type === 'EV_EFI_VARIABLE_BOOT');
    expect(boot.length).toBeGreaterThan(3);
    expect(boot.every((e) => e.measured === true)).toBe(true);
    // The AAEL entries are the attestation agent's, extended into RTMR3.
    const rtmr3 = eventLogClaims(parseEventLog(c.log)).rtmr[3];
    expect(rtmr3.map((e) => e.aael)).toEqual([
      { domain: 'coco.com', operation: 'some-operation', content: 'some-content' },
      { domain: 'coco.com', operation: 'some-operation', content: { key: 'value', 'nested-key': { 'sub-key': 'value' } } },
    ]);
  });

  it('device path nodes that run past their buffer are an error, not a loop or an overread', () => {
    expect(() => devicePathNodes(Uint8Array.from([0x04, 0x04, 0x02, 0x00]))).toThrow(/length 2/);
    expect(() => devicePathNodes(Uint8Array.from([0x04, 0x04, 0x40, 0x00, 0x41]))).toThrow(/length 64/);
    expect(devicePathNodes(Uint8Array.from([0x01, 0x01, 0x06, 0x00, 0x02, 0x1f, 0x7f, 0xff, 0x04, 0x00]))).toEqual(['Pci(31,2)']);
  });

  it('an event whose data does not decode keeps its digest and says why', () => {
    const ev = { mrIndex: 2, eventType: EV.EFI_BOOT_SERVICES_APPLICATION, digests: [], event: new Uint8Array(8) };
    const d = decodeEvent(ev, new Uint8Array(48));
    expect(d).toEqual({ type: 'EV_EFI_BOOT_SERVICES_APPLICATION', typeNumber: EV.EFI_BOOT_SERVICES_APPLICATION, digest: '0'.repeat(96), decodeError: 'UEFI_IMAGE_LOAD_EVENT is 8 bytes, needs at least 32' });
  });
  it('a UTF-16 EV_IPL string is a kernel command line only when its digest is its SHA-384 (systemd-stub load options)', () => {
    const data = Buffer.from('console=ttyS0 root=/dev/vda2\0', 'utf16le');
    const ev = { mrIndex: 3, eventType: EV.IPL, digests: [], event: new Uint8Array(data) };
    expect(decodeEvent(ev, sha384(data))).toMatchObject({ string: 'console=ttyS0 root=/dev/vda2', kernelCmdline: 'console=ttyS0 root=/dev/vda2', measured: true });
    const other = decodeEvent(ev, new Uint8Array(48));
    expect(other).toMatchObject({ string: 'console=ttyS0 root=/dev/vda2', measured: false });
    expect(other.kernelCmdline).toBeUndefined();
  });
});
