// init-data (trustee kbs/docs/initdata.md; guest-components initdata spec): a TOML document
// {version, algorithm, [data]} the host hands the guest at launch. Its digest, by the
// algorithm it names, over the TOML text exactly as sent, is what the hardware report
// carries: SEV-SNP HOST_DATA (32 bytes) and TDX MRCONFIGID (48 bytes), the digest
// zero-padded or truncated to that length (trustee deps/verifier/src/lib.rs
// regularize_data; attestation-service/src/lib.rs parse_init_data). Its `data` table
// reaches the policy as claims.initData.data, with cdh.toml and aa.toml parsed from TOML
// as trustee does.

import { createHash } from 'node:crypto';
import { parse as parseToml } from 'smol-toml';
import type { Check, InitDataClaims, VerificationResult } from '../../verifier/result.ts';
import { attestFailed } from './errors.ts';

export const INIT_DATA_CHECK_ID = 'kbs.init-data';
const ALGORITHMS = ['sha256', 'sha384', 'sha512'] as const;

const bad = (why: string) => attestFailed('kbs_init_data_invalid', `init-data: ${why}`);

export interface InitData {
  claims: InitDataClaims;
  digest: Buffer;
}

/** Read the Attestation's `init-data` ({format: "toml", body}); undefined when absent or null. */
export function readInitData(value: unknown): InitData | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw bad('expected {format, body}');
  const { format, body } = value as Record<string, unknown>;
  // trustee coco/builtin.rs: "Unsupported initdata format"
  if (format !== 'toml') throw bad(`format ${JSON.stringify(format)} is not supported (only "toml")`);
  if (typeof body !== 'string') throw bad('body must be the TOML document as a string');
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(body) as Record<string, unknown>;
  } catch (err) {
    throw bad(`the body is not TOML: ${(err as Error).message.split('\n')[0]}`);
  }
  const { version, algorithm, data } = doc;
  if (typeof version !== 'string') throw bad('version must be a string');
  const alg = typeof algorithm === 'string' ? algorithm.toLowerCase() : undefined;
  if (!ALGORITHMS.includes(alg as (typeof ALGORITHMS)[number])) throw bad(`algorithm must be one of ${ALGORITHMS.join(', ')}`);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw bad('data must be a table');
  const claimsData: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) {
    if (typeof v !== 'string') throw bad(`data.${k} must be a string`);
    claimsData[k] = v;
  }
  for (const k of ['cdh.toml', 'aa.toml']) {
    const text = claimsData[k];
    if (typeof text !== 'string') continue;
    try {
      claimsData[k] = parseToml(text);
    } catch {
      /* trustee keeps a value that does not parse as it is */
    }
  }
  const digest = createHash(alg!).update(body, 'utf8').digest();
  return { digest, claims: { version, algorithm: alg!, digest: digest.toString('hex'), data: claimsData } };
}

/** `digest` zero-padded or truncated to `length` bytes (trustee regularize_data). */
function regularize(digest: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  digest.copy(out, 0, 0, Math.min(length, digest.length));
  return out;
}

/** The check that HOST_DATA (SNP) or MRCONFIGID (TDX) carries the init-data digest. */
export function initDataCheck(result: VerificationResult, init: InitData): Check {
  const claims = result.claims;
  const snpLike = result.tee === 'sev-snp' || result.tee === 'az-snp-vtpm';
  const field = snpLike ? 'HOST_DATA' : 'MRCONFIGID';
  const expected = regularize(init.digest, snpLike ? 32 : 48).toString('hex');
  const found = snpLike ? claims?.snp?.hostData : claims?.tdx?.mrConfigId;
  const ok = typeof found === 'string' && found.toLowerCase() === expected;
  return {
    id: INIT_DATA_CHECK_ID,
    ok,
    detail: ok ? `${field} carries the ${init.claims.algorithm} digest of the init-data` : `${field} is not the ${init.claims.algorithm} digest of the init-data sent: the guest was not launched with it`,
    expected,
    found: found ?? null,
  };
}
