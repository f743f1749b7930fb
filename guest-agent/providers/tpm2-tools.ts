// Driving a TPM with Debian's tpm2-tools (https://github.com/tpm2-software/tpm2-tools), one
// child process per command. Which TPM is talked to is the TCTI: `TPM2TOOLS_TCTI` (the
// tools' own variable, e.g. `swtpm:path=/run/swtpm.sock` or `device:/dev/tpmrm0`); unset,
// the tools pick the default (the in-kernel resource manager /dev/tpmrm0 on a VM).
// Without a resource manager (swtpm, /dev/tpm0) every transient object a tool loads stays
// in the TPM after it exits; the commands the agent runs (NV read/write, quote with a
// persistent key, PCR read) load none.

import { execFile } from 'node:child_process';
import { ProviderError } from './provider.ts';

export interface Tpm2Tools {
  /** Run `tool args...`; resolves with stdout, or throws ProviderError with the tool's own error line. */
  run(tool: string, args: string[]): Promise<Buffer>;
  /** The TCTI in use, for messages (undefined: the tools' default). */
  readonly tcti: string | undefined;
}

export interface Tpm2ToolsOptions {
  /** TCTI configuration; default `$TPM2TOOLS_TCTI`, else the tools' default device. */
  tcti?: string;
  /** Per-command limit. Default 30 s (an RSA key made by a slow TPM takes seconds). */
  timeoutMs?: number;
}

/** The last `ERROR:` line of a tool's stderr: the one that says what the TPM answered. */
function errorLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const errors = lines.filter((l) => l.startsWith('ERROR:') && !/Unable to run/.test(l));
  return (errors.at(-1) ?? lines.at(-1) ?? '').replace(/^ERROR:\s*/, '').slice(0, 300);
}

export function tpm2Tools(options: Tpm2ToolsOptions = {}): Tpm2Tools {
  const tcti = options.tcti ?? (process.env['TPM2TOOLS_TCTI'] || undefined);
  const env = { ...process.env, ...(tcti ? { TPM2TOOLS_TCTI: tcti } : {}) };
  const timeout = options.timeoutMs ?? 30_000;
  const where = tcti ?? 'the default TPM (/dev/tpmrm0)';
  return {
    tcti,
    run: (tool, args) =>
      new Promise((resolve, reject) => {
        execFile(tool, args, { env, timeout, encoding: 'buffer', maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
          if (!err) return resolve(stdout);
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') {
            return reject(new ProviderError('provider_unavailable', `${tool} is not installed: the azure-vtpm provider drives the vTPM with tpm2-tools (Debian/Ubuntu: apt install tpm2-tools).`));
          }
          if ((err as { killed?: boolean }).killed) return reject(new ProviderError('provider_unavailable', `${tool} did not finish within ${timeout} ms talking to ${where}.`));
          const why = errorLine(stderr.toString('utf8'));
          const missing = /Could not load tcti|Failed to instantiate TCTI|No standard TCTI could be loaded/.test(stderr.toString('utf8'));
          if (missing) return reject(new ProviderError('provider_unavailable', `${tool} found no TPM at ${where} (set TPM2TOOLS_TCTI or --tcti for another one).`));
          reject(new ProviderError('provider_output', `${tool} failed on ${where}: ${why || `exit ${String((err as { code?: unknown }).code)}`}.`));
        });
      }),
  };
}

/** `0x01400001`: TPM handles as tpm2-tools takes them. */
export const handleArg = (handle: number): string => `0x${handle.toString(16).padStart(8, '0')}`;
