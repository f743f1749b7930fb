// Builds the running service from its configuration: the store and its migrations, the KEK, the
// signing key, the challenge key, the seeded default policy, the first admin token, trust
// anchors and the collateral cache. Everything that happens "at first start" happens here,
// idempotently, so that replicas starting together agree.

import pino, { type Logger } from 'pino';
import type { TrustAnchors } from '../verifier/anchors.ts';
import { CachingCollateralSource } from '../verifier/collateral/caching-source.ts';
import type { CollateralSource } from '../verifier/collateral/source.ts';
import { VendorCollateralSource } from '../verifier/collateral/vendor-source.ts';
import { CollateralUnavailableError } from '../verifier/errors.ts';
import { DEFAULT_APPRAISAL_POLICY } from '../verifier/policy/index.ts';
import { PRODUCTION_ANCHORS } from '../verifier/production-anchors.ts';
import type { TrustDomain } from './trust.ts';
import { createApp } from './app.ts';
import { startHeadExporter, type HeadExporter } from './audit/head-export.ts';
import { createFirstApiToken, TokenVerifier } from './auth/api-tokens.ts';
import { ChallengeSigner } from './challenge.ts';
import type { ServiceConfig } from './config.ts';
import { VERSION, type ServiceContext } from './context.ts';
import { EnvelopeError } from './crypto/envelope.ts';
import { loadKek } from './crypto/kek.ts';
import { getOrCreateServerSecret } from './keys/server-secrets.ts';
import { SigningKeyStore } from './keys/signing-keys.ts';
import { Metrics } from './metrics.ts';
import { PolicyStore } from './policies/store.ts';
import { seedDevSecrets } from './secrets/dev-seed.ts';
import { SecretStore } from './secrets/store.ts';
import { openStore, storeLocation, vendorsFor } from './storage/open.ts';
import { StoreCorruptError, type Store } from './storage/store.ts';
import { createVerifierPool, type VerifierPool } from './verification/pool.ts';

export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

export interface ServiceOptions {
  config: ServiceConfig;
  env?: NodeJS.ProcessEnv;
  /** A trust domain besides production (a test's own chain and collateral). Never from configuration. */
  extraTrust?: TrustDomain;
  /** Replace the production collateral source (tests). */
  collateral?: CollateralSource;
  /** Development mode: the simulator's anchors and collateral (verifier/testing), supplied by the caller. */
  simulator?: { anchors: TrustAnchors; collateral: CollateralSource };
  logger?: Logger;
  /** Told the one-time admin token, when this start created it. */
  announceAdminToken?: (token: string) => void;
}

export interface Service {
  ctx: ServiceContext;
  app: ReturnType<typeof createApp>;
  store: Store;
  /** The audit head exporter, when auditHeads.directory or auditHeads.url is set. */
  headExporter?: HeadExporter;
  /** Stop the timers, write what is queued and release the store. */
  close(): Promise<void>;
}

/** Try `primary`, and when it has no such document, `fallback` (dev mode: simulator, then the real cache). */
function withFallback(primary: CollateralSource, fallback: CollateralSource): CollateralSource {
  const either =
    <A extends unknown[]>(pick: (s: CollateralSource) => (...a: A) => ReturnType<CollateralSource['intelRootCaCrl']>) =>
    (...args: A) =>
      pick(primary)
        .apply(primary, args)
        .catch((err: unknown) => {
          if (err instanceof CollateralUnavailableError) return pick(fallback).apply(fallback, args);
          throw err;
        });
  return {
    snpVcek: either((s) => s.snpVcek),
    snpCertChain: either((s) => s.snpCertChain),
    snpCrl: either((s) => s.snpCrl),
    intelTcbInfo: either((s) => s.intelTcbInfo),
    intelQeIdentity: either((s) => s.intelQeIdentity),
    intelPckCrl: either((s) => s.intelPckCrl),
    intelRootCaCrl: either((s) => s.intelRootCaCrl),
  };
}

export async function createService(options: ServiceOptions): Promise<Service> {
  const { config } = options;
  const env = options.env ?? process.env;
  const log =
    options.logger ??
    pino({
      level: config.logLevel,
      base: { service: 'tessera' },
      // Belt and braces: nothing logs these, and if something did they would not appear.
      redact: { paths: ['authorization', 'req.headers.authorization', 'token', '*.token', 'kek', 'privateKey'], censor: '[redacted]' },
    });
  if (config.dev && !options.simulator) throw new StartupError('development mode needs the simulator (start it with `tessera serve --dev`)');
  if (!config.dev && options.simulator) throw new StartupError('the simulator is only trusted in development mode');

  const kek = loadKek({ env, dataDir: config.dataDir, dev: config.dev, ...(config.kekFile ? { kekFile: config.kekFile } : {}) });
  const store = await openStore(config, { onConnectionError: (message) => log.warn({ store: 'postgres' }, message) });
  let verifier: VerifierPool | undefined;
  try {
    const keys = new SigningKeyStore(store.signingKeys, store.configEpoch, kek.key);
    let challengeKey: Buffer;
    let consoleKey: Buffer;
    try {
      await keys.checkKek();
      challengeKey = await getOrCreateServerSecret(store.serverSecrets, kek.key, 'challenge-hmac', 32);
      consoleKey = await getOrCreateServerSecret(store.serverSecrets, kek.key, 'console-csrf-hmac', 32);
    } catch (err) {
      if (err instanceof EnvelopeError || err instanceof StoreCorruptError) {
        throw new StartupError(`the key-encryption key from ${kek.source} does not open the keys stored in ${storeLocation(config)}: wrong KEK for this database (or the stored keys were altered: tessera db check)`);
      }
      throw err;
    }
    const created = await keys.ensureActive((kid) => ({ action: 'key.create', outcome: 'success', actor: 'system', subject: kid, details: { kid, reason: 'first start' } }));
    if (created) log.info({ kid: created }, 'created the result-signing key');

    const policies = new PolicyStore(store.policies, store.referenceValues, store.configEpoch);
    if (!(await policies.hasAnyPolicy())) {
      await policies.put('default', DEFAULT_APPRAISAL_POLICY, 'yaml', 'system', null);
      await policies.activate('default', undefined, 'system', null);
      log.info('seeded and activated the default appraisal policy');
    }

    const envAdmin = env.TESSERA_ADMIN_TOKEN;
    if (envAdmin !== undefined && envAdmin !== '' && envAdmin.length < 32) {
      throw new StartupError('TESSERA_ADMIN_TOKEN must be at least 32 characters of random text');
    }
    if (envAdmin && !config.auth.allowEnvAdminToken) {
      throw new StartupError(
        'TESSERA_ADMIN_TOKEN is set, but auth.allowEnvAdminToken is false: remove the variable from this environment and use a stored admin token (tessera tokens create --scope admin --expires-in-days N)',
      );
    }
    if (envAdmin && !config.dev) {
      log.warn('TESSERA_ADMIN_TOKEN is accepted as an admin credential; it cannot be revoked or expire. Replace it with a stored admin token and set auth.allowEnvAdminToken: false (README "Retiring the bootstrap admin token")');
    }
    if (!envAdmin && !(await store.apiTokens.any())) {
      // Only when no token exists, checked again in the creating transaction: replicas starting together make one.
      const first = await createFirstApiToken(store.apiTokens, { name: 'initial-admin', scope: 'admin' }, (info) => ({
        action: 'token.create',
        outcome: 'success',
        actor: 'system',
        subject: info.id,
        details: { name: 'initial-admin', scope: 'admin', reason: 'first start' },
      }));
      if (first) options.announceAdminToken?.(first.token);
    }

    const cache = new CachingCollateralSource({
      store: store.collateral,
      ...(config.collateral.offline
        ? {}
        : {
            upstream: vendorsFor(
              store,
              new VendorCollateralSource({
                ...(config.collateral.kdsUrl ? { kds: { baseUrl: config.collateral.kdsUrl } } : {}),
                ...(config.collateral.pcsUrl ? { pcs: { baseUrl: config.collateral.pcsUrl } } : {}),
              }),
              config.collateral.maxNewDocumentsPerMinute,
            ),
          }),
      offline: config.collateral.offline,
      now: () => new Date(),
      maxStalenessMs: config.collateral.maxStalenessHours * 3_600_000,
      maxNewDocumentsPerMinute: config.collateral.maxNewDocumentsPerMinute,
      onBackgroundError: (err, document) => log.warn({ document, err: err instanceof Error ? err.message : String(err) }, 'collateral refresh failed'),
    });
    // Non-production domains first: evidence chains to one root only, so the order changes
    // the cost (one verification for the common case of each mode), never the verdict.
    const trust: TrustDomain[] = [];
    if (options.extraTrust) trust.push(options.extraTrust);
    // The simulator's vendors know only simulated documents; anything else comes from the cache.
    if (options.simulator) trust.push({ name: 'simulator', anchors: options.simulator.anchors, collateral: withFallback(options.simulator.collateral, cache) });
    trust.push({ name: 'production', anchors: PRODUCTION_ANCHORS, collateral: options.collateral ?? cache });

    verifier = createVerifierPool(
      trust.map((d) => d.anchors),
      config.verifyThreads,
    );
    const ctx: ServiceContext = {
      config,
      store,
      log,
      keys,
      challenges: new ChallengeSigner(challengeKey, config.challengeTtlSeconds * 1000),
      apiTokens: new TokenVerifier(store.apiTokens, envAdmin || undefined),
      policies,
      secrets: new SecretStore(store.secrets, kek.key),
      trust,
      verifier,
      metrics: new Metrics(options.collateral ? undefined : () => cache.metrics()),
      build: `tessera ${VERSION}`,
      attestationsInFlight: 0,
      consoleKey,
      draining: false,
    };
    // Development mode: the README quick start's `demo` secret, released to simulated guests only.
    if (config.dev) await seedDevSecrets(ctx.secrets, log);

    const prune = setInterval(() => {
      store.challenges.prune(Date.now()).catch((err: unknown) => log.warn({ err: err instanceof Error ? err.message : String(err) }, 'pruning consumed challenges failed'));
      // Expired KBS sessions (server/kbs/session.ts) are refused on read; this only forgets them.
      store.kbsSessions.prune(Date.now()).catch((err: unknown) => log.warn({ err: err instanceof Error ? err.message : String(err) }, 'pruning expired KBS sessions failed'));
    }, 60_000);
    prune.unref();
    // Renew cached CRLs and TCB documents ahead of their nextUpdate even when no attestation
    // asks for them, so a quiet period is not followed by a slow (or, in an outage, stale) one.
    const refresh = config.collateral.offline
      ? undefined
      : setInterval(() => {
          cache.refreshDue().catch((err: unknown) => log.warn({ err: err instanceof Error ? err.message : String(err) }, 'collateral refresh failed'));
        }, 10 * 60_000);
    refresh?.unref();

    const { auditHeads } = config;
    const headExporter =
      auditHeads.directory !== undefined || auditHeads.url !== undefined
        ? startHeadExporter({
            audit: store.audit,
            keys: ctx.keys,
            targets: { ...(auditHeads.directory ? { directory: auditHeads.directory } : {}), ...(auditHeads.url ? { url: auditHeads.url } : {}), timeoutMs: auditHeads.timeoutSeconds * 1000 },
            intervalMs: auditHeads.intervalMinutes * 60_000,
            log,
            count: (target, outcome) => ctx.metrics.auditHeadExports.inc({ target, outcome }),
          })
        : undefined;

    const app = createApp(ctx);
    return {
      ctx,
      app,
      store,
      ...(headExporter ? { headExporter } : {}),
      async close() {
        clearInterval(prune);
        await headExporter?.stop();
        if (refresh) clearInterval(refresh);
        // Writes what is queued first: nothing queued is dropped.
        await store.close();
        // server/server.ts waited (bounded) for the requests in flight; one still verifying
        // after that bound is refused when the pool closes, and answers nothing.
        ctx.verifier.close().catch((err: unknown) => log.warn({ err: err instanceof Error ? err.message : String(err) }, 'closing the verify threads failed'));
      },
    };
  } catch (err) {
    await store.close();
    verifier?.close().catch(() => undefined);
    throw err;
  }
}
