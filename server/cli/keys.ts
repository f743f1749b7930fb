// `tessera keys rotate|list`: the result-signing keys, offline against the data directory.
// A running server picks up a rotation at its next signature (it reads the active kid).

import { Command } from 'commander';
import { EnvelopeError } from '../crypto/envelope.ts';
import { StoreCorruptError } from '../storage/store.ts';
import { storeLocation } from '../storage/open.ts';
import { allPublicKeys, SigningKeyStore } from '../keys/signing-keys.ts';
import { rotateSigningKey } from '../routes/keys.ts';
import { rotateKekCommand } from '../secrets/rotate-kek-command.ts';
import { CliError } from './errors.ts';
import { openExisting, operatorConfig, operatorKek, withDataOptions, type DataOptions } from './operator.ts';

const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());

export function keysCommand(): Command {
  const keys = new Command('keys').description('Result-signing keys (ES256).').exitOverride();
  withDataOptions(
    keys
      .command('rotate')
      .description('Make a new signing key active; the old public key stays in the JWKS until its tokens expire.')
      .option('--revoke-previous', 'withdraw the old public key from the JWKS now: every token it signed stops verifying (for a key that may have leaked)')
      .option('--json', 'print JSON'),
  ).action(async (opts: DataOptions & { json?: boolean; revokePrevious?: boolean }) => {
    const config = operatorConfig(opts);
    const kek = operatorKek(config);
    const store = await openExisting(config);
    try {
      const keys = new SigningKeyStore(store.signingKeys, store.configEpoch, kek);
      try {
        await keys.checkKek();
      } catch (err) {
        if (err instanceof EnvelopeError || err instanceof StoreCorruptError) throw new CliError(`the KEK does not open the keys stored in ${storeLocation(config)}: wrong KEK for this database`);
        throw err;
      }
      const r = await rotateSigningKey({ keys, config }, 'cli', null, opts.revokePrevious === true);
      const retired = r.revokedPrevious ? 'revoked: withdrawn from the JWKS, its tokens no longer verify' : `published until ${r.retiredPublishedUntil ?? '-'}`;
      process.stdout.write(opts.json ? `${JSON.stringify(r)}\n` : `active key: ${r.kid}\nretired key: ${r.retired ?? '-'} (${retired})\n`);
    } finally {
      await store.close();
    }
  });
  withDataOptions(keys.command('list').description('List every signing key, newest first.').option('--json', 'print JSON')).action(
    async (opts: DataOptions & { json?: boolean }) => {
      const config = operatorConfig(opts);
      const store = await openExisting(config, true);
      try {
        // Listing reads public keys only: no KEK needed.
        const all = await allPublicKeys(store.signingKeys);
        if (opts.json) process.stdout.write(`${JSON.stringify(all.map((k) => ({ ...k, createdAt: iso(k.createdAt), retiredAt: iso(k.retiredAt), publishUntil: iso(k.publishUntil) })))}\n`);
        else for (const k of all) process.stdout.write(`${k.kid}  created ${iso(k.createdAt)}  ${k.retiredAt === null ? 'ACTIVE' : `retired ${iso(k.retiredAt)}, published until ${iso(k.publishUntil)}`}\n`);
      } finally {
        await store.close();
      }
    },
  );
  // Re-encrypting everything under a new KEK belongs to the secrets module (server/secrets/).
  keys.addCommand(rotateKekCommand().exitOverride());
  return keys;
}
