#!/usr/bin/env node
// The guest agent CLI, run inside the confidential VM.
import { register } from 'tsx/esm/api';

register();
await import('../guest-agent/cli/main.ts');
