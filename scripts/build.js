#!/usr/bin/env node
// `npm run build`: compiles the TypeScript sources (.ts and, for the console's hono/jsx
// views, .tsx) to dist/ (tsconfig.build.json rewrites the relative import specifiers to
// .js), copies what the compiled code reads at run time, and bundles the guest agent into
// one self-contained file, dist/tessera-agent.mjs, for baking into guest images.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

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

// The guest agent as one ES module with its dependencies (commander, jose, the simulator's
// report builders) inlined: `node tessera-agent.mjs` needs no node_modules. Only node:
// built-ins stay external (platform 'node'). Minified: 0.9 MB instead of 1.8 (most of it is
// zod and @peculiar/x509, which the simulator provider needs); the agent never prints a stack
// trace, so nothing readable is lost. The bundled packages' license notices are kept at the end.
const AGENT = 'dist/tessera-agent.mjs';
await build({
  entryPoints: ['guest-agent/cli/main.ts'],
  outfile: AGENT,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  legalComments: 'eof',
  logLevel: 'warning',
  // A CommonJS dependency inlined in an ES module may call require() for a built-in; esbuild
  // then needs a real require in scope (https://esbuild.github.io/api/#platform notes this).
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __tesseraCreateRequire } from 'node:module';\nconst require = __tesseraCreateRequire(import.meta.url);",
  },
});
chmodSync(AGENT, 0o755);
process.stdout.write(`built dist/ and ${AGENT} (${(statSync(AGENT).size / 1024).toFixed(0)} KiB)\n`);
