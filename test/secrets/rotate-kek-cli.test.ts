// `tessera keys rotate-kek` as an operator runs it (a separate process against a stopped
// service's data directory): the new KEK from TESSERA_NEW_KEK or --new-kek-file, every
// refusal exit 2 with one clear line and nothing changed, and afterwards only the new KEK
// opens the data.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SecretStore } from '../../server/secrets/store.ts';
import { openSqliteStore } from '../../server/storage/sqlite/index.ts';
import { removeDir, startServer, tempDir } from '../server/helpers.ts';
import { ROOT, TESSERA } from '../e2e/processes.ts';

const dataDir = tempDir('tessera-rotate-');
const kek1 = randomBytes(32).toString('base64');
const kek2 = randomBytes(32).toString('base64');

beforeAll(async () => {
  const srv = await startServer({ dataDir, env: { TESSERA_KEK: kek1, TESSERA_ADMIN_TOKEN: `admin-${randomBytes(24).toString('hex')}` } });
  srv.service.ctx.secrets.put('kept', { value: Buffer.from('kept-value') }, 'test', null);
  await srv.stop();
}, 60_000);

afterAll(() => removeDir(dataDir));

function rotate(env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, [TESSERA, 'keys', 'rotate-kek', '--data', dataDir, ...args], { cwd: ROOT, env: { ...process.env, TESSERA_KEK: '', TESSERA_NEW_KEK: '', ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function valueUnder(kek: string): Promise<string> {
  const store = openSqliteStore(dataDir);
  try {
    return (await new SecretStore(store.secrets, Buffer.from(kek, 'base64')).find('kept'))!.open().toString();
  } finally {
    await store.close();
  }
}

it('refuses without a new KEK, with the wrong current KEK, and with a readable key file, changing nothing', async () => {
  const none = rotate({ TESSERA_KEK: kek1 });
  expect([none.code, none.stderr]).toEqual([2, 'tessera: give the new KEK in TESSERA_NEW_KEK (base64 of 32 random bytes) or --new-kek-file FILE\n']);

  const wrong = rotate({ TESSERA_KEK: randomBytes(32).toString('base64'), TESSERA_NEW_KEK: kek2 });
  expect(wrong.code).toBe(2);
  expect(wrong.stderr).toMatch(/^tessera: secret kept version 1 does not open with the current KEK: wrong KEK for this data directory \(nothing was changed\)\n$/);

  const same = rotate({ TESSERA_KEK: kek1, TESSERA_NEW_KEK: kek1 });
  expect([same.code, same.stderr]).toEqual([2, 'tessera: the new KEK is the current KEK\n']);

  const loose = join(dataDir, 'loose-kek');
  writeFileSync(loose, kek2, { mode: 0o644 });
  const readable = rotate({ TESSERA_KEK: kek1 }, '--new-kek-file', loose);
  expect(readable.code).toBe(2);
  expect(readable.stderr).toContain('must not be readable by group or others');

  const short = rotate({ TESSERA_KEK: kek1, TESSERA_NEW_KEK: 'c2hvcnQ=' });
  expect(short.code).toBe(2);
  expect(short.stderr).toContain('TESSERA_NEW_KEK: the KEK must decode to 32 bytes, found 5');

  expect(await valueUnder(kek1)).toBe('kept-value');
});

it('re-encrypts everything under the new KEK from a 0600 key file', async () => {
  const file = join(dataDir, 'new-kek');
  writeFileSync(file, kek2, { mode: 0o600 });
  const ok = rotate({ TESSERA_KEK: kek1 }, '--new-kek-file', file, '--json');
  expect(ok.code, ok.stderr).toBe(0);
  expect(JSON.parse(ok.stdout)).toEqual({ secretVersions: 1, signingKeys: 1, serverSecrets: 2 });
  expect(await valueUnder(kek2)).toBe('kept-value');
  await expect(valueUnder(kek1)).rejects.toThrow(/does not open/);
  // The old KEK is refused from now on, by the CLI as by the service.
  const again = rotate({ TESSERA_KEK: kek1, TESSERA_NEW_KEK: randomBytes(32).toString('base64') });
  expect(again.code).toBe(2);
});
