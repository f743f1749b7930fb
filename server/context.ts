// Everything a route needs, built once by server/service.ts.

import type { Logger } from 'pino';
import type { TokenVerifier } from './auth/api-tokens.ts';
import type { ChallengeSigner } from './challenge.ts';
import type { ServiceConfig } from './config.ts';
import type { SigningKeyStore } from './keys/signing-keys.ts';
import type { TrustDomain } from './trust.ts';
import type { Metrics } from './metrics.ts';
import type { PolicyStore } from './policies/store.ts';
import type { SecretStore } from './secrets/store.ts';
import type { Store } from './storage/store.ts';
import type { VerifierPool } from './verification/pool.ts';

export interface ServiceContext {
  config: ServiceConfig;
  /** Every kind of state, behind the engine-neutral interfaces of server/storage/store.ts. */
  store: Store;
  log: Logger;
  keys: SigningKeyStore;
  challenges: ChallengeSigner;
  apiTokens: TokenVerifier;
  policies: PolicyStore;
  /** Secrets released to attested guests (server/secrets/). */
  secrets: SecretStore;
  /** Production, and before it the simulator's in development mode (and a test's own in tests). See server/trust.ts. */
  trust: TrustDomain[];
  /** Runs the CPU half of each verification, on worker threads; its domain indexes are those of `trust`. */
  verifier: VerifierPool;
  metrics: Metrics;
  /** `ear.verifier-id.build`. */
  build: string;
  /** Attestations being decided (challenge to durable verdict): one alone is verified in the event loop. */
  attestationsInFlight: number;
  /** The operator console's CSRF key (server secret console-csrf-hmac, shared by every replica). */
  consoleKey: Buffer;
  /** Set once shutdown begins: /readyz answers 503. */
  draining: boolean;
}

export const VERSION = '0.1.0';
