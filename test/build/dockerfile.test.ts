// The Dockerfile and .dockerignore, checked without a container engine (none runs on the
// machines this project is developed and tested on): the Dockerfile linter of the VS Code
// Docker language service (dockerfile-utils) finds nothing, and the stages hold what the
// README promises: production dependencies only in the runtime image, a non-root user, a
// HEALTHCHECK that needs no curl, nothing written outside the data volume. What the image
// runs is run for real by test/build/pack-install.test.ts (the same layout: the package with
// its production dependencies, on a read-only root as a non-root user, and this HEALTHCHECK).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Copy, Env, Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import { ENV } from '../../server/config.ts';
import { ROOT } from '../e2e/processes.ts';
import { dockerfileText, execForm, healthcheckCommand, stages, type Stage } from './dockerfile.ts';

const text = dockerfileText();
const all = stages(text);
const runtime = all.at(-1)!;
const byName = new Map(all.map((s) => [s.name, s]));

const of = (stage: Stage, keyword: string): Instruction[] => stage.instructions.filter((i) => i.getKeyword() === keyword);
const args = (i: Instruction): string => i.getArgumentsContent() ?? '';
const runtimeEnv = (): Map<string, string> => new Map(of(runtime, 'ENV').flatMap((e) => (e as Env).getProperties().map((p) => [p.getName(), p.getValue() ?? ''] as [string, string])));

describe('Dockerfile', () => {
  it('has no error or warning from the Dockerfile linter', () => {
    expect(validate(text).map((d) => `line ${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it('builds in stages: production dependencies from the lockfile, a build with dev dependencies, a slim runtime', () => {
    expect(all.map((s) => s.name)).toEqual(['deps', 'build', 'runtime']);
    expect(of(byName.get('deps')!, 'RUN').map(args)).toEqual([expect.stringMatching(/^npm ci --omit=dev\b/)]);
    const build = of(byName.get('build')!, 'RUN').map(args);
    expect(build[0]).toMatch(/^npm ci\b/);
    expect(build[0]).not.toMatch(/--omit=dev/);
    expect(build).toContain('npm run build');
    // The runtime base is the slim image of the same Debian release as the stage that built
    // the native binding (an ARG default each).
    const argDefault = (name: string): string => new RegExp(`^ARG ${name}=(\\S+)$`, 'm').exec(text)![1]!;
    expect(runtime.from).toBe('${NODE_RUNTIME_IMAGE}');
    expect(byName.get('deps')!.from).toBe('${NODE_BUILD_IMAGE}');
    expect(argDefault('NODE_RUNTIME_IMAGE')).toBe(`${argDefault('NODE_BUILD_IMAGE')}-slim`);
  });

  it('installs nothing in the runtime stage and takes node_modules from the production-only stage', () => {
    for (const run of of(runtime, 'RUN')) expect(args(run)).not.toMatch(/\b(npm|npx|yarn|pnpm|corepack|apt-get|apt)\b/);
    const copies = of(runtime, 'COPY') as Copy[];
    const from = new Map(copies.map((c) => [c.getArguments().at(-1)!.getValue(), c.getFromFlag()?.getValue()]));
    expect(from.get('./node_modules')).toBe('deps');
    for (const part of ['./bin', './dist', './package.json']) expect(from.get(part), part).toBe('build');
    // No source, test or build tool enters the image: only those four.
    expect(copies.map((c) => c.getArguments().at(-1)!.getValue()).sort()).toEqual(['./bin', './dist', './node_modules', './package.json']);
  });

  it('runs as a numeric non-root user, serves on the exposed port, checks /healthz with node, and keeps state in the volume only', () => {
    const users = of(runtime, 'USER').map(args);
    expect(users).toHaveLength(1);
    const [uid, gid] = users[0]!.split(':').map(Number);
    expect(uid).toBeGreaterThan(0);
    expect(gid).toBeGreaterThan(0);
    // USER is the last instruction that could run as root; only metadata follows it.
    const afterUser = runtime.instructions.slice(runtime.instructions.findIndex((i) => i.getKeyword() === 'USER') + 1).map((i) => i.getKeyword());
    expect(afterUser.filter((k) => !['VOLUME', 'EXPOSE', 'HEALTHCHECK', 'ENTRYPOINT', 'CMD', 'LABEL', 'STOPSIGNAL'].includes(k))).toEqual([]);

    const env = runtimeEnv();
    for (const name of env.keys()) if (name.startsWith('TESSERA_')) expect(Object.keys(ENV), name).toContain(name);
    expect(env.get('TESSERA_HOST')).toBe('0.0.0.0');
    expect(of(runtime, 'EXPOSE').map(args)).toEqual([env.get('TESSERA_PORT')]);
    expect(of(runtime, 'VOLUME').map((v) => execForm(v))).toEqual([[env.get('TESSERA_DATA_DIR')]]);
    // The data directory is created for the service's user; everything else is root's.
    expect(args(of(runtime, 'RUN')[0]!)).toContain(`chown ${uid}:${gid} ${env.get('TESSERA_DATA_DIR')}`);

    const healthcheck = healthcheckCommand(text);
    expect(healthcheck[0]).toBe('node');
    expect(healthcheck.join(' ')).toContain('/healthz');
    expect(healthcheck.join(' ')).toContain('process.env.TESSERA_PORT');
    expect(of(runtime, 'HEALTHCHECK').map(args)[0]).not.toMatch(/\b(curl|wget)\b/);
    expect(of(runtime, 'ENTRYPOINT').map((e) => execForm(e))).toEqual([['node', '/opt/tessera/bin/tessera.js', 'serve']]);
  });
});

describe('.dockerignore', () => {
  const lines = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));

  it('is an allow-list naming what the build stage reads, so that data/, node_modules and dist/ never enter the context', () => {
    expect(lines[0]).toBe('*');
    const allowed = lines.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
    // What `npm ci` and `npm run build` (scripts/build.js, tsconfig.build.json) read.
    expect(allowed.sort()).toEqual(['bin', 'guest-agent', 'migrations', 'package-lock.json', 'package.json', 'scripts/build.js', 'server', 'tsconfig.build.json', 'tsconfig.json', 'verifier']);
    const buildScript = readFileSync(join(ROOT, 'scripts', 'build.js'), 'utf8');
    for (const read of buildScript.matchAll(/'((?:migrations|server|guest-agent|verifier)[^']*)'/g)) {
      expect(allowed.some((a) => read[1] === a || read[1]!.startsWith(`${a}/`)), read[1]).toBe(true);
    }
    const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
    for (const dir of tsconfig.include) expect(allowed, dir).toContain(dir);
  });
});
