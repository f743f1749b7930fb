// Secrets and tokens: secret names, versions, release counts and the last release (never a
// value: the API has none to give), and the API tokens with revocation. Both lists are
// admin-only in the API, so an auditor's session sees the API's refusal.

import type { ConsoleContext, ConsoleRouter } from '../router.tsx';
import { render } from '../router.tsx';
import { Csrf, Notice, ProblemBox, Time } from '../ui.tsx';

interface SecretList {
  secrets: {
    name: string;
    latestVersion: number;
    versions: { version: number; createdAt: string; createdBy: string; size: number; acceptStatuses: string[]; releasePolicy: string | null; description: string | null }[];
    releases: { count: number; lastAt: string | null };
  }[];
}
interface TokenList {
  tokens: { id: string; name: string; scope: string; createdAt: string; revokedAt: string | null; expiresAt: string | null }[];
}

async function view(c: ConsoleContext, extra?: unknown, status: 200 | 403 | 404 = 200) {
  const api = c.get('api');
  const page = c.get('page');
  const [secrets, tokens] = await Promise.all([api<SecretList>('GET', '/v1/secrets'), api<TokenList>('GET', '/v1/tokens')]);
  const now = Date.now();
  return render(
    c,
    'Secrets and tokens',
    <>
      {extra ?? null}
      <section aria-labelledby="h-secrets">
        <h2 id="h-secrets">Secrets</h2>
        {!secrets.ok ? (
          <ProblemBox problem={secrets.problem} />
        ) : secrets.body.secrets.length === 0 ? (
          <Notice>No secrets.</Notice>
        ) : (
          <table>
            <caption>Secrets (values are never shown: the API does not return them)</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Live versions</th>
                <th scope="col">Latest</th>
                <th scope="col">Released</th>
                <th scope="col">Last release</th>
                <th scope="col">Gates of the latest</th>
              </tr>
            </thead>
            <tbody>
              {secrets.body.secrets.map((s) => {
                const latest = s.versions.at(-1);
                return (
                  <tr>
                    <td>
                      <code>{s.name}</code>
                      {latest?.description ? <div class="muted">{latest.description}</div> : null}
                    </td>
                    <td>{s.versions.map((v) => `v${v.version}`).join(', ')}</td>
                    <td>{latest ? <>{`v${latest.version}, ${latest.size} bytes, `}<Time iso={latest.createdAt} /></> : '—'}</td>
                    <td class="num">{s.releases.count}</td>
                    <td>
                      <Time iso={s.releases.lastAt} />
                    </td>
                    <td>
                      {latest ? (
                        <>
                          {`status ${latest.acceptStatuses.join(' or ')}`}
                          {latest.releasePolicy ? (
                            <div>
                              <code>{latest.releasePolicy}</code>
                            </div>
                          ) : null}
                        </>
                      ) : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>
      <section aria-labelledby="h-tokens">
        <h2 id="h-tokens">API tokens</h2>
        {!tokens.ok ? (
          <ProblemBox problem={tokens.problem} />
        ) : (
          <table>
            <caption>API tokens and console sessions (console:&lt;parent id&gt;), newest first; never their secrets</caption>
            <thead>
              <tr>
                <th scope="col">Id</th>
                <th scope="col">Name</th>
                <th scope="col">Scope</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {tokens.body.tokens.map((t) => {
                const expired = t.expiresAt !== null && Date.parse(t.expiresAt) <= now;
                return (
                  <tr>
                    <td>
                      <code>{t.id}</code>
                    </td>
                    <td>{t.name}</td>
                    <td>{t.scope}</td>
                    <td>
                      <Time iso={t.createdAt} />
                    </td>
                    <td>{t.expiresAt ? <Time iso={t.expiresAt} /> : 'never'}</td>
                    <td>
                      {t.revokedAt ? (
                        <>
                          revoked <Time iso={t.revokedAt} />
                        </>
                      ) : expired ? (
                        'expired'
                      ) : (
                        <form method="post" action={`/console/tokens/${t.id}/revoke`} class="inline" data-confirm={`Revoke token ${t.id} (${t.name})? Whoever holds it loses access at once, and so do console sessions opened with it.`}>
                          <Csrf token={page.csrf} />
                          <button type="submit" aria-label={`Revoke token ${t.id}`}>
                            Revoke
                          </button>
                        </form>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>
    </>,
    status,
  );
}

export function secretPages(r: ConsoleRouter): void {
  r.get('/console/secrets', (c) => view(c));
  r.post('/console/tokens/:id/revoke', async (c) => {
    const id = c.req.param('id');
    const answer = await c.get('api')<{ id: string; name: string }>('DELETE', `/v1/tokens/${encodeURIComponent(id)}`);
    if (!answer.ok) return view(c, <ProblemBox problem={answer.problem} action="Revocation" />, answer.status === 403 ? 403 : 404);
    return view(c, <Notice>{`Revoked token ${answer.body.id} (${answer.body.name}).`}</Notice>);
  });
}
