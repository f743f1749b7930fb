// A real service on 127.0.0.1 (random port, temporary data directory) for the server tests,
// and evidence signed by a simulator chain that only the test's own instance trusts.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { decodeJwt, type JWK } from 'jose';
import { expectedReportData } from '../../verifier/binding.ts';
import type { SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { createSimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { simulatorAnchors, simulatorCollateralSource } from '../../verifier/testing/simulator-anchors.ts';
import { buildSnpReport, type SnpReportOptions } from '../../verifier/testing/snp-report-builder.ts';
import { buildTdxQuote, type TdxQuoteOptions } from '../../verifier/testing/tdx-quote-builder.ts';
import { loadConfig, type ConfigInput } from '../../server/config.ts';
import { issueEar } from '../../server/ear.ts';
import type { SigningKeyStore } from '../../server/keys/signing-keys.ts';
import { listen, type RunningServer } from '../../server/server.ts';
import { createService, type Service } from '../../server/service.ts';

export interface TestServer {
  url: string;
  dataDir: string;
  adminToken: string;
  service: Service;
  running: RunningServer;
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
  /** fetch relative to the server, JSON in and out. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies, checked field by field by each test
  call(method: string, path: string, options?: { body?: unknown; raw?: string; token?: string; contentType?: string; headers?: Record<string, string> }): Promise<{ status: number; body: any; headers: Headers }>;
}

export interface StartOptions {
  config?: ConfigInput;
  /** Trust this simulator chain (an extra trust domain, production mode) with its collateral. */
  chain?: SimulatorChain;
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
}

export function tempDir(prefix = 'tessera-server-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startServer(options: StartOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? tempDir();
  const env: NodeJS.ProcessEnv = options.env ?? { TESSERA_KEK: randomBytes(32).toString('base64') };
  // Offline: tests never reach AMD KDS or Intel PCS.
  const config = loadConfig({ env: {}, overrides: { dataDir, port: 0, logLevel: 'silent', collateral: { offline: true }, ...options.config } });
  let adminToken = env.TESSERA_ADMIN_TOKEN ?? '';
  const service = await createService({
    config,
    env,
    logger: pino({ level: 'silent' }),
    ...(options.chain ? { extraTrust: { name: 'test', anchors: simulatorAnchors(options.chain), collateral: simulatorCollateralSource(options.chain) } } : {}),
    announceAdminToken: (t) => {
      adminToken = t;
    },
  });
  const running = await listen(service, '127.0.0.1', 0);
  const url = running.url;
  return {
    url,
    dataDir,
    adminToken,
    service,
    running,
    env,
    stop: () => running.stop(2000),
    async call(method, path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      let body: string | undefined;
      if (o.raw !== undefined) body = o.raw;
      else if (o.body !== undefined) body = JSON.stringify(o.body);
      if (body !== undefined) headers['content-type'] = o.contentType ?? 'application/json';
      if (o.token) headers.authorization = `Bearer ${o.token}`;
      const res = await fetch(url + path, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* not JSON: keep the text */
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A server trusting a fresh simulator chain: what most server test files start with in beforeAll. */
export async function startChainServer(config?: ConfigInput): Promise<{ chain: SimulatorChain; srv: TestServer }> {
  const chain = await makeChain();
  return { chain, srv: await startServer({ chain, ...(config ? { config } : {}) }) };
}

/** Per-address rate limits off: for tests that send many requests from one address on purpose. */
export const NO_RATE_LIMITS: ConfigInput = { rateLimit: { windowSeconds: 60, challenge: 0, attest: 0, authFailures: 0 } };

/** Stops a server started by startServer (if it started) and removes its data directory. */
export async function stopServer(srv: TestServer | undefined): Promise<void> {
  if (!srv) return;
  await srv.stop();
  removeDir(srv.dataDir);
}

/**
 * The claims of an SEV-SNP `token` re-issued by `keys` two hours ago with a one-minute
 * lifetime: signed by the service's real key, but expired.
 */
export function issueExpiredCopy(keys: SigningKeyStore, token: string, build: string): ReturnType<typeof issueEar> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- EAR claims, read field by field
  const claims = decodeJwt(token) as any;
  const sub = claims.submods['sev-snp'];
  return issueEar(keys, {
    tee: 'sev-snp',
    nonce: claims.eat_nonce,
    status: 'affirming',
    vector: sub['ear.trustworthiness-vector'],
    policy: sub['ear.appraisal-policy-id'],
    claims: sub['tessera.claims'],
    teePublicKey: claims.cnf.jwk,
    ttlSeconds: 60,
    build,
    now: Date.now() - 7_200_000,
  });
}

/** One simulator chain per test file (RSA key generation is the slow part). */
export function makeChain(): Promise<SimulatorChain> {
  return createSimulatorChain({ now: new Date(), rsaBits: 2048 });
}

/** A fresh TEE key pair: the public JWK (what the agent sends). */
export function teeKey(): JWK {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  return { kty: 'EC', crv: 'P-256', x: jwk.x!, y: jwk.y! };
}

/** What a guest agent does: get a challenge, bind it and the key into REPORT_DATA, build SNP evidence. */
export async function snpAttestBody(
  srv: TestServer,
  chain: SimulatorChain,
  options: { jwk?: JWK; report?: SnpReportOptions; tamperNonce?: boolean } = {},
): Promise<{ body: Record<string, unknown>; nonce: string; jwk: JWK }> {
  const ch = await srv.call('POST', '/v1/challenge', { body: { tee: 'sev-snp' } });
  if (ch.status !== 200) throw new Error(`challenge failed: ${JSON.stringify(ch.body)}`);
  const jwk = options.jwk ?? teeKey();
  const nonce = Buffer.from(ch.body.nonce, 'base64url');
  if (options.tamperNonce) nonce[0]! ^= 1;
  const reportData = await expectedReportData(nonce, jwk);
  const built = buildSnpReport(chain, { reportData, ...options.report });
  return {
    body: {
      challenge: ch.body.challenge,
      tee: 'sev-snp',
      evidence: {
        report: Buffer.from(built.report).toString('base64'),
        certificates: { vcek: Buffer.from(built.certificates.vcek).toString('base64') },
      },
      teePublicKey: jwk,
    },
    nonce: ch.body.nonce,
    jwk,
  };
}

export async function tdxAttestBody(srv: TestServer, chain: SimulatorChain, options: { quote?: TdxQuoteOptions } = {}) {
  const ch = await srv.call('POST', '/v1/challenge', { body: { tee: 'tdx' } });
  const jwk = teeKey();
  const reportData = await expectedReportData(Buffer.from(ch.body.nonce, 'base64url'), jwk);
  const built = buildTdxQuote(chain, { reportData, ...options.quote });
  return { body: { challenge: ch.body.challenge, tee: 'tdx', evidence: { quote: Buffer.from(built.quote).toString('base64') }, teePublicKey: jwk }, nonce: ch.body.nonce, jwk };
}
