// `npm run bench [-- NAME...]`: the performance targets, measured (not timed tests: CI
// machines are small and noisy). Each bench prints its own rates next to the bare
// cryptographic rate measured in the same run, so the ratios mean something anywhere.

const BENCHES: Record<string, () => Promise<{ run: () => Promise<void> }>> = {
  snp: () => import('./snp.ts'),
  tdx: () => import('./tdx.ts'),
  azure: () => import('./azure.ts'),
  attest: () => import('./attest.ts'),
  release: () => import('./release.ts'),
  'event-loop': () => import('./event-loop.ts'),
  'cli-startup': () => import('./cli-startup.ts'),
};

// `--database postgres://…` (attest): also compare serve processes on SQLite and on that
// PostgreSQL server (fresh databases made and dropped there), 1 and 2 replicas.
const args = process.argv.slice(2);
const at = args.indexOf('--database');
if (at >= 0) {
  const url = args[at + 1];
  if (!url || !/^postgres(ql)?:\/\//.test(url)) {
    console.error('--database needs a postgres:// URL of a role that may create databases');
    process.exit(2);
  }
  process.env.TESSERA_BENCH_DATABASE = url;
  args.splice(at, 2);
}
const wanted = args;
const unknown = wanted.filter((name) => !(name in BENCHES));
if (unknown.length > 0) {
  console.error(`unknown bench: ${unknown.join(', ')} (known: ${Object.keys(BENCHES).join(', ')})`);
  process.exit(2);
}
for (const name of wanted.length > 0 ? wanted : Object.keys(BENCHES)) {
  console.log(`\n== ${name} ==`);
  const bench = await BENCHES[name]!();
  await bench.run();
}
