// Stopping with an attestation still being decided: its client's connection is closed at the
// grace period, but the decision itself completes and is recorded before the database closes.

import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DB_FILE } from '../../server/storage/sqlite/connection.ts';
import { removeDir, snpAttestBody, startChainServer } from './helpers.ts';

describe('shutdown', () => {
  it('lets an attestation in flight reach its durable verdict before closing the database', async () => {
    const { chain, srv } = await startChainServer();
    try {
      const ctx = srv.service.ctx;
      const pool = ctx.verifier;
      const verify = pool.verify.bind(pool);
      // Slow verification: the decision outlives the connection's grace period.
      ctx.verifier = { ...pool, verify: async (prepared, domain, here) => (await new Promise((r) => setTimeout(r, 400)), verify(prepared, domain, here)) };
      const { body } = await snpAttestBody(srv, chain);
      const pending = srv.call('POST', '/v1/attest', { body }).catch((err: unknown) => err);
      while (ctx.attestationsInFlight === 0) await new Promise((r) => setTimeout(r, 5));
      await srv.running.stop(300);
      expect(ctx.attestationsInFlight).toBe(0);
      expect(await pending).toBeInstanceOf(Error); // its connection was closed at the grace period
      const db = new Database(join(srv.dataDir, DB_FILE), { readonly: true });
      try {
        const row = db.prepare("SELECT outcome FROM audit_log WHERE action = 'attestation' ORDER BY seq DESC LIMIT 1").get() as { outcome: string } | undefined;
        expect(row?.outcome).toBe('affirming');
      } finally {
        db.close();
      }
    } finally {
      removeDir(srv.dataDir);
    }
  }, 120_000);
});
