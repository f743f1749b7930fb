#!/usr/bin/env node
// The service and operator CLI. Sources are TypeScript, loaded through tsx so that a
// fresh clone needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('../server/cli/main.ts');
