// Adversarial review of the agent's client: plain-http URLs would let anyone on the path
// answer in the server's name (and a JWE to the TEE key can be made by anyone holding the
// public key, so the agent would write secrets of an attacker's choosing).

import { describe, expect, it } from 'vitest';
import { TesseraClient } from '../../guest-agent/client.ts';
import { runBin, TESSERA_AGENT_BIN } from '../support/cli.ts';

describe('plain http', () => {
  it('is refused for a server that is not on this host: anyone on the path could answer with secrets of their choosing', () => {
    expect(() => new TesseraClient({ server: 'http://tessera.internal:8080' })).toThrow(/https/);
    expect(() => new TesseraClient({ server: 'http://10.0.0.5:8080' })).toThrow(/--insecure-http/);
  });

  it('is allowed on the loopback interface, and elsewhere only when asked for by name', () => {
    for (const server of ['http://127.0.0.1:8080', 'http://127.1.2.3', 'http://localhost:8080', 'http://[::1]:8080', 'https://tessera.internal:8443']) {
      expect(() => new TesseraClient({ server }), server).not.toThrow();
    }
    expect(() => new TesseraClient({ server: 'http://tessera.internal:8080', allowInsecureHttp: true })).not.toThrow();
  });

  it('refuses a query or a fragment in the base URL (request paths are appended to it)', () => {
    expect(() => new TesseraClient({ server: 'https://tessera.internal/?x=1' })).toThrow(/without \?query or #fragment/);
    expect(() => new TesseraClient({ server: 'https://tessera.internal/#top' })).toThrow(/without \?query or #fragment/);
    expect(() => new TesseraClient({ server: 'https://tessera.internal/prefix/' })).not.toThrow();
  });

  it('refuses credentials in the URL (they would be printed in every error)', () => {
    expect(() => new TesseraClient({ server: 'https://user:hunter2@tessera.internal' })).toThrow(/credentials/);
    try {
      new TesseraClient({ server: 'https://user:hunter2@tessera.internal' });
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2');
    }
  });

  it('tessera-agent refuses it with exit 2 before asking the TEE, and warns when --insecure-http allows it', async () => {
    const args = ['secret', 'get', 'demo', '--server', 'http://tessera.invalid:8080', '--provider', 'configfs-tsm', '--configfs-root', '/nonexistent/tsm', '--out-dir', '/nonexistent/out', '--retries', '0'];
    const refused = await runBin(TESSERA_AGENT_BIN, args, { timeout: 60_000 });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('is plain http to another host');
    expect(refused.stderr).not.toMatch(/configfs/);
    const allowed = await runBin(TESSERA_AGENT_BIN, [...args, '--insecure-http'], { timeout: 60_000 });
    expect(allowed.stderr).toContain('WARNING: http://tessera.invalid:8080 is plain http');
    expect(allowed.code).toBe(2); // then the missing configfs-tsm stops it
  });
});
