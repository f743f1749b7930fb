// Writing secrets and tokens to disk: atomically (a temporary file in the same directory,
// flushed, then renamed over the target, so a reader sees the old file or the whole new
// one, never a part) and readable by the owner only (0600 from creation: the bytes are
// never on disk under wider permissions). The README recommends a tmpfs for these files.

import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Secret names as they may become file names: no path separators, no dot-files, no `..`. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

export function isSafeFileName(name: string): boolean {
  return SAFE_NAME.test(name) && !name.includes('..');
}

/**
 * Write `data` to `path` atomically with mode 0600. A missing directory is created, owner
 * only (0700), so `--out-dir /dev/shm/tessera` works on a fresh machine.
 */
export async function writeFileAtomic0600(path: string, data: Uint8Array | string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.chmod(0o600); // whatever the umask, before any byte is written
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    await rename(tmp, path);
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  // Make the rename itself durable; not every file system lets a directory be fsynced.
  const d = await open(dir, 'r').catch(() => undefined);
  if (d) {
    await d.sync().catch(() => undefined);
    await d.close();
  }
}

/** Write secret `name` into `dir` (the file is named after the secret). */
export async function writeSecretToDir(dir: string, name: string, value: Uint8Array): Promise<string> {
  if (!isSafeFileName(name)) throw new TypeError(`Secret name "${name}" cannot be used as a file name; use --out for it.`);
  const path = join(dir, name);
  await writeFileAtomic0600(path, value);
  return path;
}
