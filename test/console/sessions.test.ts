// The console's session, cookie and CSRF rules over real HTTP, without a browser: sign-in
// exchanges an API token for a stored session token of the same scope (console:<parent>),
// the cookie's attributes (and __Host- + Secure over TLS), the Origin and CSRF gates of every
// state change, sign-out and parent revocation ending the session server-side, and the
// console answering only what the API lets the session's token see or do.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../server/auth/api-tokens.ts';
import { loadConfig } from '../../server/config.ts';
import { CONSOLE_CSP } from '../../server/console/router.tsx';
import { NO_RATE_LIMITS, startServer, stopServer, type TestServer } from '../server/helpers.ts';

let srv: TestServer;
let auditor: { id: string; token: string };
let admin: { id: string; token: string };

async function token(scope: 'admin' | 'auditor', name: string, expiresInDays?: number) {
  const r = await srv.call('POST', '/v1/tokens', { token: srv.adminToken, body: { name, scope, ...(expiresInDays ? { expiresInDays } : {}) } });
  expect(r.status).toBe(201);
  return { id: r.body.id as string, token: r.body.token as string };
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

async function http(method: string, path: string, o: { cookie?: string; form?: Record<string, string>; origin?: string | null; host?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (o.cookie) headers.cookie = o.cookie;
  if (o.origin !== null && method !== 'GET') headers.origin = o.origin ?? srv.url;
  if (o.form) headers['content-type'] = 'application/x-www-form-urlencoded';
  const res = await fetch(srv.url + path, { method, headers, redirect: 'manual', ...(o.form ? { body: new URLSearchParams(o.form).toString() } : {}) });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** Sign in with `t`; returns the cookie pair to send back and the Set-Cookie header. */
async function signIn(t: string): Promise<{ cookie: string; setCookie: string; session: string }> {
  const r = await http('POST', '/console/sign-in', { form: { token: t } });
  expect(r.status, r.text).toBe(303);
  expect(r.headers.get('location')).toBe('/console');
  const setCookie = r.headers.get('set-cookie')!;
  const pair = setCookie.split(';')[0]!;
  return { cookie: pair, setCookie, session: pair.slice(pair.indexOf('=') + 1) };
}

/** The CSRF token a page rendered for this session. */
async function csrfOf(cookie: string): Promise<string> {
  const page = await http('GET', '/console/policies', { cookie });
  expect(page.status).toBe(200);
  const m = /name="csrf" value="([^"]+)"/.exec(page.text);
  expect(m).not.toBeNull();
  return m![1]!;
}

async function sessionRow(sessionToken: string) {
  const id = /^tsr_([0-9a-f]{16})_/.exec(sessionToken)![1]!;
  return srv.service.ctx.store.apiTokens.get(id);
}

beforeAll(async () => {
  srv = await startServer({ config: NO_RATE_LIMITS });
  auditor = await token('auditor', 'console-auditor');
  admin = await token('admin', 'console-admin');
});

afterAll(() => stopServer(srv));

describe('sign-in', () => {
  it('sends an anonymous visitor to the sign-in page, served with the CSP and no inline script or style', async () => {
    const r = await http('GET', '/console');
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/console/sign-in');
    expect((await http('GET', '/console/')).headers.get('location')).toBe('/console');
    const page = await http('GET', '/console/sign-in');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toMatch(/^default-src 'self';/);
    expect(CONSOLE_CSP).not.toContain('unsafe-inline');
    expect(page.headers.get('referrer-policy')).toBe('same-origin');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.text).toMatch(/^<!doctype html>/);
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)/);
    expect(page.text).not.toMatch(/\sstyle=|<style/);
    expect(page.text).toContain('name="token"');
  });

  it('exchanges an auditor token for a stored session token of the same scope, named console:<parent id>, in an HttpOnly SameSite=Strict cookie', async () => {
    const before = Date.now();
    const { setCookie, session, cookie } = await signIn(auditor.token);
    expect(setCookie).toMatch(/^tessera_console=tsr_[0-9a-f]{16}_/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).toContain('Path=/');
    expect(setCookie).not.toContain('Secure');
    const maxAge = Number(/Max-Age=(\d+)/.exec(setCookie)![1]);
    expect(maxAge).toBeGreaterThan(3590);
    expect(maxAge).toBeLessThanOrEqual(3600);
    expect(session).not.toBe(auditor.token);
    const row = (await sessionRow(session))!;
    expect(row).toMatchObject({ name: `console:${auditor.id}`, scope: 'auditor', revokedAt: null });
    expect(row.expiresAt! - before).toBeGreaterThanOrEqual(60 * 60_000 - 5);
    expect(row.expiresAt! - Date.now()).toBeLessThanOrEqual(60 * 60_000);
    const audit = await srv.call('GET', `/v1/audit?action=console.sign-in&subject=${row.id}`, { token: srv.adminToken });
    expect(audit.body.entries[0]).toMatchObject({ actor: `token:${auditor.id}`, outcome: 'success' });
    expect(JSON.stringify(audit.body)).not.toContain(session);
    const home = await http('GET', '/console', { cookie });
    expect(home.status).toBe(200);
    expect(home.text).toContain('auditor');
    expect(home.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
  });

  it('refuses a sign-in without our Origin (absent, null or another site), and a token that is not valid, audited by the API', async () => {
    for (const origin of [null, 'null', 'https://evil.example']) {
      const r = await http('POST', '/console/sign-in', { form: { token: auditor.token }, origin });
      expect(r.status, String(origin)).toBe(403);
      expect(r.headers.get('set-cookie')).toBeNull();
    }
    const bad = await http('POST', '/console/sign-in', { form: { token: `tsr_${'0'.repeat(16)}_${'A'.repeat(43)}` } });
    expect(bad.status).toBe(401);
    expect(bad.text).toContain('Not signed in');
    expect(bad.headers.get('set-cookie')).toBeNull();
    const audit = await srv.call('GET', '/v1/audit?action=auth.failure&limit=1', { token: srv.adminToken });
    expect(audit.body.entries[0]).toMatchObject({ subject: 'POST /v1/sessions', details: { reason: 'the token is not valid' } });
  });

  it('does not let a session open another session, nor a plain API token in the cookie count as one', async () => {
    const { session } = await signIn(auditor.token);
    const again = await http('POST', '/console/sign-in', { form: { token: session } });
    expect(again.status).toBe(400);
    expect((await srv.call('POST', '/v1/sessions', { token: session })).body.code).toBe('session_token');
    const plain = await http('GET', '/console', { cookie: `tessera_console=${auditor.token}` });
    expect(plain.status).toBe(303);
    expect((await srv.call('POST', '/v1/tokens', { token: srv.adminToken, body: { name: `console:${auditor.id}`, scope: 'admin' } })).body.code).toBe('token_name_reserved');
  });

  it('over TLS names the cookie __Host-tessera_console and marks it Secure', async () => {
    const res = await srv.service.app.request('https://console.test/console/sign-in', {
      method: 'POST',
      headers: { origin: 'https://console.test', host: 'console.test', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: auditor.token }).toString(),
    });
    expect(res.status).toBe(303);
    const setCookie = res.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^__Host-tessera_console=tsr_/);
    expect(setCookie).toContain('Secure');
    expect(setCookie).toContain('Path=/');
    expect(setCookie).not.toContain('Domain');
    // The plain-HTTP name is not read over TLS, nor the reverse.
    const pair = setCookie.split(';')[0]!;
    const page = await srv.service.app.request('https://console.test/console', { headers: { cookie: pair, host: 'console.test' } });
    expect(page.status).toBe(200);
    expect((await http('GET', '/console', { cookie: pair })).status).toBe(303);
  });

  it('refuses an expired session and forgets its cookie', async () => {
    const { token: expired } = await createApiToken(srv.service.ctx.store.apiTokens, { name: `console:${auditor.id}`, scope: 'auditor', expiresAt: Date.now() - 1 }, () => ({ action: 'console.sign-in', outcome: 'success', actor: 'test' }));
    const r = await http('GET', '/console', { cookie: `tessera_console=${expired}` });
    expect(r.status).toBe(303);
    expect(r.headers.get('set-cookie')).toMatch(/^tessera_console=; .*Max-Age=0/);
  });
});

describe('session lifetime', () => {
  it('reads console.sessionMinutes (default 60, TESSERA_CONSOLE_SESSION_MINUTES) and never outlives its parent token', async () => {
    expect(loadConfig({ env: {} }).console.sessionMinutes).toBe(60);
    expect(loadConfig({ env: { TESSERA_CONSOLE_SESSION_MINUTES: '15' } }).console.sessionMinutes).toBe(15);
    expect(() => loadConfig({ env: { TESSERA_CONSOLE_SESSION_MINUTES: '0' } })).toThrow(/TESSERA_CONSOLE_SESSION_MINUTES/);
    // A day-long session from a token that expires in a day ends with the token.
    const long = await startServer({ config: { ...NO_RATE_LIMITS, console: { sessionMinutes: 24 * 60 } } });
    try {
      const parent = await long.call('POST', '/v1/tokens', { token: long.adminToken, body: { name: 'short-lived', scope: 'auditor', expiresInDays: 1 } });
      const s = await long.call('POST', '/v1/sessions', { token: parent.body.token });
      expect(s.status).toBe(201);
      expect(s.body.expiresAt).toBe(parent.body.expiresAt);
      const unbounded = await long.call('POST', '/v1/sessions', { token: long.adminToken });
      expect(Date.parse(unbounded.body.expiresAt) - Date.now()).toBeGreaterThan(24 * 3_600_000 - 60_000);
    } finally {
      await stopServer(long);
    }
  });

  it('ends every session of a token when the token is revoked', async () => {
    const parent = await token('auditor', 'to-revoke');
    const a = await signIn(parent.token);
    const b = await signIn(parent.token);
    for (const s of [a, b]) expect((await http('GET', '/console', { cookie: s.cookie })).status).toBe(200);
    expect((await srv.call('DELETE', `/v1/tokens/${parent.id}`, { token: srv.adminToken })).status).toBe(200);
    for (const s of [a, b]) {
      expect((await http('GET', '/console', { cookie: s.cookie })).status).toBe(303);
      expect((await srv.call('GET', '/v1/policies', { token: s.session })).body.code).toBe('token_revoked');
      // The session rows say so too, each with its own audit entry.
      const row = (await sessionRow(s.session))!;
      expect(row.revokedAt).not.toBeNull();
      const entry = (await srv.call('GET', `/v1/audit?action=token.revoke&subject=${row.id}`, { token: srv.adminToken })).body.entries[0];
      expect(entry.details.reason).toBe(`its parent token ${parent.id} was revoked`);
    }
  });
});

describe('CSRF and Origin on state changes', () => {
  it('refuses a post without the CSRF token, with another session\'s, or without our Origin; accepts ours', async () => {
    const mine = await signIn(admin.token);
    const other = await signIn(admin.token);
    const csrf = await csrfOf(mine.cookie);
    const otherCsrf = await csrfOf(other.cookie);
    expect(csrf).not.toBe(otherCsrf);
    const attempts: [string, Parameters<typeof http>[2]][] = [
      ['no token', { cookie: mine.cookie, form: { version: '1' } }],
      ['another session\'s token', { cookie: mine.cookie, form: { version: '1', csrf: otherCsrf } }],
      ['a forged token', { cookie: mine.cookie, form: { version: '1', csrf: 'A'.repeat(43) } }],
      ['no Origin', { cookie: mine.cookie, form: { version: '1', csrf }, origin: null }],
      ['Origin null', { cookie: mine.cookie, form: { version: '1', csrf }, origin: 'null' }],
      ['another Origin', { cookie: mine.cookie, form: { version: '1', csrf }, origin: 'http://127.0.0.1:1' }],
      ['no session', { form: { version: '1', csrf } }],
    ];
    const activations = await srv.call('GET', '/v1/audit?action=policy.activate', { token: srv.adminToken });
    for (const [what, o] of attempts) {
      const r = await http('POST', '/console/policies/default/activate', o);
      expect(r.status, what).toBe(403);
      expect(r.text, what).toContain('csrf_refused');
    }
    // None of them reached the API.
    expect((await srv.call('GET', '/v1/audit?action=policy.activate', { token: srv.adminToken })).body.entries).toHaveLength(activations.body.entries.length);
    const ok = await http('POST', '/console/policies/default/activate', { cookie: mine.cookie, form: { version: '1', csrf } });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.text).toContain('Activated default v1.');
  });

  it('signs out server-side: the session token is revoked (audited) and the old cookie is refused', async () => {
    const s = await signIn(auditor.token);
    const csrf = await csrfOf(s.cookie);
    const refused = await http('POST', '/console/sign-out', { cookie: s.cookie, form: {} });
    expect(refused.status).toBe(403);
    const out = await http('POST', '/console/sign-out', { cookie: s.cookie, form: { csrf } });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/console/sign-in');
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    expect((await sessionRow(s.session))!.revokedAt).not.toBeNull();
    expect((await http('GET', '/console', { cookie: s.cookie })).status).toBe(303);
    expect((await http('POST', '/console/sign-out', { cookie: s.cookie, form: { csrf } })).status).toBe(403);
    expect((await srv.call('GET', '/v1/policies', { token: s.session })).body.code).toBe('token_revoked');
    const audit = await srv.call('GET', '/v1/audit?action=console.sign-out&limit=1', { token: srv.adminToken });
    expect(audit.body.entries[0]).toMatchObject({ details: { parent: auditor.id } });
    expect((await srv.call('DELETE', '/v1/sessions/current', { token: auditor.token })).body.code).toBe('not_a_session');
  });
});

describe('the API decides what the console may do', () => {
  it('refuses an auditor\'s activation with the API\'s insufficient_scope, and shows no activate button to an auditor', async () => {
    expect((await srv.call('PUT', '/v1/policies/second', { token: srv.adminToken, body: { description: 'second' } })).status).toBe(201);
    const s = await signIn(auditor.token);
    const page = await http('GET', '/console/policies/second', { cookie: s.cookie });
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('Activate v1');
    expect(page.text).toContain('needs an admin token');
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)![1]!;
    const r = await http('POST', '/console/policies/second/activate', { cookie: s.cookie, form: { version: '1', csrf } });
    expect(r.status).toBe(403);
    expect(r.text).toContain('insufficient_scope');
    expect((await srv.call('GET', '/v1/policies', { token: srv.adminToken })).body.active.name).toBe('default');
    const secrets = await http('GET', '/console/secrets', { cookie: s.cookie });
    expect(secrets.text).toContain('insufficient_scope');
    const adminSession = await signIn(admin.token);
    const adminPage = await http('GET', '/console/policies/second', { cookie: adminSession.cookie });
    expect(adminPage.text).toContain('Activate v1');
  });

  it('renders strings from policies as text: markup in a policy document is escaped', async () => {
    const markup = '<script>alert(1)</script>';
    expect((await srv.call('PUT', '/v1/policies/markup', { token: srv.adminToken, body: { description: markup, rules: [{ name: 'never', expr: 'false', message: markup }] } })).status).toBe(201);
    const s = await signIn(auditor.token);
    const page = await http('GET', '/console/policies/markup', { cookie: s.cookie });
    expect(page.status).toBe(200);
    expect(page.text).not.toContain(markup);
    expect(page.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('serves the assets from this process with a content hash in the URL and a year of immutable caching', async () => {
    const s = await signIn(auditor.token);
    const page = await http('GET', '/console', { cookie: s.cookie });
    const css = /href="(\/console\/assets\/[0-9a-f]{16}\/console\.css)"/.exec(page.text)![1]!;
    const js = /src="(\/console\/assets\/[0-9a-f]{16}\/console\.js)"/.exec(page.text)![1]!;
    for (const [url, type] of [
      [css, 'text/css'],
      [js, 'text/javascript'],
    ] as const) {
      const r = await http('GET', url);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toContain(type);
      expect(r.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    }
    expect((await http('GET', '/console/assets/0000000000000000/console.css')).status).toBe(404);
  });
});
