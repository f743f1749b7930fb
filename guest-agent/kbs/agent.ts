// `tessera-agent ... --protocol kbs`: the agent's commands over the Confidential Containers
// KBS protocol instead of tessera's own, against tessera's /kbs/v0 endpoints or a Trustee
// KBS. The evidence comes from the same providers (configfs-tsm, simulator), bound to the
// KBS REPORT_DATA and sent in the CoCo attestation-agent's JSON shapes; the tee key is EC
// P-256, the agent's default. A 401 on a resource runs one new handshake, as the agent does.

import { readFile } from 'node:fs/promises';
import { decodeJwt } from 'jose';
import type { EvidenceProvider } from '../providers/provider.ts';
import { KbsClient, KbsProblem, resourcePath } from './client.ts';

export interface KbsAgentOptions {
  url: string;
  timeoutMs: number;
  allowInsecureHttp?: boolean;
  /** A file holding the init-data TOML the host measured into HOST_DATA / MRCONFIGID. */
  initDataFile?: string;
}

async function kbsClient(options: KbsAgentOptions): Promise<KbsClient> {
  const initData = options.initDataFile !== undefined ? await readFile(options.initDataFile, 'utf8') : undefined;
  return new KbsClient({
    url: options.url,
    timeoutMs: options.timeoutMs,
    ...(options.allowInsecureHttp ? { allowInsecureHttp: true } : {}),
    ...(initData !== undefined ? { initData } : {}),
  });
}

export interface KbsAttestOutcome {
  token: string;
  tee: string;
  /** From the token's exp (seconds), as the agent reads it; undefined when it has none. */
  expiresAt?: string;
}

export async function kbsAttest(provider: EvidenceProvider, options: KbsAgentOptions): Promise<KbsAttestOutcome> {
  const client = await kbsClient(options);
  const token = await client.handshake(provider);
  let exp: unknown;
  try {
    exp = decodeJwt(token).exp;
  } catch {
    exp = undefined; // a token the agent cannot read is the KBS's business; printed without expiry
  }
  return {
    token,
    tee: (await provider.tee()) === 'tdx' ? 'tdx' : 'snp',
    ...(typeof exp === 'number' ? { expiresAt: new Date(exp * 1000).toISOString() } : {}),
  };
}

/** The file name a resource is written under in --out-dir: `<repository>.<type>.<tag>`. */
export function resourceFileName(path: string): string {
  return decodeURIComponent(resourcePath(path)).split('/').join('.');
}

/** Attest once, then fetch each resource (each with one re-attestation on 401). */
export async function kbsFetchResources(provider: EvidenceProvider, paths: string[], options: KbsAgentOptions): Promise<Map<string, Buffer>> {
  for (const p of paths) resourcePath(p); // every name checked before the TEE is asked for anything
  const client = await kbsClient(options);
  const values = new Map<string, Buffer>();
  try {
    for (const path of paths) {
      const { value } = await client.fetchResource(provider, path);
      values.set(path, value);
    }
  } catch (err) {
    for (const v of values.values()) v.fill(0);
    throw err;
  }
  return values;
}

export { KbsProblem };
