// The console's static files (server/console/assets/, copied to dist/ by scripts/build.js),
// served from this process: nothing from a CDN, so the console works air-gapped and the CSP
// can be `default-src 'self'`. Each URL carries a hash of the file's content, so a file can
// be cached for a year (immutable) and a new release is fetched at once.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

export interface Asset {
  body: Uint8Array;
  type: string;
  /** `/console/assets/<hash>/<name>` */
  url: string;
}

const DIR = fileURLToPath(new URL('./assets/', import.meta.url));

function load(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(DIR)) {
    const type = TYPES[extname(name)];
    if (!type) continue;
    const body = new Uint8Array(readFileSync(join(DIR, name)));
    const hash = createHash('sha256').update(body).digest('hex').slice(0, 16);
    assets.set(name, { body, type, url: `/console/assets/${hash}/${name}` });
  }
  return assets;
}

let loaded: Map<string, Asset> | undefined;

/** Every asset by file name, read once. */
export function assets(): Map<string, Asset> {
  loaded ??= load();
  return loaded;
}

export function assetUrl(name: string): string {
  const a = assets().get(name);
  if (!a) throw new Error(`no console asset ${name}`);
  return a.url;
}
