#!/usr/bin/env node
// The service and operator CLI. In a clone (sources present) it loads the TypeScript
// through tsx, a devDependency, so that `npm ci && npm start` needs no build step; in the
// published package (only bin/ and dist/, see `files` in package.json) it runs the compiled
// JavaScript and never loads tsx. server/cli/main.ts imports a subcommand only when it runs,
// so `tessera --version` stays a fast start in both.
import { existsSync } from 'node:fs';
import { runSources } from './sources.js';

const sources = new URL('../server/cli/main.ts', import.meta.url);
if (!existsSync(sources) || !(await runSources(sources, new URL('../dist/server/cli/main.js', import.meta.url)))) {
  await import('../dist/server/cli/main.js');
}
