// A small fake of the kernel side of configfs-tsm (Linux Documentation/ABI/testing/configfs-tsm)
// over a temporary directory: making an entry creates its `provider` and `generation`
// attributes; a write bumps `generation`; an `inblob` write produces `outblob` (and for
// SEV-SNP `auxblob`, the GHCB certificate table) from the simulator, so the provider
// under test reads real report bytes. Hooks let a test play a concurrent writer.

import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { ConfigfsIo } from '../../guest-agent/providers/configfs-tsm.ts';
import { CERT_TABLE_GUID, guidBytes } from '../../guest-agent/providers/cert-table.ts';
import type { SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { buildSnpReport } from '../../verifier/testing/snp-report-builder.ts';
import { buildTdxQuote } from '../../verifier/testing/tdx-quote-builder.ts';

/** Encode a GHCB certificate table: entries, the all-zero terminator, then the blobs. */
export function certTable(entries: { guid: string; data: Uint8Array }[]): Buffer {
  const header = Buffer.alloc((entries.length + 1) * 24);
  let offset = header.length;
  entries.forEach((e, i) => {
    guidBytes(e.guid).copy(header, i * 24);
    header.writeUInt32LE(offset, i * 24 + 16);
    header.writeUInt32LE(e.data.length, i * 24 + 20);
    offset += e.data.length;
  });
  return Buffer.concat([header, ...entries.map((e) => Buffer.from(e.data))]);
}

export interface FakeTsmOptions {
  provider: 'sev_guest' | 'tdx_guest' | string;
  chain: SimulatorChain;
  /** Called after each read of an attribute; may write to the entry like another process. */
  afterRead?: (attr: string, entry: string, fake: FakeTsm) => Promise<void>;
  /** Leave auxblob out (a host that supplies no certificates). */
  noAuxblob?: boolean;
}

export class FakeTsm implements ConfigfsIo {
  readonly entries = new Set<string>();
  constructor(
    readonly root: string,
    private readonly options: FakeTsmOptions,
  ) {}

  async mkdir(path: string): Promise<void> {
    await mkdir(path); // ENOENT when the root is missing, as configfs would be
    this.entries.add(path);
    await writeFile(join(path, 'provider'), `${this.options.provider}\n`);
    await writeFile(join(path, 'generation'), '0\n');
  }

  async rmdir(path: string): Promise<void> {
    this.entries.delete(path);
    await rm(path, { recursive: true });
  }

  async readFile(path: string): Promise<Buffer> {
    const data = await readFile(path);
    await this.options.afterRead?.(basename(path), dirname(path), this);
    return data;
  }

  async writeFile(path: string, data: Uint8Array): Promise<void> {
    const entry = dirname(path);
    const attr = basename(path);
    await writeFile(path, data);
    const generation = Number((await readFile(join(entry, 'generation'), 'utf8')).trim());
    await writeFile(join(entry, 'generation'), `${generation + 1}\n`);
    if (attr !== 'inblob') return;
    if (data.length > 64) throw Object.assign(new Error('EINVAL'), { code: 'EINVAL' });
    const reportData = Buffer.concat([Buffer.from(data), Buffer.alloc(64 - data.length)]);
    const { chain } = this.options;
    if (this.options.provider === 'tdx_guest') {
      await writeFile(join(entry, 'outblob'), buildTdxQuote(chain, { reportData }).quote);
      return;
    }
    const { report, certificates } = buildSnpReport(chain, { reportData });
    await writeFile(join(entry, 'outblob'), report);
    if (!this.options.noAuxblob) {
      const table = certTable([
        { guid: CERT_TABLE_GUID.vcek, data: certificates.vcek },
        { guid: CERT_TABLE_GUID.ask, data: certificates.ask },
        { guid: CERT_TABLE_GUID.ark, data: certificates.ark },
      ]);
      await writeFile(join(entry, 'auxblob'), table);
    }
  }

  async isDirectory(path: string): Promise<boolean> {
    try {
      return (await stat(path)).isDirectory();
    } catch {
      return false;
    }
  }
}
