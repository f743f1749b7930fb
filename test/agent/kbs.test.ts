// `tessera-agent ... --protocol kbs` as a separate process against a real `tessera serve
// --dev` (its /kbs/v0 endpoints), with the simulator provider: attest, fetch resources,
// init-data bound to HOST_DATA, and the exit codes (0 ok, 1 refused, 2 usage).

import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateSimulatorChain } from '../../verifier/testing/simulator-files.ts';
import { AGENT, call, removeDir, run, serve, TESSERA, tempDir, type Served } from '../e2e/processes.ts';

const simDir = tempDir('tessera-agent-kbs-sim-');
const dataDir = tempDir('tessera-agent-kbs-data-');
const outDir = tempDir('tessera-agent-kbs-out-');
const admin = `agent-kbs-admin-${randomBytes(24).toString('hex')}`;
const value = `agent-kbs-${randomBytes(8).toString('hex')}`;
let server: Served | undefined;

const agent = (...args: string[]) => run(AGENT, [...args, '--server', server!.url, '--provider', 'simulator', '--protocol', 'kbs'], { TESSERA_SIMULATOR_DIR: simDir });

beforeAll(async () => {
  await loadOrCreateSimulatorChain(simDir, { rsaBits: 2048 });
  server = await serve(process.execPath, [TESSERA, 'serve', '--dev', '--data', dataDir, '--port', '0'], { TESSERA_SIMULATOR_DIR: simDir, TESSERA_ADMIN_TOKEN: admin, TESSERA_KEK: '' });
  for (const [name, releasePolicy] of [['agent.key.app', undefined], ['agent.key.tdx-only', 'claims.tee == "tdx"']] as const) {
    const r = await call(server.url, 'PUT', `/v1/secrets/${name}`, { body: { value, ...(releasePolicy ? { releasePolicy } : {}) }, token: admin });
    expect(r.status, r.text).toBe(201);
  }
}, 120_000);

afterAll(async () => {
  await server?.stop();
  for (const d of [simDir, dataDir, outDir]) removeDir(d);
});

describe('tessera-agent --protocol kbs', () => {
  it('attest (SEV-SNP): prints the protocol, the TEE and the expiry; --out saves the token', async () => {
    const out = join(outDir, 'token.jwt');
    const r = await agent('attest', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^protocol: kbs\ntee:\s+snp\nexpires:\s+\d{4}-\d\d-\d\dT/);
    expect(typeof decodeJwt(readFileSync(out, 'utf8').trim()).exp).toBe('number');
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });

  it('attest (TDX)', async () => {
    const r = await agent('attest', '--tee', 'tdx');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('tdx');
  });

  it('secret get <repository>/<type>/<tag>: written as <repository>.<type>.<tag>, mode 0600, never printed', async () => {
    const r = await agent('secret', 'get', 'agent/key/app', '--out-dir', outDir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`resource agent/key/app: ${value.length} bytes written to`);
    expect(readFileSync(join(outDir, 'agent.key.app'), 'utf8')).toBe(value);
    expect(statSync(join(outDir, 'agent.key.app')).mode & 0o777).toBe(0o600);
    expect(r.stdout + r.stderr).not.toContain(value);
    const one = await agent('secret', 'get', 'kbs:///agent/key/app', '--out', join(outDir, 'one'));
    expect(one.code, one.stderr).toBe(0);
    expect(readFileSync(join(outDir, 'one'), 'utf8')).toBe(value);
  });

  it('a resource the release policy refuses: exit 1 with the KBS refusal, nothing written', async () => {
    const r = await agent('secret', 'get', 'agent/key/tdx-only', '--out', join(outDir, 'refused'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the KBS refused the request');
    expect(r.stderr).toContain('HTTP 401');
    expect(() => statSync(join(outDir, 'refused'))).toThrow();
  });

  it('--init-data: its SHA-256 must be HOST_DATA; a guest launched with other HOST_DATA is refused', async () => {
    const toml = 'version = "0.1.0"\nalgorithm = "sha256"\n\n[data]\n"aa.toml" = \'\'\'\n[token_configs]\n\'\'\'\n';
    const file = join(outDir, 'initdata.toml');
    writeFileSync(file, toml);
    const hostData = createHash('sha256').update(toml).digest('hex');
    const ok = await agent('attest', '--init-data', file, '--sim-host-data', hostData);
    expect(ok.code, ok.stderr).toBe(0);
    const bad = await agent('attest', '--init-data', file, '--sim-host-data', 'ab'.repeat(32));
    expect(bad.code, bad.stdout).toBe(1);
    expect(bad.stderr).toContain('the KBS refused the request');
  });

  it('usage errors: exit 2, before the TEE is asked for anything', async () => {
    const path = await agent('secret', 'get', 'only/two', '--out', join(outDir, 'x'));
    expect(path.code).toBe(2);
    expect(path.stderr).toContain('<repository>/<type>/<tag>');
    const initData = await run(AGENT, ['attest', '--server', server!.url, '--provider', 'simulator', '--init-data', 'x.toml'], { TESSERA_SIMULATOR_DIR: simDir });
    expect(initData.code).toBe(2);
    expect(initData.stderr).toContain('--protocol kbs');
    const insecure = await run(AGENT, ['attest', '--server', 'http://kbs.example:8080', '--provider', 'simulator', '--protocol', 'kbs'], { TESSERA_SIMULATOR_DIR: simDir });
    expect(insecure.code).toBe(2);
    expect(insecure.stderr).toContain('plain http');
  });
});
