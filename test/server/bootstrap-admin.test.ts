// Retiring the bootstrap admin credential (issue 16 item 3): TESSERA_ADMIN_TOKEN is replaced
// by a stored, expiring, revocable admin token, and `auth.allowEnvAdminToken: false` makes
// the service refuse to start while the variable is still set.

import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.ts';
import { createService, StartupError } from '../../server/service.ts';
import { removeDir, startServer, tempDir } from './helpers.ts';

const kek = randomBytes(32).toString('base64');
const envToken = `bootstrap-${randomBytes(24).toString('hex')}`;

describe('the bootstrap admin token can be retired', () => {
  it('refuses to start while TESSERA_ADMIN_TOKEN is set and auth.allowEnvAdminToken is false', async () => {
    const dataDir = tempDir();
    try {
      const config = loadConfig({ env: { TESSERA_ALLOW_ENV_ADMIN_TOKEN: 'false' }, overrides: { dataDir, port: 0, logLevel: 'silent', collateral: { offline: true } } });
      expect(config.auth.allowEnvAdminToken).toBe(false);
      const started = createService({ config, env: { TESSERA_KEK: kek, TESSERA_ADMIN_TOKEN: envToken }, logger: pino({ level: 'silent' }) });
      await expect(started).rejects.toThrow(StartupError);
      await expect(started).rejects.toThrow(/auth\.allowEnvAdminToken is false: remove the variable/);
    } finally {
      removeDir(dataDir);
    }
  });

  it('replaces it with a stored expiring admin token; then the variable is refused and the stored one revocable', async () => {
    const dataDir = tempDir();
    try {
      // 1. Bootstrap with the environment token; mint a stored admin token that expires.
      const first = await startServer({ dataDir, env: { TESSERA_KEK: kek, TESSERA_ADMIN_TOKEN: envToken } });
      const minted = await first.call('POST', '/v1/tokens', { token: envToken, body: { name: 'ops-admin', scope: 'admin', expiresInDays: 90 } });
      expect(minted.status).toBe(201);
      expect(minted.body.expiresAt).not.toBeNull();
      const stored: string = minted.body.token;
      await first.stop();

      // 2. Restart without the variable and with the switch off: the stored token works.
      const second = await startServer({ dataDir, env: { TESSERA_KEK: kek }, config: { auth: { allowEnvAdminToken: false } } });
      try {
        // No new initial-admin token was minted: a stored token exists.
        expect(second.adminToken).toBe('');
        expect((await second.call('GET', '/v1/tokens', { token: stored })).status).toBe(200);
        expect((await second.call('GET', '/v1/tokens', { token: envToken })).status).toBe(401);
        // 3. And, unlike the variable, it can be revoked, by itself if need be.
        expect((await second.call('DELETE', `/v1/tokens/${minted.body.id}`, { token: stored })).status).toBe(200);
        const after = await second.call('GET', '/v1/tokens', { token: stored });
        expect([after.status, after.body.code]).toEqual([401, 'token_revoked']);
      } finally {
        await second.stop();
      }
    } finally {
      removeDir(dataDir);
    }
  });
});
