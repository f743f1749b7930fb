// What both bin/ entry points do in a git clone: run the TypeScript sources through tsx.
// tsx is a devDependency, so a clone installed without them (`npm ci --omit=dev`) has
// none; it then runs dist/ when `npm run build` made one, and otherwise stops with what to
// do instead of a module-resolution stack trace.

/**
 * Runs `sources` through tsx and returns true, or returns false when tsx is absent and
 * `compiled` exists (the caller then imports that). Exits 2 when neither can run.
 */
export async function runSources(sources, compiled) {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    const { existsSync } = await import('node:fs');
    if (existsSync(compiled)) return false;
    process.stderr.write(
      'tessera: this is a source checkout without its dev dependencies (tsx) and without a build: run `npm ci`, or `npm run build` to use dist/\n',
    );
    process.exit(2);
  }
  register();
  await import(sources.href);
  return true;
}
