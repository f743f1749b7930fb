// `tessera-agent` as a separate process: `evidence` with the simulator, `attest` and
// `secret get` against the fake server on 127.0.0.1, and the exit codes (0 ok, 1 denied,
// 2 usage / unreachable) with one-line errors and no stack traces.

import { verify, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseReport } from '../../verifier/snp/abi/report.ts';
import { parseIntelQuote } from '../../verifier/tdx/abi/quote.ts';
import { loadOrCreateSimulatorChain } from '../../verifier/testing/simulator-files.ts';
import type { SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { type Run, runBin, TESSERA_AGENT_BIN } from '../support/cli.ts';
import { problem, startFakeServer, type FakeServer } from './fake-server.ts';

let dir: string;
let chain: SimulatorChain;
let server: FakeServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agent-cli-'));
  // The CLI finds this chain through TESSERA_SIMULATOR_DIR; made here with 2048-bit RSA for speed.
  chain = await loadOrCreateSimulatorChain(join(dir, 'sim'), { rsaBits: 2048 });
  server = await startFakeServer();
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  server.before.length = 0;
});

const agent = (...args: string[]): Promise<Run> =>
  runBin(TESSERA_AGENT_BIN, args, { env: { ...process.env, TESSERA_SIMULATOR_DIR: join(dir, 'sim') }, timeout: 60_000 });

function noStack(run: Run): void {
  expect(run.stderr).not.toMatch(/\n\s+at /);
}

describe('tessera-agent evidence', () => {
  it('writes a simulated SEV-SNP report carrying the REPORT_DATA, signed by the shared chain', async () => {
    const out = join(dir, 'report.bin');
    const run = await agent('evidence', '--provider', 'simulator', '--report-data', 'c0ffee', '--out', out);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('SEV-SNP report from simulator: 1184 bytes');
    expect(run.stderr).toContain('SIMULATOR');
    const bytes = await readFile(out);
    const r = parseReport(bytes);
    expect(r.reportData.toString('hex')).toBe(`c0ffee${'00'.repeat(61)}`);
    const sig = Buffer.concat([Buffer.from(r.signatureR.subarray(0, 48)).reverse(), Buffer.from(r.signatureS.subarray(0, 48)).reverse()]);
    expect(verify('sha384', r.signed, { key: new X509Certificate(chain.amd.vcek).publicKey, dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
  });

  it('writes a simulated TDX quote as the JSON evidence object', async () => {
    const out = join(dir, 'quote.json');
    const run = await agent('evidence', '--provider', 'simulator', '--tee', 'tdx', '--report-data', 'ab'.repeat(64), '--out', out, '--format', 'json');
    expect(run.code).toBe(0);
    const json = JSON.parse(await readFile(out, 'utf8')) as { tee: string; evidence: { quote: string } };
    expect(json.tee).toBe('tdx');
    const q = parseIntelQuote(Buffer.from(json.evidence.quote, 'base64'));
    expect(q.body.kind === 'td10' && q.body.report.reportData.toString('hex')).toBe('ab'.repeat(64));
  });

  it('describes the simulated guest with --sim-* options, so policies can be tried', async () => {
    const out = join(dir, 'guest.bin');
    const measurement = 'ab'.repeat(48);
    const snp = await agent('evidence', '--provider', 'simulator', '--report-data', '01', '--out', out, '--sim-measurement', measurement, '--sim-debug', '--sim-guest-svn', '5');
    expect(snp.code).toBe(0);
    const r = parseReport(await readFile(out));
    expect(r.measurement.toString('hex')).toBe(measurement);
    expect(r.policy.debug).toBe(true);
    expect(r.guestSvn).toBe(5);
    const tdx = await agent('evidence', '--provider', 'simulator', '--tee', 'tdx', '--report-data', '01', '--out', out, '--sim-rtmr', `2=${'cd'.repeat(48)}`);
    expect(tdx.code).toBe(0);
    const q = parseIntelQuote(await readFile(out));
    expect(q.body.kind === 'td10' && q.body.report.rtmr.map((m) => m.toString('hex'))).toEqual(['00'.repeat(48), '00'.repeat(48), 'cd'.repeat(48), '00'.repeat(48)]);
    const notSimulator = await agent('evidence', '--report-data', '01', '--out', out, '--sim-debug');
    expect(notSimulator.code).toBe(2);
    expect(notSimulator.stderr).toContain('need --provider simulator');
  });

  it('exits 2 with one line for usage errors and for a missing TEE interface', async () => {
    const tooLong = await agent('evidence', '--provider', 'simulator', '--report-data', 'ab'.repeat(65), '--out', join(dir, 'x'));
    expect(tooLong.code).toBe(2);
    expect(tooLong.stderr).toContain('at most 64 bytes');
    noStack(tooLong);
    const missing = await agent('evidence', '--report-data', '00', '--out', join(dir, 'x'), '--configfs-root', join(dir, 'no-tsm'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('No TEE evidence interface found');
    noStack(missing);
    const teeWithHardware = await agent('evidence', '--provider', 'configfs-tsm', '--tee', 'tdx', '--report-data', '00', '--out', join(dir, 'x'));
    expect(teeWithHardware.code).toBe(2);
    expect(teeWithHardware.stderr).toContain('--tee chooses what the simulator simulates');
  });
});

describe('tessera-agent attest and secret get', () => {
  it('attests, prints status, policy and expiry, and writes the token with mode 0600', async () => {
    const out = join(dir, 'token');
    const run = await agent('attest', '--server', server.url, '--provider', 'simulator', '--out', out);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^status: {2}affirming\ntee: {5}sev-snp\npolicy: {2}dev v3\nexpires: \d{4}-/);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    expect((await readFile(out, 'utf8')).split('.')).toHaveLength(3);
  });

  it('fetches secrets in the same round trip into 0600 files, never printing the value', async () => {
    server.secrets.set('api-key', 'k-123');
    const outDir = await mkdtemp(join(dir, 'secrets-'));
    const run = await agent('secret', 'get', 'demo', 'api-key', '--server', server.url, '--provider', 'simulator', '--tee', 'tdx', '--out-dir', outDir);
    expect(run.code).toBe(0);
    expect(await readFile(join(outDir, 'demo'), 'utf8')).toBe('the demo secret');
    expect(await readFile(join(outDir, 'api-key'), 'utf8')).toBe('k-123');
    expect((await stat(join(outDir, 'demo'))).mode & 0o777).toBe(0o600);
    expect(run.stdout + run.stderr).not.toContain('the demo secret');
    expect(server.requests.filter((r) => r.path.startsWith('/v1/secrets'))).toHaveLength(0);
  });

  it('exits 1 when the server denies, with the failed checks', async () => {
    server.before.push((req, _body, res) => {
      if (req.url !== '/v1/attest') return false;
      problem(res, 403, 'attestation_denied', 'The evidence does not satisfy policy "prod" v2.', {
        checks: [{ id: 'policy.measurement', ok: false, detail: 'MEASUREMENT is not allowed.' }],
      });
      return true;
    });
    const run = await agent('secret', 'get', 'demo', '--server', server.url, '--provider', 'simulator', '--out', join(dir, 'never'));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('the server refused the request: The evidence does not satisfy policy "prod" v2. [HTTP 403, attestation_denied]');
    expect(run.stderr).toContain('- policy.measurement: MEASUREMENT is not allowed.');
    noStack(run);
    await expect(stat(join(dir, 'never'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('exits 2 when the server cannot be reached, and for contradictory output options', async () => {
    const unreachable = await agent('attest', '--server', 'http://127.0.0.1:1', '--provider', 'simulator', '--retries', '0');
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toContain('Cannot reach http://127.0.0.1:1');
    noStack(unreachable);
    const both = await agent('secret', 'get', 'demo', '--server', server.url, '--out', 'a', '--out-dir', 'b');
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('exactly one of --out FILE or --out-dir DIR');
  });
});
