// Adversarial review of the agent's client: the agent prints what the server says on the
// operator's terminal, so a hostile server must not be able to send it control sequences
// (clear the screen, rewrite earlier lines, set the window title, hide text).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateSimulatorChain } from '../../verifier/testing/simulator-files.ts';
import { runBin, TESSERA_AGENT_BIN } from '../support/cli.ts';
import { ServerProblem, TesseraClient } from '../../guest-agent/client.ts';
import { problem, startFakeServer, type FakeServer, rejection } from './fake-server.ts';

let server: FakeServer;
let dir: string;
const sleep = (): Promise<void> => Promise.resolve();

beforeAll(async () => {
  server = await startFakeServer();
  dir = await mkdtemp(join(tmpdir(), 'agent-review-'));
  await loadOrCreateSimulatorChain(join(dir, 'sim'), { rsaBits: 2048 });
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  server.before.length = 0;
});

const client = (): TesseraClient => new TesseraClient({ server: server.url, sleep, retries: 0 });

describe('server text on the terminal', () => {
  it('strips control characters (ANSI escapes) from what the server says', async () => {
    server.before.push((_req, _body, res) => {
      problem(res, 403, 'attestation_denied\u001b[8m', 'Denied.\u001b]0;pwned\u0007\u001b[2J\rOK', {
        checks: [{ id: 'x\u001b[31m', ok: false, detail: 'bad\u0008\u0008', expected: 'a\u001b', found: 'b' }],
      });
      return true;
    });
    const err = (await rejection(client().challenge('sev-snp'))) as ServerProblem;
    expect(err).toBeInstanceOf(ServerProblem);
    // eslint-disable-next-line no-control-regex
    expect(err.message).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(err.message).toContain('Denied.');
  });

  it('strips them from a non-JSON error body too', async () => {
    server.before.push((_req, _body, res) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('gateway \u001b[2J down');
      return true;
    });
    const err = (await rejection(client().challenge('sev-snp'))) as ServerProblem;
    expect(err.message).toContain('gateway');
    expect(err.message).not.toContain('\u001b');
  });

  it('tessera-agent attest prints the status and expiry the server sent without its control characters', async () => {
    server.before.push((req, _body, res) => {
      if (req.url !== '/v1/attest') return false;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: 'a.b.c', status: 'affirming\u001b[2J\u001b]0;x\u0007', expiresAt: 'soon\u001b[1A' }));
      return true;
    });
    const run = await runBin(TESSERA_AGENT_BIN, ['attest', '--server', server.url, '--provider', 'simulator'], { env: { ...process.env, TESSERA_SIMULATOR_DIR: join(dir, 'sim') }, timeout: 60_000 });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('status:  affirming');
    expect(run.stdout).not.toContain('\u001b');
    expect(run.stdout).not.toContain('\u0007');
  });
});
