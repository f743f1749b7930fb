// The page shell and the small pieces every console page uses. Everything is server-rendered
// hono/jsx: every value interpolated in JSX is escaped, so a claim, policy text or audit
// detail holding markup shows as those characters. The only unescaped text on a page is the
// constant doctype below; no data ever goes through raw().

import type { Child, FC, PropsWithChildren } from 'hono/jsx';
import { raw } from 'hono/html';
import type { Scope } from '../auth/api-tokens.ts';
import type { Problem } from './api.ts';
import { assetUrl } from './assets.ts';

export interface PageContext {
  scope: Scope;
  csrf: string;
  /** When the session ends (ms). */
  expiresAt: number;
  /** The current path, for the navigation's aria-current. */
  path: string;
}

const NAV: [string, string][] = [
  ['/console', 'Overview'],
  ['/console/attestations', 'Attestations'],
  ['/console/fleet', 'Fleet'],
  ['/console/what-if', 'What-if'],
  ['/console/policies', 'Policies'],
  ['/console/audit', 'Audit'],
  ['/console/secrets', 'Secrets and tokens'],
];

function current(path: string, href: string): boolean {
  return href === '/console' ? path === '/console' || path === '/console/' : path === href || path.startsWith(`${href}/`);
}

/** The hidden CSRF field of every state-changing form (server/console/session.ts). */
export const Csrf: FC<{ token: string }> = ({ token }) => <input type="hidden" name="csrf" value={token} />;

export const Page: FC<PropsWithChildren<{ title: string; page?: PageContext }>> = ({ title, page, children }) => (
  <>
    {raw('<!doctype html>')}
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · tessera console`}</title>
        <link rel="stylesheet" href={assetUrl('console.css')} />
        <script src={assetUrl('console.js')} defer></script>
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <span class="brand">tessera</span>
          {page ? (
            <>
              <nav aria-label="Console">
                <ul>
                  {NAV.map(([href, label]) => (
                    <li>
                      <a href={href} aria-current={current(page.path, href) ? 'page' : undefined}>
                        {label}
                      </a>
                    </li>
                  ))}
                </ul>
              </nav>
              <form method="post" action="/console/sign-out" class="signout">
                <span class="who">
                  {page.scope} · until <Time ms={page.expiresAt} />
                </span>
                <Csrf token={page.csrf} />
                <button type="submit">Sign out</button>
              </form>
            </>
          ) : null}
        </header>
        <main id="main" tabindex={-1}>
          <h1>{title}</h1>
          {children}
        </main>
      </body>
    </html>
  </>
);

/** An instant as UTC text; console.js rewrites it in the reader's time zone. */
export const Time: FC<{ ms?: number | null; iso?: string | null }> = ({ ms, iso }) => {
  const t = iso ? Date.parse(iso) : ms;
  if (t === undefined || t === null || Number.isNaN(t)) return <span class="muted">—</span>;
  const text = new Date(t).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
  return <time datetime={new Date(t).toISOString()}>{text}</time>;
};

/** A refusal or error from the API, as the API phrased it. */
export const ProblemBox: FC<{ problem: Problem; action?: string }> = ({ problem, action }) => (
  <div class="problem" role="alert">
    <strong>{action ? `${action}: ` : ''}refused by the API</strong> ({problem.status} <code>{problem.code}</code>)<p>{problem.detail}</p>
  </div>
);

export const Notice: FC<PropsWithChildren> = ({ children }) => (
  <div class="notice" role="status">
    {children}
  </div>
);

/** Any JSON value, pretty-printed as text. */
export const Json: FC<{ value: unknown }> = ({ value }) => <pre class="json">{value === undefined ? '' : JSON.stringify(value, null, 2)}</pre>;

/** A short inline rendering of a value (expected / found columns). */
export function inline(value: unknown): Child {
  if (value === undefined) return <span class="muted">—</span>;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return <code class="value">{text}</code>;
}

export const Status: FC<{ status: string }> = ({ status }) => <span class={`status status-${status === 'affirming' || status === 'warning' || status === 'contraindicated' ? status : 'other'}`}>{status}</span>;

export const Ok: FC<{ ok: boolean }> = ({ ok }) => <span class={ok ? 'pass' : 'fail'}>{ok ? 'pass' : 'FAIL'}</span>;

/** A short prefix of a long identifier, the whole one in the title. */
export const Short: FC<{ value: string | null | undefined; length?: number }> = ({ value, length = 12 }) =>
  value ? (
    <code title={value}>
      {value.length > length ? `${value.slice(0, length)}…` : value}
    </code>
  ) : (
    <span class="muted">—</span>
  );
