#!/usr/bin/env node
// `npm run build`: compiles the TypeScript sources to dist/ (tsconfig.build.json rewrites
// the .ts import specifiers to .js) and copies what the compiled code reads at run time.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
rmSync('dist', { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
  stdio: 'inherit',
});
// Migrations are SQL files read from disk by the storage layer.
cpSync('migrations', 'dist/migrations', { recursive: true });
// Console assets (issue 15), when the console branch has landed.
if (existsSync('server/console/assets')) {
  cpSync('server/console/assets', 'dist/server/console/assets', { recursive: true });
}
// The source worker registers tsx before importing task.ts; the compiled one must not load
// TypeScript at all, so it imports the compiled task directly.
writeFileSync(
  'dist/server/verification/worker.js',
  "// Compiled verification worker entry, written by scripts/build.js.\n" +
    "const { default: verifyInWorker } = await import('./task.js');\n" +
    'export default verifyInWorker;\n',
);
