// `tessera keys rotate-kek`: re-encrypt everything the data directory keeps under the KEK
// (server/secrets/kek-rotation.ts) with a new KEK, offline against the store.
// The new KEK comes from TESSERA_NEW_KEK (base64) or --new-kek-file (mode 0600). For a
// development data directory whose KEK is its own `kek` file, with neither given, a new
// key is generated: written to `kek.new` first, and moved over `kek` once the database
// transaction committed (if the move fails, `kek.new` holds the key that now opens the data).

import { randomBytes } from 'node:crypto';
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { CliError } from '../cli/errors.ts';
import { openExisting, operatorConfig, withDataOptions, type DataOptions } from '../cli/operator.ts';
import { decodeKek, DEV_KEK_FILE, KEK_LENGTH, KekError, loadKek } from '../crypto/kek.ts';
import { KekRotationError, rotateKek } from './kek-rotation.ts';

export function rotateKekCommand(): Command {
  return withDataOptions(
    new Command('rotate-kek')
      .description(
        'Re-encrypt every secret, signing key and server secret under a new key-encryption key (from TESSERA_NEW_KEK or --new-kek-file; a development data directory gets a new `kek` file). Stop the service first, and restart it with the new KEK.',
      )
      .option('--new-kek-file <file>', 'file holding the new KEK (base64 of 32 random bytes, mode 0600)')
      .option('--json', 'print JSON'),
  ).action(async (opts: DataOptions & { newKekFile?: string; json?: boolean }) => {
    const config = operatorConfig(opts);
    const devFile = join(config.dataDir, DEV_KEK_FILE);
    let current;
    try {
      // The current KEK as `tessera serve` finds it; a development file is used only when it exists (never created here).
      current = loadKek({ dataDir: config.dataDir, dev: existsSync(devFile), ...(config.kekFile ? { kekFile: config.kekFile } : {}) });
    } catch (err) {
      if (err instanceof KekError) throw new CliError(err.message);
      throw err;
    }
    const store = await openExisting(config);
    let newKek: Buffer;
    let pendingDevFile: string | undefined;
    let committed = false;
    try {
      const fromEnv = process.env.TESSERA_NEW_KEK;
      if (fromEnv) newKek = decodeKek(fromEnv, 'TESSERA_NEW_KEK');
      else if (opts.newKekFile) newKek = loadKek({ env: {}, kekFile: opts.newKekFile, dataDir: config.dataDir, dev: false }).key;
      else if (current.source === devFile) {
        newKek = randomBytes(KEK_LENGTH);
        // `wx`: a `kek.new` left by an unfinished rotation may be the key that opens the data; never overwrite it.
        writeFileSync(`${devFile}.new`, newKek.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
        pendingDevFile = `${devFile}.new`;
      } else {
        throw new CliError('give the new KEK in TESSERA_NEW_KEK (base64 of 32 random bytes) or --new-kek-file FILE');
      }
      const report = await rotateKek(store.sealedRecords, current.key, newKek);
      committed = true;
      if (pendingDevFile) renameSync(pendingDevFile, devFile);
      const next = pendingDevFile ? `the new KEK replaced ${devFile}` : 'start the service with the new KEK (TESSERA_KEK or kekFile) now: the old one no longer opens anything';
      process.stdout.write(
        opts.json
          ? `${JSON.stringify(report)}\n`
          : `re-encrypted ${report.secretVersions} secret version(s), ${report.signingKeys} signing key(s), ${report.serverSecrets} server secret(s) under the new KEK\n${next}\n`,
      );
    } catch (err) {
      // The transaction did not commit: the old KEK still opens everything; drop the unused new file.
      if (pendingDevFile && !committed) rmSync(pendingDevFile, { force: true });
      if (committed) throw new CliError(`the data is now under the new KEK in ${pendingDevFile}, but it could not replace ${devFile}: move it there yourself`);
      if (err instanceof KekError || err instanceof KekRotationError) throw new CliError(err.message);
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new CliError(`${devFile}.new already exists: a previous rotation did not finish; check which KEK opens the data`);
      throw err;
    } finally {
      await store.close();
    }
  });
}
