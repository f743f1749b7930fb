// Development mode seeds one secret, `demo`, so that the README quick start releases
// something: `npm start`, then `tessera-agent secret get demo --provider simulator ...`.
// Seeded once: a `demo` that an operator updated or deleted (its tombstone remains) is
// left alone. The seeded `default` appraisal policy already accepts the simulator's default
// guest (non-debug, UpToDate TCB); the release policy below limits `demo` to simulated
// evidence, so the seeded value is never released to real hardware by mistake.

import type { Logger } from 'pino';
import type { SecretStore } from './store.ts';

export const DEMO_SECRET_NAME = 'demo';
export const DEMO_SECRET_VALUE = 'hello from tessera: this secret was released to an attested (simulated) guest\n';
export const DEMO_RELEASE_POLICY = 'has(claims.simulated) && claims.simulated == true';

/** Seed `demo` when no version of it ever existed. Returns true when it did. */
export async function seedDevSecrets(secrets: SecretStore, log: Logger): Promise<boolean> {
  if (await secrets.exists(DEMO_SECRET_NAME)) return false;
  await secrets.put(
    DEMO_SECRET_NAME,
    {
      value: Buffer.from(DEMO_SECRET_VALUE, 'utf8'),
      releasePolicy: DEMO_RELEASE_POLICY,
      description: 'Development mode demo secret (README quick start); released only to simulated guests.',
      labels: { seeded: 'dev' },
    },
    'system',
    null,
  );
  log.info({ secret: DEMO_SECRET_NAME }, 'development mode: seeded the demo secret');
  return true;
}
