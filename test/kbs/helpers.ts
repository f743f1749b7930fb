// A KBS guest for the server tests: a cookie jar of one session, the three key kinds the
// attestation-agent can hold (guest-components kbs_protocol keypair.rs), and simulator
// evidence in the shapes the agent sends (sev crate serde for snp, {quote, cc_eventlog} for tdx).

import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import canonicalize from 'canonicalize';
import { buildAzureSnpHcl, buildAzureTdxHcl, buildTpmQuote, azureRuntimeData, createAzureAk } from '../../verifier/testing/azure-evidence-builder.ts';
import type { SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { buildSnpReport, type SnpReportOptions } from '../../verifier/testing/snp-report-builder.ts';
import { buildTdxQuote, type TdxQuoteOptions } from '../../verifier/testing/tdx-quote-builder.ts';
import type { TestServer } from '../server/helpers.ts';

export interface KbsResponse {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies, checked field by field by each test
  body: any;
  headers: Headers;
}

/** One guest: its session cookie is kept between calls, as reqwest's cookie store does. */
export class KbsGuest {
  cookie: string | undefined;
  /** `srv`: where requests go, unless a call names another replica (`url`). */
  constructor(readonly srv: Pick<TestServer, 'url'>) {}

  async call(method: string, path: string, options: { body?: unknown; raw?: string; headers?: Record<string, string>; noCookie?: boolean; url?: string } = {}): Promise<KbsResponse> {
    const headers: Record<string, string> = { ...options.headers };
    if (this.cookie && !options.noCookie) headers.cookie = this.cookie;
    let body: string | undefined = options.raw;
    if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch((options.url ?? this.srv.url) + path, { method, headers, ...(body !== undefined ? { body } : {}) });
    const set = res.headers.get('set-cookie');
    const m = set ? /kbs-session-id=([^;]*)/.exec(set) : null;
    if (m) this.cookie = `kbs-session-id=${m[1]}`;
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* keep text */
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  auth(tee: string, extra: unknown = { 'supported-hash-algorithms': ['sha256', 'sha384', 'sha512', 'sm3'] }, url?: string): Promise<KbsResponse> {
    return this.call('POST', '/kbs/v0/auth', { body: { version: '0.4.0', tee, 'extra-params': extra }, ...(url ? { url } : {}) });
  }
}

export type KeyKind = 'P-256' | 'P-521' | 'RSA';

/** A TEE key pair and its public key as the agent exports it (kbs-types TeePubKey: kty, alg, then crv/x/y or n/e). */
export function teeKeyPair(kind: KeyKind = 'P-256'): { privateKey: KeyObject; pubkey: Record<string, string> } {
  if (kind === 'RSA') {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = publicKey.export({ format: 'jwk' });
    return { privateKey, pubkey: { kty: 'RSA', alg: 'RSA-OAEP-256', n: jwk.n!, e: jwk.e! } };
  }
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: kind });
  const jwk = publicKey.export({ format: 'jwk' });
  return { privateKey, pubkey: { kty: 'EC', crv: kind, alg: 'ECDH-ES+A256KW', x: jwk.x!, y: jwk.y! } };
}

/** Trustee's error type URI for a kbs::Error variant. */
export const kbsType = (variant: string) => `https://github.com/confidential-containers/kbs/errors/${variant}`;

// ---- evidence in the agent's shapes ------------------------------------------------------

const arr = (b: Uint8Array) => [...b];

/**
 * The sev crate's AttestationReport serde of a 1184-byte report, read the way its Decoder
 * reads (virtee/sev src/firmware/guest/types/snp.rs): what the agent's SNP attester sends.
 */
export function sevReportJson(report: Uint8Array): Record<string, unknown> {
  const b = Buffer.from(report);
  const version = b.readUInt32LE(0);
  const family = b[0x188]!;
  const turin = version >= 3 ? family === 0x1a : b.subarray(0x1a8, 0x1e0).every((x) => x === 0);
  const tcb = (o: number) =>
    turin ? { fmc: b[o]!, bootloader: b[o + 1]!, tee: b[o + 2]!, snp: b[o + 3]!, microcode: b[o + 7]! } : { fmc: null, bootloader: b[o]!, tee: b[o + 1]!, snp: b[o + 6]!, microcode: b[o + 7]! };
  const ver = (o: number) => ({ major: b[o + 2]!, minor: b[o + 1]!, build: b[o]! });
  return {
    version,
    guest_svn: b.readUInt32LE(0x04),
    policy: Number(b.readBigUInt64LE(0x08)),
    family_id: arr(b.subarray(0x10, 0x20)),
    image_id: arr(b.subarray(0x20, 0x30)),
    vmpl: b.readUInt32LE(0x30),
    sig_algo: b.readUInt32LE(0x34),
    current_tcb: tcb(0x38),
    plat_info: Number(b.readBigUInt64LE(0x40)),
    key_info: b.readUInt32LE(0x48),
    report_data: arr(b.subarray(0x50, 0x90)),
    measurement: arr(b.subarray(0x90, 0xc0)),
    host_data: arr(b.subarray(0xc0, 0xe0)),
    id_key_digest: arr(b.subarray(0xe0, 0x110)),
    author_key_digest: arr(b.subarray(0x110, 0x140)),
    report_id: arr(b.subarray(0x140, 0x160)),
    report_id_ma: arr(b.subarray(0x160, 0x180)),
    reported_tcb: tcb(0x180),
    cpuid_fam_id: version >= 3 ? b[0x188]! : null,
    cpuid_mod_id: version >= 3 ? b[0x189]! : null,
    cpuid_step: version >= 3 ? b[0x18a]! : null,
    chip_id: arr(b.subarray(0x1a0, 0x1e0)),
    committed_tcb: tcb(0x1e0),
    current: ver(0x1e8),
    committed: ver(0x1ec),
    launch_tcb: tcb(0x1f0),
    launch_mit_vector: version >= 5 ? Number(b.readBigUInt64LE(0x1f8)) : null,
    current_mit_vector: version >= 5 ? Number(b.readBigUInt64LE(0x200)) : null,
    signature: { r: arr(b.subarray(0x2a0, 0x2e8)), s: arr(b.subarray(0x2e8, 0x330)) },
  };
}

/** REPORT_DATA the agent's way: hash of the JCS of {tee-pubkey, nonce, additional-evidence}, zero-padded to 64 (rcar_client.rs). */
export function agentReportData(nonce: string, pubkey: Record<string, string>, hash: 'sha256' | 'sha384' | 'sha512' = 'sha384'): Buffer {
  const jcs = canonicalize({ 'tee-pubkey': pubkey, nonce, 'additional-evidence': '' })!;
  const out = Buffer.alloc(64);
  createHash(hash).update(jcs).digest().copy(out);
  return out;
}

/** The Attestation body the agent posts. */
export function attestation(nonce: string, pubkey: Record<string, string>, primary: unknown, initData?: string): Record<string, unknown> {
  return {
    ...(initData !== undefined ? { 'init-data': { format: 'toml', body: initData } } : {}),
    'runtime-data': { nonce, 'tee-pubkey': pubkey },
    'tee-evidence': { primary_evidence: primary, additional_evidence: '' },
  };
}

/** SNP evidence the agent's way, from a simulator report bound to `reportData`. */
export function snpKbsEvidence(chain: SimulatorChain, reportData: Uint8Array, options: SnpReportOptions = {}): Record<string, unknown> {
  const built = buildSnpReport(chain, { reportData, ...options });
  return { attestation_report: sevReportJson(built.report), cert_chain: [{ cert_type: 'VCEK', data: arr(built.certificates.vcek) }] };
}

/** TDX evidence the agent's way ({quote, cc_eventlog}, standard base64). */
export function tdxKbsEvidence(chain: SimulatorChain, reportData: Uint8Array, options: TdxQuoteOptions = {}, ccEventlog?: Uint8Array): Record<string, unknown> {
  const built = buildTdxQuote(chain, { reportData, ...options });
  return { quote: Buffer.from(built.quote).toString('base64'), cc_eventlog: ccEventlog ? Buffer.from(ccEventlog).toString('base64') : null };
}

/** auth then attest with simulator evidence: the agent's whole RCAR handshake. */
export async function rcar(
  g: KbsGuest,
  chain: SimulatorChain,
  options: { tee?: 'snp' | 'tdx'; kind?: KeyKind; initData?: string; snp?: SnpReportOptions; tdx?: TdxQuoteOptions; boundTo?: Record<string, string> } = {},
): Promise<{ attest: KbsResponse; nonce: string; privateKey: KeyObject; pubkey: Record<string, string> }> {
  const tee = options.tee ?? 'snp';
  const auth = await g.auth(tee);
  if (auth.status !== 200) throw new Error(`auth failed: ${JSON.stringify(auth.body)}`);
  const nonce = auth.body.nonce as string;
  const { privateKey, pubkey } = teeKeyPair(options.kind);
  const rd = agentReportData(nonce, options.boundTo ?? pubkey);
  const evidence = tee === 'snp' ? snpKbsEvidence(chain, rd, options.snp) : tdxKbsEvidence(chain, rd, options.tdx);
  const attest = await g.call('POST', '/kbs/v0/attest', { body: attestation(nonce, pubkey, evidence, options.initData) });
  return { attest, nonce, privateKey, pubkey };
}

/** Azure vTPM evidence (agent v2) the agent's way for the KBS: the TPM nonce and user-data carry the unpadded runtime-data digest. */
export function azKbsEvidence(chain: SimulatorChain, tee: 'az-snp-vtpm' | 'az-tdx-vtpm', digest: Uint8Array): Record<string, unknown> {
  const ak = createAzureAk();
  const runtime = azureRuntimeData({ akPublicJwk: ak.publicJwk, userData: digest });
  const q = buildTpmQuote(ak.privateKey, digest);
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  const tpm_quote = { signature: hex(q.signature), message: hex(q.message), pcrs: q.pcrs.map(hex) };
  if (tee === 'az-snp-vtpm') {
    const { hclReport } = buildAzureSnpHcl(chain, runtime);
    return { version: 2, tpm_quote, hcl_report: Buffer.from(hclReport).toString('base64url'), vcek: chain.amd.vcek.toString('base64url') };
  }
  const { hclReport, tdQuote } = buildAzureTdxHcl(chain, runtime);
  return { version: 2, tpm_quote, hcl_report: Buffer.from(hclReport).toString('base64url'), td_quote: Buffer.from(tdQuote).toString('base64url') };
}
