// `npm run bench [-- NAME...]`: the performance targets, measured (not timed tests: CI
// machines are small and noisy). Each bench prints its own rates next to the bare
// cryptographic rate measured in the same run, so the ratios mean something anywhere.

const BENCHES: Record<string, () => Promise<{ run: () => Promise<void> }>> = {
  snp: () => import('./snp.ts'),
  tdx: () => import('./tdx.ts'),
  attest: () => import('./attest.ts'),
  release: () => import('./release.ts'),
};

const wanted = process.argv.slice(2);
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
