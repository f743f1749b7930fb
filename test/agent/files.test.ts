// Secrets land on disk atomically and readable by the owner only.

import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isSafeFileName, writeFileAtomic0600, writeSecretToDir } from '../../guest-agent/files.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agent-files-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const mode = async (p: string): Promise<number> => (await stat(p)).mode & 0o777;

describe('writeFileAtomic0600', () => {
  it('creates the file with mode 0600 whatever the umask', async () => {
    const old = process.umask(0);
    try {
      await writeFileAtomic0600(join(dir, 'secret'), Buffer.from('s3cret'));
    } finally {
      process.umask(old);
    }
    expect(await mode(join(dir, 'secret'))).toBe(0o600);
    expect(await readFile(join(dir, 'secret'), 'utf8')).toBe('s3cret');
  });

  it('replaces an existing file (and its wider mode) in one rename, leaving no temporary file', async () => {
    const path = join(dir, 'token');
    await writeFile(path, 'old', { mode: 0o644 });
    await writeFileAtomic0600(path, 'new');
    expect(await readFile(path, 'utf8')).toBe('new');
    expect(await mode(path)).toBe(0o600);
    expect(await readdir(dir)).toEqual(['token']);
  });

  it('creates a missing directory, owner only (the README walkthrough writes to a fresh /dev/shm/tessera)', async () => {
    await writeFileAtomic0600(join(dir, 'missing', 'deeper', 'x'), 'v');
    expect(await readFile(join(dir, 'missing', 'deeper', 'x'), 'utf8')).toBe('v');
    expect(await mode(join(dir, 'missing'))).toBe(0o700);
    expect(await mode(join(dir, 'missing', 'deeper', 'x'))).toBe(0o600);
  });

  it('fails without leaving anything behind when the directory cannot be made', async () => {
    await writeFile(join(dir, 'a-file'), 'not a directory');
    await expect(writeFileAtomic0600(join(dir, 'a-file', 'x'), 'v')).rejects.toMatchObject({ code: expect.stringMatching(/^(ENOTDIR|EEXIST)$/) });
    expect(await readdir(dir)).toEqual(['a-file']);
  });
});

describe('writeSecretToDir', () => {
  it('names the file after the secret', async () => {
    const path = await writeSecretToDir(dir, 'db-password.v2', Buffer.from('pw'));
    expect(path).toBe(join(dir, 'db-password.v2'));
    expect(await mode(path)).toBe(0o600);
  });

  it('refuses names that would escape the directory or hide', async () => {
    for (const bad of ['../etc/passwd', 'a/b', '.hidden', '..', 'x..y', '', 'a\0b']) {
      expect(isSafeFileName(bad), bad).toBe(false);
      await expect(writeSecretToDir(dir, bad, Buffer.from('v'))).rejects.toThrow(/cannot be used as a file name/);
    }
    expect(await readdir(dir)).toEqual([]);
  });
});
