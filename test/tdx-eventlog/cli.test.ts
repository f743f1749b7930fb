// `tessera eventlog` and `tessera verify tdx --event-log`, as a user runs them (the real
// binary, a separate process), on trustee's real logs.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tesseraInScratchDir } from '../support/cli.ts';
import { byName } from '../tdx/cases.ts';
import { CCEL_CASES } from './vectors.ts';

const { dir, tessera } = tesseraInScratchDir('tessera-eventlog-cli-');
const file = (name: string) => fileURLToPath(new URL(`../fixtures/tdx-ccel/${name}`, import.meta.url));

describe.concurrent('tessera eventlog', { timeout: 120_000 }, () => {
  it('--json: the replayed RTMRs trustee asserts, and every event', async () => {
    for (const c of CCEL_CASES.filter((x) => x.rtmr !== undefined)) {
      const r = await tessera('eventlog', file(c.name), '--json');
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { rtmrs: string[]; events: { seq: number; type: string; digest: string; extended: boolean; rtmr?: number }[] };
      expect(out.rtmrs, c.name).toEqual(c.rtmr);
      expect(out.events.length).toBeGreaterThan(15);
      expect(out.events.every((e, i) => e.seq === i + 1 && /^[0-9a-f]{96}$/.test(e.digest))).toBe(true);
      if (c.name === 'CCEL_data_grub_gke') expect(out.events.filter((e) => !e.extended).map((e) => [e.type, e.rtmr])).toEqual([['EV_NO_ACTION', undefined], ['EV_NO_ACTION', undefined]]);
    }
  });

  it('prints the RTMRs and the decoded events per RTMR', async () => {
    const r = await tessera('eventlog', file('CCEL_AAEL_alibabacloud'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^TD event log .*CCEL_AAEL_alibabacloud: 87 events, 87 extended \(SHA-384\)\n {2}RTMR0 {2}[0-9a-f]{96}\n/);
    expect(r.stdout).toContain('EV_EFI_BOOT_SERVICES_APPLICATION');
    expect(r.stdout).toContain('ACPI(PNP0A03,0)/Pci(3,0)/Path(3,23,010000000000000000000000)/HD(2,GPT,453603E1-1E48-4EA4-8C5F-31C52B72FA9F,0x1800,0x64000)/File(\\EFI\\alinux\\shimx64.efi)');
    expect(r.stdout).toMatch(/kernel command line: \(hd0,gpt3\)\/boot\/vmlinuz-5\.10\.134-19\.1\.al8\.x86_64 root=UUID=/);
    expect(r.stdout).toContain('AAEL coco.com some-operation {"key":"value","nested-key":{"sub-key":"value"}}');
    expect(r.stdout).toMatch(/^RTMR3:$/m);
  });

  it('exit 2 and one line for a file that is not an event log, or is missing', async () => {
    const bad = join(dir, 'not-a-log');
    writeFileSync(bad, Buffer.alloc(64, 0x41));
    const r = await tessera('eventlog', bad);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^tessera: .*not-a-log is not a TD event log: first event type is 1094795585, expected EV_NO_ACTION \(3\)\n$/);
    const missing = await tessera('eventlog', join(dir, 'nope'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file');
  });
});

describe.concurrent('tessera verify tdx --event-log', { timeout: 120_000 }, () => {
  // No real quote pairs with these logs: a real quote with another machine's log must be
  // refused, naming each register and both values.
  const phala = byName('phala-b0c06f-v4-uptodate');
  const verify = (...extra: string[]) => tessera('verify', 'tdx', '--quote', join(phala.dir, 'quote.bin'), '--collateral', phala.dir, '--at', phala.meta.verify_at, ...extra);

  it('exit 1 naming the RTMRs that do not replay, calculated and given', async () => {
    const r = await verify('--event-log', file('CCEL_data_ovmf'));
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^TDX quote REJECTED/);
    expect(r.stdout).toContain('ok    tdx.eventlog.format: The event log parsed: 20 events extend RTMR0..3.');
    expect(r.stdout).toMatch(/FAIL {2}tdx\.eventlog\.rtmr0: RTMR\[0\] in the quote is not what the event log replays to: calculated 8566f998/);
    const json = await verify('--event-log', file('CCEL_data_ovmf'), '--json');
    const result = JSON.parse(json.stdout) as { checks: { id: string; ok: boolean; expected?: string }[]; claims: { tdx: { eventLog: { rtmr: unknown[][] } } } };
    expect(result.checks.find((c) => c.id === 'tdx.eventlog.rtmr0')).toMatchObject({ ok: false, expected: CCEL_CASES[0]!.rtmr![0] });
    expect(result.claims.tdx.eventLog.rtmr.map((l) => l.length)).toEqual([14, 4, 2, 0]);
  });

  it('exit 1 with tdx.eventlog.format for a log that does not parse; without --event-log the quote verifies', async () => {
    const bad = join(dir, 'truncated-log');
    writeFileSync(bad, (await import('node:fs')).readFileSync(file('CCEL_data_ovmf')).subarray(0, 300));
    const r = await verify('--event-log', bad);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL {2}tdx\.eventlog\.format: The event log is not a TD event log this verifier can replay/);
    expect((await verify()).code).toBe(0);
  });
});
