// The storage contract (contract.ts) on the SQLite engine: each test gets its own data
// directory; the second store is a second connection to the same file, as another process
// (the CLI, a replica on the same host) opens it.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../server/storage/sqlite/index.ts';
import type { Store } from '../../server/storage/store.ts';
import { describeStoreContract } from './contract.ts';

describeStoreContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-store-'));
  const opened: Store[] = [];
  const open = () => {
    const s = openSqliteStore(dir);
    opened.push(s);
    return s;
  };
  return {
    store: open(),
    second: async () => open(),
    async dispose() {
      for (const s of opened) await s.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
