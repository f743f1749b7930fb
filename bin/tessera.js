#!/usr/bin/env node
// The service and operator CLI. In a clone (sources present) it loads the TypeScript
// through tsx so that a fresh clone needs no build step; in the published package (only
// dist/, see `files` in package.json) it runs the compiled JavaScript and never loads tsx.
import { existsSync } from 'node:fs';

const sources = new URL('../server/cli/main.ts', import.meta.url);
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(sources.href);
} else {
  await import('../dist/server/cli/main.js');
}
