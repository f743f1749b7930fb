// The README's Azure demo as separate processes: `tessera serve --dev`, the emulated Azure
// host (scripts/swtpm-azure-demo.sh: swtpm as the vTPM, the paravisor, the IMDS) and
// `tessera-agent --provider azure-vtpm`, which drives the swtpm with tpm2-tools. The dev
// server trusts the simulator roots the HCL report's SNP report / TD quote are signed with,
// and its seeded default policy accepts Azure evidence with a verified TPM quote and secure
// boot; the seeded `demo` secret goes to simulated guests only.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTeeKey, TesseraClient } from '../../guest-agent/client.ts';
import { DEMO_SECRET_VALUE } from '../../server/secrets/dev-seed.ts';
import { expectedReportData } from '../../verifier/binding.ts';
import { buildAzSnpVtpmEvidence } from '../../verifier/testing/azure-evidence-builder.ts';
import { loadOrCreateSimulatorChain } from '../../verifier/testing/simulator-files.ts';
import type { SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { AGENT, call, removeDir, ROOT, run, serve, TESSERA, tempDir, type Served } from './processes.ts';

const simDir = tempDir('tessera-e2e-az-sim-');
const dataDir = tempDir('tessera-e2e-az-data-');
const outDir = tempDir('tessera-e2e-az-out-');
const env = { TESSERA_SIMULATOR_DIR: simDir, TESSERA_ADMIN_TOKEN: 'e2e-azure-admin-token-0123456789abcdef', TESSERA_KEK: '', TESSERA_LOG_LEVEL: 'info' };
let server: Served | undefined;
let chain: SimulatorChain;

interface Host {
  proc: ChildProcess;
  tcti: string;
  imds: string;
  stop(): Promise<void>;
}

/** scripts/swtpm-azure-demo.sh, until it prints the TCTI and IMDS the agent needs. */
async function startHost(tee: 'snp' | 'tdx'): Promise<Host> {
  const proc = spawn(join(ROOT, 'scripts', 'swtpm-azure-demo.sh'), ['--tee', tee], { cwd: ROOT, env: { ...process.env, TESSERA_SIMULATOR_DIR: simDir }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const [tcti, imds] = await new Promise<[string, string]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the Azure host did not start:\n${err}\n${out}`)), 30_000);
    const poll = setInterval(() => {
      const t = /^TPM2TOOLS_TCTI=(.+)$/m.exec(out);
      const i = /^AZURE_IMDS=(.+)$/m.exec(out);
      if (t && i) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve([t[1]!, i[1]!]);
      }
    }, 20);
    void exited.then(() => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`the Azure host exited:\n${err}\n${out}`));
    });
  });
  return {
    proc,
    tcti,
    imds,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

beforeAll(async () => {
  // One chain for the server, the emulated host and nothing else (RSA-2048 roots: quick to make).
  chain = await loadOrCreateSimulatorChain(simDir, { rsaBits: 2048 });
  server = await serve(process.execPath, [TESSERA, 'serve', '--dev', '--data', dataDir, '--port', '0'], env);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  for (const d of [simDir, dataDir, outDir]) removeDir(d);
});

for (const tee of ['snp', 'tdx'] as const) {
  const azTee = tee === 'snp' ? 'az-snp-vtpm' : 'az-tdx-vtpm';
  describe(`${azTee}: tessera serve --dev and tessera-agent --provider azure-vtpm against swtpm`, () => {
    let host: Host | undefined;
    beforeAll(async () => {
      host = await startHost(tee);
    }, 60_000);
    afterAll(async () => {
      await host?.stop();
    });

    it('attests and fetches the demo secret', async () => {
      const agentEnv = { TESSERA_SIMULATOR_DIR: simDir, TPM2TOOLS_TCTI: host!.tcti };
      const attest = await run(AGENT, ['attest', '--server', server!.url, '--provider', 'azure-vtpm', '--azure-imds', host!.imds], agentEnv);
      expect(attest.code, attest.stderr).toBe(0);
      expect(attest.stdout).toContain(`tee:     ${azTee}`);
      expect(attest.stdout).toMatch(/status:\s+affirming/);
      expect(attest.stdout).toContain('policy:  default');

      const dir = join(outDir, tee);
      const got = await run(AGENT, ['secret', 'get', 'demo', '--server', server!.url, '--provider', 'azure-vtpm', '--azure-imds', host!.imds, '--out-dir', dir], agentEnv);
      expect(got.code, got.stderr).toBe(0);
      expect(readFileSync(join(dir, 'demo'), 'utf8')).toBe(DEMO_SECRET_VALUE);
    }, 60_000);

    it('without the instance metadata service the agent stops with exit 2 and says where it looked', async () => {
      const agentEnv = { TPM2TOOLS_TCTI: host!.tcti };
      const noImds = await run(AGENT, ['attest', '--server', server!.url, '--provider', 'azure-vtpm', '--azure-imds', 'http://127.0.0.1:9', '--retries', '0'], agentEnv);
      expect(noImds.code).toBe(2);
      expect(noImds.stderr).toContain('instance metadata service at http://127.0.0.1:9');
    }, 60_000);
  });
}

describe('the simulator alone: tessera-agent --provider simulator --tee az-snp-vtpm|az-tdx-vtpm', () => {
  for (const tee of ['az-snp-vtpm', 'az-tdx-vtpm'] as const) {
    it(`${tee}: attests and fetches the demo secret; a debug guest is refused by the default policy`, async () => {
      const agentEnv = { TESSERA_SIMULATOR_DIR: simDir };
      const dir = join(outDir, `sim-${tee}`);
      const got = await run(AGENT, ['secret', 'get', 'demo', '--server', server!.url, '--provider', 'simulator', '--tee', tee, '--out-dir', dir], agentEnv);
      expect(got.code, got.stderr).toBe(0);
      expect(got.stderr).toContain('using the SIMULATOR');
      expect(readFileSync(join(dir, 'demo'), 'utf8')).toBe(DEMO_SECRET_VALUE);

      const debug = await run(AGENT, ['attest', '--server', server!.url, '--provider', 'simulator', '--tee', tee, '--sim-debug'], agentEnv);
      expect(debug.code).toBe(1);
      expect(debug.stderr).toMatch(tee === 'az-snp-vtpm' ? /snp\.allowDebug/ : /tdx\.allowDebug/);
    }, 60_000);
  }
});

describe('POST /v1/attest binds Azure evidence through the TPM nonce', () => {
  async function attempt(bindTo: ReturnType<typeof generateTeeKey>, send: ReturnType<typeof generateTeeKey>) {
    const ch = await new TesseraClient({ server: server!.url, retries: 0 }).challenge('az-snp-vtpm');
    const reportData = await expectedReportData(Buffer.from(ch.nonce, 'base64url'), bindTo.publicJwk);
    const evidence = buildAzSnpVtpmEvidence(chain, { reportData });
    return call(server!.url, 'POST', '/v1/attest', { body: { challenge: ch.challenge, tee: 'az-snp-vtpm', evidence, teePublicKey: send.publicJwk } });
  }

  it('evidence for this challenge and key is affirmed', async () => {
    const key = generateTeeKey();
    const r = await attempt(key, key);
    expect(r.status, r.text).toBe(200);
    expect(r.body.status).toBe('affirming');
  });

  it('evidence made for another TEE key is refused by the binding and the TPM nonce check', async () => {
    const r = await attempt(generateTeeKey(), generateTeeKey());
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('attestation_denied');
    const failed = (r.body.failedChecks as { id: string }[]).map((c) => c.id);
    expect(failed).toEqual(expect.arrayContaining(['binding.report-data', 'tpm.quote.nonce', 'azure.runtime-data.user-data']));
  });
});
