// Evidence from the Linux configfs-tsm report interface (Linux 6.7+, CONFIG_TSM_REPORTS;
// Documentation/ABI/testing/configfs-tsm): one directory per request under
// /sys/kernel/config/tsm/report. The kernel creates the attributes when the directory is
// made: write `inblob` (the 64-byte REPORT_DATA), read `outblob` (the SEV-SNP report or the
// TDX quote), `auxblob` (SEV-SNP: the certificate table, see cert-table.ts) and `provider`
// (`sev_guest` or `tdx_guest`). `generation` counts writes to the entry: reading it before
// and after the blobs shows whether another process wrote in between, in which case the
// blobs may answer someone else's REPORT_DATA (the ABI document's stated use of it).

import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tee } from '../../verifier/result.ts';
import { parseCertTable } from './cert-table.ts';
import { CCEL_PATH, readCcel } from './ccel.ts';
import { ProviderError, requireReportData, type EvidenceProvider, type ProviderEvidence } from './provider.ts';

export const CONFIGFS_TSM_ROOT = '/sys/kernel/config/tsm/report';

/** The file operations used, so tests can stand a fake kernel behind them. */
export interface ConfigfsIo {
  mkdir(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  readFile(path: string): Promise<Buffer>;
  writeFile(path: string, data: Uint8Array): Promise<void>;
  isDirectory(path: string): Promise<boolean>;
}

export const nodeConfigfsIo: ConfigfsIo = {
  mkdir: async (p) => {
    await mkdir(p, { mode: 0o700 });
  },
  rmdir: (p) => rmdir(p),
  readFile: (p) => readFile(p),
  writeFile: (p, d) => writeFile(p, d),
  isDirectory: async (p) => {
    try {
      return (await stat(p)).isDirectory();
    } catch {
      return false;
    }
  },
};

export interface ConfigfsTsmOptions {
  root?: string;
  io?: ConfigfsIo;
  /** SEV-SNP: the VMPL to request the report at (`privlevel`); unset leaves the kernel default. */
  privlevel?: number;
  /** Fresh entries to try when a concurrent writer is detected. Default 2. */
  attempts?: number;
  /** TDX: where the TD event log is read from (default /sys/firmware/acpi/tables/data/CCEL). */
  ccelPath?: string;
}

const PROVIDERS: Record<string, 'sev-snp' | 'tdx'> = { sev_guest: 'sev-snp', tdx_guest: 'tdx' };

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

export async function configfsTsmPresent(root = CONFIGFS_TSM_ROOT, io: ConfigfsIo = nodeConfigfsIo): Promise<boolean> {
  return io.isDirectory(root);
}

export class ConfigfsTsmProvider implements EvidenceProvider {
  readonly name = 'configfs-tsm';
  private readonly root: string;
  private readonly io: ConfigfsIo;
  private readonly privlevel: number | undefined;
  private readonly attempts: number;
  private readonly ccelPath: string;
  private detected: 'sev-snp' | 'tdx' | undefined;

  constructor(options: ConfigfsTsmOptions = {}) {
    this.root = options.root ?? CONFIGFS_TSM_ROOT;
    this.io = options.io ?? nodeConfigfsIo;
    this.privlevel = options.privlevel;
    this.attempts = Math.max(1, options.attempts ?? 2);
    this.ccelPath = options.ccelPath ?? CCEL_PATH;
  }

  async tee(): Promise<Tee> {
    if (this.detected) return this.detected;
    return this.withEntry(async (dir) => this.readProvider(dir));
  }

  async getEvidence(reportData: Uint8Array): Promise<ProviderEvidence> {
    requireReportData(reportData);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.withEntry((dir) => this.request(dir, reportData));
      } catch (err) {
        if (!(err instanceof ProviderError && err.code === 'provider_busy') || attempt >= this.attempts) throw err;
      }
    }
  }

  private async request(dir: string, reportData: Uint8Array): Promise<ProviderEvidence> {
    let writes = 0;
    if (this.privlevel !== undefined) {
      await this.write(dir, 'privlevel', Buffer.from(`${this.privlevel}\n`));
      writes++;
    }
    await this.write(dir, 'inblob', reportData);
    writes++;
    const before = await this.generation(dir);
    // Our entry is new and private to us: any other count means someone else wrote to it.
    if (before !== writes) {
      throw new ProviderError('provider_busy', `Another process wrote to the configfs-tsm entry ${dir} (generation ${before}, expected ${writes}).`);
    }
    const tee = await this.readProvider(dir);
    const outblob = await this.read(dir, 'outblob');
    let auxblob: Buffer | undefined;
    if (tee === 'sev-snp') auxblob = await this.read(dir, 'auxblob', true);
    const after = await this.generation(dir);
    if (after !== before) {
      throw new ProviderError('provider_busy', `The configfs-tsm entry ${dir} was written while its report was read (generation ${before} -> ${after}).`);
    }
    if (outblob.length === 0) throw new ProviderError('provider_output', `The ${tee} provider returned an empty outblob.`);
    if (tee === 'tdx') {
      const eventLog = await readCcel(this.ccelPath, (p) => this.io.readFile(p));
      return { tee, quote: new Uint8Array(outblob), ...(eventLog ? { eventLog } : {}) };
    }
    const table = auxblob && auxblob.length > 0 ? parseCertTable(auxblob) : undefined;
    const certificates = table && Object.keys(table.certificates).length > 0 ? table.certificates : undefined;
    return certificates ? { tee, report: new Uint8Array(outblob), certificates } : { tee, report: new Uint8Array(outblob) };
  }

  private async withEntry<T>(fn: (dir: string) => Promise<T>): Promise<T> {
    const dir = join(this.root, `tessera-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      await this.io.mkdir(dir);
    } catch (err) {
      const code = errno(err);
      if (code === 'ENOENT') {
        throw new ProviderError(
          'provider_unavailable',
          `configfs-tsm is not available: ${this.root} does not exist (needs Linux 6.7+ with CONFIG_TSM_REPORTS, configfs mounted at /sys/kernel/config, and a SEV-SNP or TDX guest).`,
        );
      }
      if (code === 'EACCES' || code === 'EPERM') {
        throw new ProviderError('provider_permission', `Not allowed to create a report entry under ${this.root}: run the agent as root or grant it access to configfs-tsm.`);
      }
      throw new ProviderError('provider_unavailable', `Cannot create a report entry under ${this.root}: ${(err as Error).message}`);
    }
    try {
      return await fn(dir);
    } finally {
      // The kernel removes the entry's attributes with the directory.
      await this.io.rmdir(dir).catch(() => undefined);
    }
  }

  private async readProvider(dir: string): Promise<'sev-snp' | 'tdx'> {
    const name = (await this.read(dir, 'provider')).toString('utf8').trim();
    const tee = PROVIDERS[name];
    if (!tee) throw new ProviderError('provider_unsupported', `configfs-tsm provider "${name}" is not supported (supported: ${Object.keys(PROVIDERS).join(', ')}).`);
    this.detected = tee;
    return tee;
  }

  private async generation(dir: string): Promise<number> {
    const text = (await this.read(dir, 'generation')).toString('utf8').trim();
    if (!/^\d+$/.test(text)) throw new ProviderError('provider_output', `configfs-tsm generation is not a number: "${text.slice(0, 20)}".`);
    return Number(text);
  }

  private async write(dir: string, attr: string, data: Uint8Array): Promise<void> {
    try {
      await this.io.writeFile(join(dir, attr), data);
    } catch (err) {
      throw new ProviderError('provider_output', `Writing configfs-tsm ${attr} failed: ${(err as Error).message}`);
    }
  }

  private async read(dir: string, attr: string, optional = false): Promise<Buffer> {
    try {
      return await this.io.readFile(join(dir, attr));
    } catch (err) {
      // auxblob is absent on kernels or hosts without certificate support: no certificates.
      if (optional && ['ENOENT', 'EOPNOTSUPP', 'ENXIO'].includes(errno(err) ?? '')) return Buffer.alloc(0);
      throw new ProviderError('provider_output', `Reading configfs-tsm ${attr} failed: ${(err as Error).message}`);
    }
  }
}
