// The three CollateralStores behave alike; the file store survives a restart and a
// damaged entry; the database store works on the service's migrated database.

import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryCollateralStore } from '../../verifier/collateral/memory-store.ts';
import { FileCollateralStore } from '../../verifier/collateral/file-store.ts';
import { decodeCollateralFile, encodeCollateralFile } from '../../verifier/collateral/entry-codec.ts';
import type { CollateralEntry, CollateralStore } from '../../verifier/collateral/store.ts';
import { openSqliteStore } from '../../server/storage/sqlite/index.ts';
import { EvidenceFormatError } from '../../verifier/errors.ts';
import { FIXTURES, snpCase } from './fake-vendors.ts';

const dir = mkdtempSync(join(tmpdir(), 'tessera-collateral-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const vcekCase = snpCase('milan-v3-mstav');
const vcek: CollateralEntry = {
  key: `snp-vcek/Milan/${vcekCase.chipId}/bl=4,tee=0,snp=24,ucode=219`,
  kind: 'snp-vcek',
  bytes: new Uint8Array(readFileSync(join(vcekCase.dir, 'vcek.der'))),
  source: 'amd-kds',
  fetchedAt: new Date('2026-02-06T00:00:00Z'),
  immutable: true,
};
const tdxDir = join(FIXTURES, 'tdx', 'phala-b0c06f-v4-uptodate');
const tcbInfo: CollateralEntry = {
  key: 'intel-tcb-info/tdx/b0c06f000000',
  kind: 'intel-tcb-info',
  bytes: new Uint8Array(readFileSync(join(tdxDir, 'tcb_info.json'))),
  issuerChain: readFileSync(join(tdxDir, 'tcb_info_issuer_chain.pem'), 'utf8'),
  source: 'intel-pcs',
  fetchedAt: new Date('2025-07-19T10:00:00Z'),
  nextUpdate: new Date('2025-07-19T10:16:03Z'),
  immutable: false,
};

async function exercise(store: CollateralStore): Promise<void> {
  expect(await store.get(vcek.key)).toBeUndefined();
  await store.put(tcbInfo);
  await store.put(vcek);
  expect(await store.get(vcek.key)).toEqual(vcek);
  expect(await store.get(tcbInfo.key)).toEqual(tcbInfo);
  expect((await store.list()).map((e) => e.key)).toEqual([tcbInfo.key, vcek.key]);
  const replaced = { ...tcbInfo, fetchedAt: new Date('2025-07-19T11:00:00Z'), source: 'bundle' };
  await store.put(replaced);
  expect(await store.get(tcbInfo.key)).toEqual(replaced);
  await store.delete(vcek.key);
  expect(await store.get(vcek.key)).toBeUndefined();
  expect(await store.list()).toHaveLength(1);
  // putMany: each inserted or replaced, as put would.
  const crl = { ...tcbInfo, key: 'intel-pck-crl/platform', kind: 'intel-pck-crl' as const };
  await store.putMany([vcek, crl, tcbInfo]);
  expect((await store.list()).map((e) => e.key)).toEqual([crl.key, tcbInfo.key, vcek.key]);
  expect(await store.get(tcbInfo.key)).toEqual(tcbInfo);
  await store.delete(vcek.key);
  await store.delete(crl.key);
  await store.put(replaced);
}

describe('collateral stores', () => {
  it('memory store', async () => {
    await exercise(new MemoryCollateralStore());
  });

  it('file store: same behaviour, persisted, rewritten atomically', async () => {
    const path = join(dir, 'cache.json');
    await exercise(new FileCollateralStore(path));
    const reopened = new FileCollateralStore(path);
    expect((await reopened.list()).map((e) => e.key)).toEqual([tcbInfo.key]);
    expect(await reopened.get(tcbInfo.key)).toEqual({ ...tcbInfo, fetchedAt: new Date('2025-07-19T11:00:00Z'), source: 'bundle' });
    // No temporary file is left beside it.
    expect(readdirSync(dir).filter((f) => f.startsWith('cache.json'))).toEqual(['cache.json']);
  });

  it('file store: concurrent puts all land', async () => {
    const path = join(dir, 'concurrent.json');
    const store = new FileCollateralStore(path);
    await Promise.all(
      ['platform', 'processor'].map((ca) => store.put({ ...tcbInfo, key: `intel-pck-crl/${ca}`, kind: 'intel-pck-crl' })).concat(store.put(vcek)),
    );
    expect((await new FileCollateralStore(path).list()).map((e) => e.key)).toEqual(['intel-pck-crl/platform', 'intel-pck-crl/processor', vcek.key]);
  });

  it('file store: a damaged entry is set aside, the others are served', async () => {
    const path = join(dir, 'damaged.json');
    const json = JSON.parse(encodeCollateralFile([vcek, tcbInfo]));
    json.entries[0].bytes = Buffer.from('not the document').toString('base64');
    writeFileSync(path, JSON.stringify(json));
    const store = new FileCollateralStore(path);
    expect((await store.list()).map((e) => e.key)).toEqual([vcek.key]);
    expect(store.unreadable).toEqual([{ key: tcbInfo.key, reason: 'its bytes do not match its SHA-256 (the file is damaged)' }]);
  });

  it('file store: a file that is not a cache is refused with a clear error', async () => {
    const path = join(dir, 'not-a-cache.json');
    writeFileSync(path, JSON.stringify({ format: 'something-else', version: 1, entries: [] }));
    const err = await new FileCollateralStore(path).list().catch((e) => e);
    expect(err).toBeInstanceOf(EvidenceFormatError);
    expect(err.message).toMatch(/^The collateral cache .*not-a-cache.json is not a tessera-collateral v1 file \(at format: /);
  });

  it('codec refuses keys it does not make and kinds that do not match the key', () => {
    const json = JSON.parse(encodeCollateralFile([vcek, tcbInfo]));
    json.entries[0].key = 'intel-tcb-info/tdx/B0C06F000000';
    json.entries[1].kind = 'snp-crl';
    const decoded = decodeCollateralFile(JSON.stringify(json));
    expect(decoded.map((d) => d.ok)).toEqual([false, false]);
    expect(decoded[0]).toMatchObject({ ok: false, reason: expect.stringMatching(/not in canonical form/) });
    expect(decoded[1]).toMatchObject({ ok: false, reason: 'its kind snp-crl does not match its key' });
  });

  it('database store, on the service database with its migrations, survives a reopen', async () => {
    const dataDir = join(dir, 'db');
    const store = openSqliteStore(dataDir);
    try {
      await exercise(store.collateral);
    } finally {
      await store.close();
    }
    const again = openSqliteStore(dataDir);
    try {
      expect((await again.collateral.list()).map((e) => e.key)).toEqual([tcbInfo.key]);
    } finally {
      await again.close();
    }
  });
});
