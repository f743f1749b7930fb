// Adversarial review of `tessera collateral import` as an operator runs it: a bundle from
// another host that is huge or not a bundle fails with a clear error (exit 2) and leaves
// the cache as it was.

import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_BUNDLE_BYTES } from '../../verifier/collateral/bundle.ts';
import { tesseraInScratchDir } from '../support/cli.ts';

const { dir, tessera } = tesseraInScratchDir('tessera-review-import-');

describe('tessera collateral import of a hostile file', () => {
  it('refuses a bundle over the size limit before reading it, and writes no cache', async () => {
    const huge = join(dir, 'huge.json');
    writeFileSync(huge, '');
    truncateSync(huge, MAX_BUNDLE_BYTES + 1); // sparse: no disk used
    const cache = join(dir, 'huge-cache.json');
    const r = await tessera('collateral', 'import', huge, '--cache', cache);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`is ${MAX_BUNDLE_BYTES + 1} bytes; a bundle is at most ${MAX_BUNDLE_BYTES}`);
    expect(existsSync(cache)).toBe(false);
  });

  it('refuses a file that is not a bundle with a clear error and leaves an existing cache byte for byte', async () => {
    const cache = join(dir, 'cache.json');
    const before = JSON.stringify({ format: 'tessera-collateral', version: 1, entries: [] });
    writeFileSync(cache, before);
    for (const [name, text, why] of [
      ['html.json', '<html>proxy login</html>', 'is not JSON'],
      ['other.json', JSON.stringify({ format: 'tessera-collateral', version: 2, entries: [] }), 'is not a tessera-collateral v1 file (at version'],
      ['entries.json', JSON.stringify({ format: 'tessera-collateral', version: 1, entries: [{ key: 'intel-root-ca-crl' }] }), 'at entries.0.'],
    ] as const) {
      writeFileSync(join(dir, name), text);
      const r = await tessera('collateral', 'import', join(dir, name), '--cache', cache);
      expect(r.code, name).toBe(2);
      expect(r.stderr, name).toContain(why);
      expect(r.stderr, name).toContain('(collateral_file_malformed)');
      expect(readFileSync(cache, 'utf8'), name).toBe(before);
    }
  });
});
