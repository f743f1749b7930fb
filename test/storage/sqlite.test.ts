// The storage contract (contract.ts) on the SQLite engine: each test gets its own data
// directory; the second store is a second connection to the same file, as another process
// (the CLI, a replica on the same host) opens it.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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

// SQLite runs on the event loop, so its fleet query groups a window a slice of 1000 rows at a
// time and merges the slices: the answer must be the one grouping of the whole window,
// whatever falls on a slice's edge (many rows of one instant included).
describe('sqlite fleet slices', () => {
  it('merges slices into the groups of the whole window, rows of one instant across an edge included', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-store-'));
    const store = openSqliteStore(dir);
    try {
      const base = 1_700_000_000_000;
      const chips = ['a1', 'b2', 'c3'].map((c) => c.repeat(64));
      const rows = 2600;
      const writes: Promise<void>[] = [];
      for (let i = 0; i < rows; i++) {
        const id = randomBytes(16).toString('hex');
        // 1200 rows share one instant: a slice edge falls among them.
        const createdAt = i < 1200 ? base : base + i;
        const result = JSON.stringify({ verified: true, claims: { measurement: String(i % 2), platform: { product: 'Milan', chipId: chips[i % 3] } } });
        writes.push(
          store.attestations.record({
            challenge: { nonce: randomBytes(16).toString('base64url'), expiresAt: Date.now() + 60_000 },
            attestation: { id, createdAt, tee: 'sev-snp', status: i % 5 === 0 ? 'contraindicated' : 'affirming', policyName: 'default', policyVersion: 1, policyHash: 'ab'.repeat(32), claimsDigest: null, tokenJti: null, clientAddress: null, result },
            audit: [],
          }),
        );
      }
      await Promise.all(writes);
      const groups = await store.attestations.fleet(base, base + rows, 100);
      expect(groups).toHaveLength(6);
      expect(groups.reduce((n, g) => n + g.accepted + g.denied, 0)).toBe(rows);
      expect(groups.reduce((n, g) => n + g.denied, 0)).toBe(rows / 5);
      for (const g of groups) {
        expect(g.firstSeen).toBe(base);
        expect(g.lastSeen).toBeGreaterThan(base + 2590);
      }
      // Every (chip, measurement) pair: i % 3 and i % 2 run through all six.
      expect(new Set(groups.map((g) => `${(g.platform as { chipId: string }).chipId.slice(0, 2)}/${String(g.measurement)}`)).size).toBe(6);
      expect(await store.attestations.fleet(base, base + rows, 2)).toHaveLength(2);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
