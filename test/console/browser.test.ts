/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are JSON checked field by field */
// The console in a real browser: Debian's Chromium (/usr/bin/chromium), driven by
// playwright-core, against a real `tessera serve --dev` process holding simulator
// attestations accepted and denied, from three SEV-SNP chips at different TCBs and a TDX
// platform. Screenshots of every page go to test-artifacts/console/ (git-ignored).

import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedReportData } from '../../verifier/binding.ts';
import { withAnotherSimulatedChip, type SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { loadOrCreateSimulatorChain } from '../../verifier/testing/simulator-files.ts';
import { buildSnpReport, SIMULATOR_SNP_MEASUREMENT, type SnpReportOptions } from '../../verifier/testing/snp-report-builder.ts';
import { buildTdxQuote } from '../../verifier/testing/tdx-quote-builder.ts';
import { CONSOLE_CSP } from '../../server/console/router.tsx';
import { call, removeDir, ROOT, serve, TESSERA, tempDir, type Served } from '../e2e/processes.ts';
import { teeKey } from '../server/helpers.ts';

/** The launch flags of issue 15: no sandbox (root in CI), no GPU, nothing phoning home. */
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync'];
const SHOTS = join(ROOT, 'test-artifacts', 'console');
const MARKUP = '<script>alert(1)</script>';

const simDir = tempDir('tessera-console-sim-');
const dataDir = tempDir('tessera-console-data-');
const profile = tempDir('tessera-console-chromium-');
const adminToken = `console-admin-${randomBytes(24).toString('hex')}`;
let server: Served;
let chain: SimulatorChain;
let auditor: string;
let context: BrowserContext;
let page: Page;
let deniedId = '';
/** alert() dialogs seen: a script from data ran. */
const alerts: string[] = [];
/** CSP violations reported in the console: an inline script or style was attempted. */
const violations: string[] = [];

const api = (method: string, path: string, body?: unknown, token = adminToken) => call(server.url, method, path, { ...(body !== undefined ? { body } : {}), token });

async function attestSnp(c: SimulatorChain, report: SnpReportOptions = {}): Promise<any> {
  const ch = await api('POST', '/v1/challenge', { tee: 'sev-snp' });
  const jwk = teeKey();
  const built = buildSnpReport(c, { reportData: await expectedReportData(Buffer.from(ch.body.nonce, 'base64url'), jwk), ...report });
  const evidence = { report: Buffer.from(built.report).toString('base64'), certificates: { vcek: Buffer.from(built.certificates.vcek).toString('base64') } };
  return (await api('POST', '/v1/attest', { challenge: ch.body.challenge, tee: 'sev-snp', evidence, teePublicKey: jwk })).body;
}

async function attestTdx(): Promise<any> {
  const ch = await api('POST', '/v1/challenge', { tee: 'tdx' });
  const jwk = teeKey();
  const built = buildTdxQuote(chain, { reportData: await expectedReportData(Buffer.from(ch.body.nonce, 'base64url'), jwk) });
  return (await api('POST', '/v1/attest', { challenge: ch.body.challenge, tee: 'tdx', evidence: { quote: Buffer.from(built.quote).toString('base64') }, teePublicKey: jwk })).body;
}

async function shot(name: string, full = true): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: full });
}

async function signIn(token: string): Promise<void> {
  await page.goto(`${server.url}/console`);
  expect(new URL(page.url()).pathname).toBe('/console/sign-in');
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.url}/console`);
}

async function signOut(): Promise<void> {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(`${server.url}/console/sign-in`);
}

/**
 * Press Tab until focus comes round again, and return every element it reached; and every
 * element a person could act on (links, buttons, fields), which must all be among them.
 */
async function tabThrough(): Promise<{ reached: string[]; actions: string[] }> {
  // Browser-side code as text: this project compiles without the DOM library.
  const actions = (await page.evaluate(`(() => {
    const els = [...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')];
    return els.filter((e) => e.getClientRects().length > 0).map((e, i) => (e.dataset.tabKey = 'k' + i));
  })()`)) as string[];
  await page.evaluate('document.activeElement && document.activeElement.blur()');
  const reached: string[] = [];
  for (let i = 0; i < actions.length + 20; i++) {
    await page.keyboard.press('Tab');
    const key = (await page.evaluate("document.activeElement ? (document.activeElement.dataset.tabKey || document.activeElement.tagName) : ''")) as string;
    if (reached.length > 0 && key === reached[0]) break;
    reached.push(key);
  }
  return { reached, actions };
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  chain = await loadOrCreateSimulatorChain(simDir, { rsaBits: 2048 });
  server = await serve(process.execPath, [TESSERA, 'serve', '--dev', '--data', dataDir, '--port', '0'], {
    TESSERA_SIMULATOR_DIR: simDir,
    TESSERA_ADMIN_TOKEN: adminToken,
    TESSERA_KEK: '',
    TESSERA_LOG_LEVEL: 'info',
    TESSERA_RATE_LIMIT_AUTH_FAILURES: '0',
  });
  auditor = (await api('POST', '/v1/tokens', { name: 'console-auditor', scope: 'auditor' })).body.token;
  // Three SNP chips: A at the simulator's TCB, B older, C newer; and a TDX platform.
  const chipB = await withAnotherSimulatedChip(chain, randomBytes(64), { bootloader: 2, tee: 0, snp: 20, microcode: 200 });
  const chipC = await withAnotherSimulatedChip(chain, randomBytes(64), { bootloader: 7, tee: 1, snp: 24, microcode: 219 });
  for (const c of [chain, chain, chipB, chipC]) expect((await attestSnp(c)).status).toBe('affirming');
  expect((await attestTdx()).status).toBe('affirming');
  // A debug guest: denied by the default policy.
  expect((await attestSnp(chain, { policy: { debug: true } })).status).toBe(403);
  // A policy whose document carries markup in its description and a rule's message, used
  // for one denial and then set back.
  const strict = { description: `strict ${MARKUP}`, snp: { measurements: ['0f'.repeat(48)] }, rules: [{ name: 'markup', expr: 'claims.debug', message: MARKUP }] };
  expect((await api('PUT', '/v1/policies/strict', strict)).status).toBe(201);
  expect((await api('POST', '/v1/policies/strict/activate', {})).status).toBe(200);
  const denied = await attestSnp(chain);
  expect(denied.status).toBe(403);
  deniedId = denied.attestationId;
  expect((await api('POST', '/v1/policies/default/activate', {})).status).toBe(200);
  expect((await api('PUT', '/v1/secrets/db-password', { value: 'hunter2', description: 'the database password' })).status).toBe(201);

  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1200, height: 800 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('dialog', (d) => {
    if (d.type() === 'alert') alerts.push(d.message());
    void d.accept();
  });
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
  });
}, 180_000);

afterAll(async () => {
  await context?.close();
  await server?.stop();
  for (const d of [simDir, dataDir, profile]) removeDir(d);
});

describe('the console in Chromium', () => {
  it('signs in with an auditor token, and serves every page with the CSP', async () => {
    await signIn(auditor);
    expect((await page.locator('h1').innerText()).trim()).toBe('Overview');
    expect(await page.locator('.who').textContent()).toContain('auditor');
    const res = await page.goto(`${server.url}/console`);
    expect(res!.headers()['content-security-policy']).toBe(CONSOLE_CSP);
    // The chart: one figure per TEE, drawn by the server.
    expect(await page.locator('figure.chart figcaption').allTextContents()).toEqual(expect.arrayContaining(['sev-snp', 'tdx']));
    expect(await page.locator('#h-denials + table').innerText()).toContain('snp.allowDebug');
    await shot('1-overview');
  });

  it('explains a denied attestation: the failed rule with expected and found, and evidence markup shown as text', async () => {
    await page.goto(`${server.url}/console/attestations`);
    await page.locator('select[name=outcome]').selectOption('contraindicated');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/outcome=contraindicated/);
    expect(await page.locator('tbody tr').count()).toBe(2);
    await shot('2-attestations');
    await page.getByRole('link', { name: `Attestation ${deniedId}` }).click();
    await page.waitForURL(`${server.url}/console/attestations/${deniedId}`);
    const why = page.locator('section.why');
    expect(await why.innerText()).toContain('Rule snp.measurements');
    expect(await why.innerText()).toContain(`Expected ["${'0f'.repeat(48)}"]`);
    expect(await why.innerText()).toContain(`found ${SIMULATOR_SNP_MEASUREMENT}`);
    // The rule's message is the policy author's text: it shows as characters, no script runs.
    expect(await why.innerText()).toContain(MARKUP);
    expect(await page.locator('section.why script').count()).toBe(0);
    expect(await page.locator('#h-audit + dl').innerText()).toMatch(/[0-9a-f]{64}/);
    await shot('3-attestation-denied');
    // The top of the page, as the README shows it (docs/console-denied.png).
    await page.setViewportSize({ width: 1200, height: 620 });
    await shot('3-attestation-denied-top', false);
    await page.setViewportSize({ width: 1200, height: 800 });
    await page.goto(`${server.url}/console/policies/strict`);
    expect(await page.locator('dl.summary').innerText()).toContain(`strict ${MARKUP}`);
    expect(alerts).toEqual([]);
  });

  it('shows the fleet, and the what-if counts the platforms a candidate TCB excludes', async () => {
    await page.goto(`${server.url}/console/fleet`);
    expect(await page.locator('main p').first().innerText()).toContain('4 platforms');
    expect(await page.locator('table.fleet tbody tr').count()).toBe(4);
    await shot('4-fleet');
    await page.goto(`${server.url}/console/what-if`);
    // Above chip B's bootloader 2 and snp 20, at or below A's and C's.
    await page.getByLabel('Milan minimum bootloader SPL').fill('4');
    await page.getByLabel('Milan minimum snp SPL').fill('20');
    await page.getByRole('button', { name: 'Run the what-if' }).click();
    expect((await page.locator('.refused-platforms').innerText()).trim()).toBe('1');
    expect(await page.locator('p.big').innerText()).toContain('of 4 platforms');
    expect(await page.locator('table.refused').innerText()).toContain('snp.minTcb');
    await shot('5-what-if');
    // Raising the bootloader minimum above A's too excludes two.
    await page.getByLabel('Milan minimum bootloader SPL').fill('5');
    await page.getByRole('button', { name: 'Run the what-if' }).click();
    expect((await page.locator('.refused-platforms').innerText()).trim()).toBe('2');
  });

  it('does not let an auditor activate a policy; the API refuses the attempt', async () => {
    await page.goto(`${server.url}/console/policies/strict`);
    expect(await page.getByRole('button', { name: /^Activate/ }).count()).toBe(0);
    expect(await page.locator('main').innerText()).toContain('needs an admin token');
    await shot('6-policy');
    // The form posted anyway, with this session's CSRF token and our Origin: the API says no.
    const csrf = await page.locator('form.signout input[name=csrf]').getAttribute('value');
    const r = await page.request.post(`${server.url}/console/policies/strict/activate`, { form: { csrf: csrf!, version: '1' }, headers: { origin: server.url } });
    expect(r.status()).toBe(403);
    expect(await r.text()).toContain('insufficient_scope');
    expect((await api('GET', '/v1/policies')).body.active.name).toBe('default');
    await page.goto(`${server.url}/console/secrets`);
    expect(await page.locator('main').innerText()).toContain('insufficient_scope');
  });

  it('reaches every action on each page with the Tab key', async () => {
    for (const path of ['/console', '/console/attestations', `/console/attestations/${deniedId}`, '/console/fleet', '/console/what-if', '/console/policies', '/console/policies/strict', '/console/audit', '/console/secrets']) {
      await page.goto(server.url + path);
      const { reached, actions } = await tabThrough();
      expect(actions.length, path).toBeGreaterThan(8);
      expect(actions.filter((a) => !reached.includes(a)), path).toEqual([]);
    }
  });

  it('signs out server-side: the old cookie is refused afterwards', async () => {
    const cookie = (await context.cookies(server.url)).find((c) => c.name === 'tessera_console')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    await signOut();
    const replay = await fetch(`${server.url}/console`, { headers: { cookie: `tessera_console=${cookie.value}` }, redirect: 'manual' });
    expect(replay.status).toBe(303);
    expect(replay.headers.get('location')).toBe('/console/sign-in');
    expect((await api('GET', '/v1/policies', undefined, cookie.value)).body.code).toBe('token_revoked');
  });

  it('lets an admin activate a policy, audit and revoke tokens', async () => {
    await signIn(adminToken);
    await page.goto(`${server.url}/console/policies/strict`);
    await page.getByRole('button', { name: 'Activate v1' }).click();
    expect(await page.locator('.notice').innerText()).toContain('Activated strict v1.');
    expect((await api('GET', '/v1/policies')).body.active.name).toBe('strict');
    await page.goto(`${server.url}/console/policies/default`);
    await page.getByRole('button', { name: 'Activate v1' }).click();
    expect(await page.locator('.notice').innerText()).toContain('Activated default v1.');
    await page.goto(`${server.url}/console/audit`);
    expect(await page.locator('#h-chain + p').innerText()).toContain('Verified');
    const exported = await page.request.get(`${server.url}/console/audit/export.jsonl?action=policy.activate`);
    const lines = (await exported.text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.subject)).toEqual(['default', 'strict', 'default', 'strict', 'default']);
    expect(lines.map((l) => l.seq)).toEqual([...lines.map((l) => l.seq)].sort((a, b) => a - b));
    await shot('7-audit');
    await page.goto(`${server.url}/console/secrets`);
    expect(await page.locator('main').innerText()).toContain('db-password');
    expect(await page.locator('main').innerText()).not.toContain('hunter2');
    const victim = (await api('POST', '/v1/tokens', { name: 'to-revoke', scope: 'auditor' })).body;
    await page.reload();
    await page.getByRole('button', { name: `Revoke token ${victim.id}` }).click();
    expect(await page.locator('.notice').innerText()).toContain(`Revoked token ${victim.id}`);
    expect((await api('GET', '/v1/policies', undefined, victim.token)).body.code).toBe('token_revoked');
    await shot('8-secrets-and-tokens');
    expect(alerts).toEqual([]);
    expect(violations).toEqual([]);
  });
});
