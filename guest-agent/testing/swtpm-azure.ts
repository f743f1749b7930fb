// An Azure confidential VM's host side, on a real software TPM (Debian swtpm), so the
// azure-vtpm provider runs against a TPM exactly as on Azure, with the simulator standing in
// for the hardware:
//   - the vTPM: swtpm, with an RSA-2048 restricted signing AK (RSASSA-SHA256, as Azure's) at
//     persistent handle 0x81000003, and the HCL report in NV index 0x01400001, whose runtime
//     data's HCLAkPub is that AK's public key;
//   - the paravisor: it watches NV index 0x01400002 and, when the guest writes report data
//     there, writes a fresh HCL report (the report data as user-data, SHA-256 of the runtime
//     data in a simulator SNP report's or TD report's REPORT_DATA);
//   - the instance metadata service: THIM (the simulator's VCEK, ASK and ARK) and the TD
//     quote endpoint (a simulator TD quote for the TD report posted), on 127.0.0.1.
// Used by test/agent/azure-vtpm.test.ts and scripts/swtpm-azure-demo.sh. Development only.

import { spawn, type ChildProcess } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { azureRuntimeData, buildAzureSnpHcl, buildAzureTdxHcl, type RsaPublicJwk } from '../../verifier/testing/azure-evidence-builder.ts';
import { certificatesPem, type SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import type { SnpReportOptions } from '../../verifier/testing/snp-report-builder.ts';
import { buildTdxQuote, type TdxQuoteOptions } from '../../verifier/testing/tdx-quote-builder.ts';
import { AK_HANDLE, HCL_REPORT_NV_INDEX, REPORT_DATA_NV_INDEX, TD_QUOTE_PATH, THIM_PATH } from '../providers/azure-vtpm.ts';
import { ProviderError } from '../providers/provider.ts';
import { handleArg, tpm2Tools, type Tpm2Tools } from '../providers/tpm2-tools.ts';

/** libtpms' MAX_NV_INDEX_SIZE: swtpm NV indices hold at most 2048 bytes (Azure's HCL index is 2600). */
export const SWTPM_HCL_NV_SIZE = 2048;

export interface Swtpm {
  /** The TCTI for tpm2-tools: `swtpm:path=<dir>/tpm.sock`. */
  tcti: string;
  dir: string;
  stop(): Promise<void>;
}

/**
 * Start `swtpm socket --tpm2` on a Unix socket in `dir` (no port to race for), TPM2_Startup
 * done by swtpm itself (`startup-clear`). Resolves once the socket answers.
 */
export async function startSwtpm(dir?: string): Promise<Swtpm> {
  const home = dir ?? (await mkdtemp(join(tmpdir(), 'tessera-swtpm-')));
  const sock = join(home, 'tpm.sock');
  // tpm2-tss' swtpm TCTI finds the control channel at <path>.ctrl.
  const proc: ChildProcess = spawn(
    'swtpm',
    ['socket', '--tpm2', '--tpmstate', `dir=${home}`, '--server', `type=unixio,path=${sock}`, '--ctrl', `type=unixio,path=${sock}.ctrl`, '--flags', 'not-need-init,startup-clear'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    proc.once('error', (err) => reject(new Error(`swtpm did not start: ${err.message} (Debian: apt install swtpm)`)));
    const started = Date.now();
    const poll = setInterval(() => {
      if (existsSync(sock) && existsSync(`${sock}.ctrl`)) {
        clearInterval(poll);
        resolve();
      } else if (proc.exitCode !== null || Date.now() - started > 10_000) {
        clearInterval(poll);
        reject(new Error(`swtpm did not start: ${stderr.trim() || `exit ${proc.exitCode}`}`));
      }
    }, 5);
  });
  return {
    tcti: `swtpm:path=${sock}`,
    dir: home,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
      if (dir === undefined) await rm(home, { recursive: true, force: true });
    },
  };
}

/**
 * Make the attestation key as Azure's vTPM has it: an RSA-2048 restricted signing key,
 * RSASSA with SHA-256, under an (ECC, fast to make) owner primary, persisted at 0x81000003.
 * Transient objects are flushed after each step: swtpm has no resource manager.
 */
export async function provisionAzureAk(tools: Tpm2Tools): Promise<RsaPublicJwk> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-ak-'));
  try {
    const f = (n: string) => join(dir, n);
    const flush = () => tools.run('tpm2_flushcontext', ['-t']);
    await tools.run('tpm2_createprimary', ['-Q', '-C', 'o', '-g', 'sha256', '-G', 'ecc256', '-c', f('primary.ctx')]);
    await flush();
    await tools.run('tpm2_create', ['-Q', '-C', f('primary.ctx'), '-g', 'sha256', '-G', 'rsa2048:rsassa-sha256:null', '-a', 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign|noda', '-u', f('ak.pub'), '-r', f('ak.priv')]);
    await flush();
    await tools.run('tpm2_load', ['-Q', '-C', f('primary.ctx'), '-u', f('ak.pub'), '-r', f('ak.priv'), '-c', f('ak.ctx')]);
    await tools.run('tpm2_evictcontrol', ['-Q', '-C', 'o', '-c', f('ak.ctx'), handleArg(AK_HANDLE)]);
    await flush();
    return await readAkPublic(tools, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The AK's public key, read back from the TPM, as the JWK the HCL runtime data holds. */
export async function readAkPublic(tools: Tpm2Tools, dir: string): Promise<RsaPublicJwk> {
  const pem = join(dir, 'ak.pem');
  await tools.run('tpm2_readpublic', ['-c', handleArg(AK_HANDLE), '-f', 'pem', '-o', pem]);
  const jwk = createPublicKey(await readFile(pem)).export({ format: 'jwk' });
  return { kty: 'RSA', n: String(jwk.n), e: String(jwk.e) };
}

/** Define (once) and write an NV index, owner read/write, as Azure's. */
export async function writeNvIndex(tools: Tpm2Tools, index: number, data: Uint8Array, size = data.length): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-nv-'));
  try {
    const file = join(dir, 'data.bin');
    await writeFile(file, Buffer.concat([Buffer.from(data), Buffer.alloc(Math.max(0, size - data.length))]));
    try {
      await tools.run('tpm2_nvreadpublic', [handleArg(index)]);
    } catch {
      await tools.run('tpm2_nvdefine', [handleArg(index), '-C', 'o', '-s', String(size), '-a', 'ownerread|ownerwrite']);
    }
    await tools.run('tpm2_nvwrite', [handleArg(index), '-C', 'o', '-i', file]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface AzureHostOptions {
  chain: SimulatorChain;
  tee: 'snp' | 'tdx';
  /** The swtpm's TCTI. */
  tcti: string;
  /** What the simulated guest looks like. */
  snp?: Omit<SnpReportOptions, 'reportData'>;
  tdx?: Omit<TdxQuoteOptions, 'reportData'>;
  secureBoot?: boolean;
  /** The paravisor's look at NV 0x01400002. Default every 50 ms. */
  pollMs?: number;
  /** IMDS port on 127.0.0.1; default any free one. */
  imdsPort?: number;
}

export interface AzureHost {
  /** Base URL of the emulated instance metadata service (the agent's --azure-imds). */
  imds: string;
  ak: RsaPublicJwk;
  /** HCL reports written so far (one at start, one per report data seen). */
  refreshes(): number;
  stop(): Promise<void>;
}

/** Provision the swtpm as an Azure vTPM and run the paravisor and the IMDS beside it. */
export async function startAzureHost(o: AzureHostOptions): Promise<AzureHost> {
  const tools = tpm2Tools({ tcti: o.tcti });
  const ak = await provisionAzureAk(tools);
  let refreshes = 0;
  const writeHcl = async (userData: Uint8Array | undefined) => {
    const runtime = azureRuntimeData({ akPublicJwk: ak, ...(userData ? { userData } : {}), ...(o.secureBoot !== undefined ? { secureBoot: o.secureBoot } : {}) });
    const hcl = o.tee === 'snp' ? buildAzureSnpHcl(o.chain, runtime, o.snp, SWTPM_HCL_NV_SIZE).hclReport : buildAzureTdxHcl(o.chain, runtime, o.tdx, SWTPM_HCL_NV_SIZE).hclReport;
    if (hcl.length > SWTPM_HCL_NV_SIZE) throw new Error(`the HCL report is ${hcl.length} bytes; swtpm NV indices hold ${SWTPM_HCL_NV_SIZE}`);
    await writeNvIndex(tools, HCL_REPORT_NV_INDEX, hcl, SWTPM_HCL_NV_SIZE);
    refreshes++;
  };
  // As at boot: an HCL report whose user-data is zero.
  await writeHcl(undefined);

  // The paravisor: a new HCL report whenever the report data changes.
  let stopped = false;
  let failure: unknown;
  let last = '';
  const scratch = await mkdtemp(join(tmpdir(), 'tessera-paravisor-'));
  const watch = (async () => {
    while (!stopped) {
      try {
        const out = join(scratch, 'report-data.bin');
        await tools.run('tpm2_nvread', [handleArg(REPORT_DATA_NV_INDEX), '-C', 'o', '-o', out]);
        const data = await readFile(out);
        if (data.toString('hex') !== last) {
          last = data.toString('hex');
          await writeHcl(data.subarray(0, 64));
        }
      } catch (err) {
        // A ProviderError: the index is not defined until the guest's first request.
        if (!(err instanceof ProviderError)) {
          failure = err;
          return;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, o.pollMs ?? 50));
    }
  })();

  const server: Server = createServer((req, res) => {
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    // IMDS refuses requests without the Metadata header (it keeps out forwarded requests).
    if (req.headers['metadata'] !== 'true') return answer(400, { error: 'Required metadata header not specified' });
    if (req.method === 'GET' && req.url === THIM_PATH && o.tee === 'snp') {
      const a = o.chain.amd;
      return answer(200, { vcekCert: certificatesPem(a.vcek), certificateChain: certificatesPem(a.ask, a.ark) });
    }
    if (req.method === 'POST' && req.url === TD_QUOTE_PATH && o.tee === 'tdx') {
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => (body += d));
      req.on('end', () => {
        try {
          const report = Buffer.from((JSON.parse(body) as { report: string }).report, 'base64url');
          if (report.length !== 1024) return answer(400, { error: `a TD report is 1024 bytes, got ${report.length}` });
          const { quote } = buildTdxQuote(o.chain, { ...o.tdx, reportData: report.subarray(128, 192) });
          answer(200, { quote: Buffer.from(quote).toString('base64url') });
        } catch (err) {
          answer(400, { error: (err as Error).message });
        }
      });
      return;
    }
    answer(404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(o.imdsPort ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    imds: `http://127.0.0.1:${port}`,
    ak,
    refreshes: () => refreshes,
    async stop() {
      stopped = true;
      await watch;
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(scratch, { recursive: true, force: true });
      if (failure) throw failure;
    },
  };
}
