#!/usr/bin/env node
// The guest agent CLI, run inside the confidential VM. In a clone it runs the TypeScript
// sources through tsx (bin/sources.js); in the published package it runs the single-file
// bundle dist/tessera-agent.mjs (scripts/build.js), the same file baked into guest images.
import { existsSync } from 'node:fs';
import { runSources } from './sources.js';

const sources = new URL('../guest-agent/cli/main.ts', import.meta.url);
if (!existsSync(sources) || !(await runSources(sources, new URL('../dist/tessera-agent.mjs', import.meta.url)))) {
  await import('../dist/tessera-agent.mjs');
}
