// The operator console at /console, served by the service itself: sign-in and sign-out, the
// session and CSRF gates, the security headers, the assets, and the pages (pages/*.tsx).
// Each page reads and acts only through the HTTP API, in-process, with the session's token
// (api.ts): the console adds no authorization of its own.

import { Hono, type Context, type MiddlewareHandler } from 'hono';
import type { Child } from 'hono/jsx';
import type { ServiceContext } from '../context.ts';
import type { AppEnv } from '../http.ts';
import { apiClient, type Api, type Fetcher } from './api.ts';
import { assets } from './assets.ts';
import { csrfToken, csrfValid, currentSession, originValid, overTls, sessionCookie, type Session } from './session.ts';
import { Page, ProblemBox, type PageContext } from './ui.tsx';
import { overviewPage } from './pages/overview.tsx';
import { attestationPages } from './pages/attestations.tsx';
import { policyPages } from './pages/policies.tsx';
import { auditPages } from './pages/audit.tsx';
import { secretPages } from './pages/secrets.tsx';
import { whatIfPages } from './pages/what-if.tsx';
import { fleetPages } from './pages/fleet.tsx';

export interface ConsoleEnv {
  Variables: AppEnv['Variables'] & { session: Session; api: Api; page: PageContext };
}

export type ConsoleRouter = Hono<ConsoleEnv>;
export type ConsoleContext = Context<ConsoleEnv>;

/**
 * `default-src 'self'` and nothing inline: no script or style attribute or element on any
 * page (console.js and console.css are files). The rest closes what default-src leaves open:
 * <base>, plugins, framing, and forms posting elsewhere.
 */
export const CONSOLE_CSP = "default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; form-action 'self'";

const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  c.header('content-security-policy', CONSOLE_CSP);
  c.header('x-content-type-options', 'nosniff');
  c.header('x-frame-options', 'DENY');
  c.header('cross-origin-opener-policy', 'same-origin');
  // Not no-referrer: with it Chromium sends `Origin: null` on same-origin form posts, which
  // the Origin check must refuse. same-origin still sends nothing to other sites.
  c.header('referrer-policy', 'same-origin');
  if (!c.res.headers.has('cache-control')) c.header('cache-control', 'no-store');
};

/** Render a page (or a bare page without navigation, for sign-in and refusals). */
export function render(c: Context<ConsoleEnv> | Context<AppEnv>, title: string, body: Child, status: 200 | 400 | 401 | 403 | 404 | 409 | 422 | 429 | 500 | 503 = 200) {
  const page = (c as Context<ConsoleEnv>).get('page') as PageContext | undefined;
  return c.html(
    <Page title={title} {...(page ? { page } : {})}>
      {body}
    </Page>,
    status,
  );
}

/** Refusal of a state change that did not come from one of our forms (or whose session ended). */
function refused(c: Context<AppEnv> | Context<ConsoleEnv>, why: string) {
  return render(
    c,
    'Refused',
    <>
      <ProblemBox problem={{ status: 403, code: 'csrf_refused', detail: why }} />
      <p>
        <a href="/console">Back to the console</a>
      </p>
    </>,
    403,
  );
}

/** A form field as one string ('' when absent or repeated as a file). */
export function field(form: Record<string, unknown>, name: string): string {
  const v = form[name];
  return typeof v === 'string' ? v : '';
}

const SignIn = ({ error }: { error?: string | undefined }) => (
  <form method="post" action="/console/sign-in" class="card signin">
    <p>Sign in with an API token. An auditor token sees everything the API shows auditors; an admin token may also act. The token is exchanged for a session and not kept by the browser.</p>
    {error ? (
      <div class="problem" role="alert">
        {error}
      </div>
    ) : null}
    <label for="token">API token</label>
    <input id="token" name="token" type="password" autocomplete="off" required spellcheck={false} />
    <button type="submit">Sign in</button>
  </form>
);

export function consoleRoutes(ctx: ServiceContext, fetcher: Fetcher): Hono<AppEnv> {
  const open = new Hono<AppEnv>();
  open.use('/console', securityHeaders);
  open.use('/console/*', securityHeaders);

  open.get('/console/assets/:hash/:name', (c) => {
    const a = assets().get(c.req.param('name'));
    if (!a || a.url !== c.req.path) return c.text('Not found', 404);
    c.header('content-type', a.type);
    c.header('cache-control', 'public, max-age=31536000, immutable');
    return c.body(a.body as Uint8Array<ArrayBuffer>);
  });

  open.get('/console/', (c) => c.redirect('/console', 301));

  open.get('/console/sign-in', async (c) => {
    if (await currentSession(ctx, c)) return c.redirect('/console', 303);
    return render(c, 'Sign in', <SignIn />);
  });

  open.post('/console/sign-in', async (c) => {
    if (!originValid(ctx, c)) return refused(c, 'This sign-in did not come from this console (the Origin header is missing or names another origin).');
    const form = await c.req.parseBody();
    const token = field(form, 'token').trim();
    if (!token) return render(c, 'Sign in', <SignIn error="Enter an API token." />, 400);
    const answer = await apiClient(fetcher, c, token)<{ token: string; expiresAt: string }>('POST', '/v1/sessions');
    if (!answer.ok) return render(c, 'Sign in', <SignIn error={`Not signed in: ${answer.problem.detail}`} />, answer.problem.status === 429 ? 429 : answer.problem.status === 400 ? 400 : 401);
    const tls = overTls(ctx, c);
    c.header('set-cookie', sessionCookie(tls, answer.body.token, (Date.parse(answer.body.expiresAt) - Date.now()) / 1000));
    return c.redirect('/console', 303);
  });

  // Everything below needs a live session.
  const gated = new Hono<ConsoleEnv>();
  // Only the console's paths: this router is mounted at / beside the API.
  const gate: MiddlewareHandler<ConsoleEnv> = async (c, next) => {
    const session = await currentSession(ctx, c as unknown as Context<AppEnv>);
    const tls = overTls(ctx, c as unknown as Context<AppEnv>);
    if (!session) {
      // Whatever the cookie held, it is not a session now: forget it.
      c.header('set-cookie', sessionCookie(tls, '', 0));
      if (c.req.method === 'GET' || c.req.method === 'HEAD') return c.redirect('/console/sign-in', 303);
      return refused(c, 'There is no live console session (it ended, expired, or its token was revoked): sign in again.');
    }
    const csrf = csrfToken(ctx, session.token);
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      if (!originValid(ctx, c as unknown as Context<AppEnv>)) return refused(c, 'This request did not come from this console (the Origin header is missing or names another origin).');
      const form = await c.req.parseBody();
      if (!csrfValid(ctx, session.token, form.csrf)) return refused(c, 'This form is not one this console made for this session (the CSRF token is missing or wrong). Reload the page and try again.');
    }
    c.set('session', session);
    c.set('api', apiClient(fetcher, c as unknown as Context<AppEnv>, session.token));
    c.set('page', { scope: session.scope, csrf, expiresAt: session.expiresAt, path: c.req.path });
    await next();
  };
  gated.use('/console', gate);
  gated.use('/console/*', gate);

  gated.post('/console/sign-out', async (c) => {
    const answer = await c.get('api')('DELETE', '/v1/sessions/current');
    c.header('set-cookie', sessionCookie(overTls(ctx, c as unknown as Context<AppEnv>), '', 0));
    if (!answer.ok) return render(c, 'Sign out', <ProblemBox problem={answer.problem} action="Sign out" />, 503);
    return c.redirect('/console/sign-in', 303);
  });

  overviewPage(gated);
  attestationPages(gated);
  fleetPages(gated);
  whatIfPages(gated);
  policyPages(gated);
  auditPages(gated);
  secretPages(gated);

  open.route('/', gated as unknown as Hono<AppEnv>);
  return open;
}
