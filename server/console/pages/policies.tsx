// Policies: every policy and its versions, the document of one version, the line diff
// between two versions (jsdiff), which version is active, activation (the API refuses it to
// auditors), and a draft evaluated on a stored attestation (POST /v1/attestations/{id}/evaluate).

import { diffLines } from 'diff';
import type { ConsoleContext, ConsoleRouter } from '../router.tsx';
import { field, render } from '../router.tsx';
import { Csrf, Notice, ProblemBox, Short, Status, Time } from '../ui.tsx';
import { CheckTable } from './attestations.tsx';

interface PolicyList {
  active: { name: string; version: number; hash: string } | null;
  policies: { name: string; latestVersion: number; activeVersion: number | null }[];
}
interface VersionInfo {
  name: string;
  version: number;
  hash: string;
  format: string;
  createdAt: string;
  createdBy: string;
  active: boolean;
}
interface PolicyDoc extends VersionInfo {
  source: string;
  policy: Record<string, unknown>;
  versions: VersionInfo[];
}
interface Evaluated {
  attestation: { id: string; status: string; policy: { name: string; version: number } };
  policy: { name: string | null; version: number | null; hash: string };
  decision: { status: string; rules: { id: string; ok: boolean; effect: 'deny' | 'warn'; detail: string; expected?: unknown; found?: unknown }[] };
}

const path = (name: string) => `/console/policies/${encodeURIComponent(name)}`;

async function policyView(c: ConsoleContext, name: string, version: string | undefined, extra?: unknown, status: 200 | 400 | 403 | 404 | 422 = 200) {
  const api = c.get('api');
  const page = c.get('page');
  const answer = await api<PolicyDoc>('GET', `/v1/policies/${encodeURIComponent(name)}${version ? `?version=${encodeURIComponent(version)}` : ''}`);
  if (!answer.ok) return render(c, `Policy ${name}`, <ProblemBox problem={answer.problem} />, answer.status === 404 ? 404 : 400);
  const d = answer.body;
  const admin = page.scope === 'admin';
  return render(
    c,
    `Policy ${d.name}`,
    <>
      {extra ?? null}
      <dl class="summary">
        <dt>Version shown</dt>
        <dd>
          {d.version} of {d.versions.length} {d.active ? <span class="status status-affirming">active</span> : null}
        </dd>
        <dt>Hash</dt>
        <dd>
          <Short value={d.hash} length={64} />
        </dd>
        <dt>Uploaded</dt>
        <dd>
          <Time iso={d.createdAt} /> by <code>{d.createdBy}</code>
        </dd>
        {typeof d.policy.description === 'string' ? (
          <>
            <dt>Description</dt>
            <dd>{d.policy.description}</dd>
          </>
        ) : null}
      </dl>
      <section aria-labelledby="h-versions">
        <h2 id="h-versions">Versions</h2>
        {admin ? null : <p class="muted">Activating a version needs an admin token: this session is an auditor's.</p>}
        <table>
          <caption>Versions of {d.name}, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Uploaded</th>
              <th scope="col">By</th>
              <th scope="col">Hash</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {d.versions.map((v) => (
              <tr>
                <td>
                  <a href={`${path(d.name)}?version=${v.version}`} aria-current={v.version === d.version ? 'true' : undefined}>{`v${v.version}`}</a>
                </td>
                <td>
                  <Time iso={v.createdAt} />
                </td>
                <td>
                  <code>{v.createdBy}</code>
                </td>
                <td>
                  <Short value={v.hash} />
                </td>
                <td>
                  {v.active ? (
                    <span class="status status-affirming">active</span>
                  ) : admin ? (
                    <form method="post" action={`${path(d.name)}/activate`} class="inline" data-confirm={`Activate ${d.name} v${v.version}? Every attestation from now on is appraised under it.`}>
                      <Csrf token={page.csrf} />
                      <input type="hidden" name="version" value={String(v.version)} />
                      <button type="submit">{`Activate v${v.version}`}</button>
                    </form>
                  ) : (
                    <span class="muted">inactive</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {d.versions.length > 1 ? (
          <form method="get" action={`${path(d.name)}/diff`} class="filters">
            <label>
              Diff from
              <select name="from">
                {d.versions.map((v) => (
                  <option value={String(v.version)} selected={v.version === Math.max(1, d.version - 1)}>{`v${v.version}`}</option>
                ))}
              </select>
            </label>
            <label>
              to
              <select name="to">
                {d.versions.map((v) => (
                  <option value={String(v.version)} selected={v.version === d.version}>{`v${v.version}`}</option>
                ))}
              </select>
            </label>
            <button type="submit">Show diff</button>
          </form>
        ) : null}
      </section>
      <section aria-labelledby="h-source">
        <h2 id="h-source">{`Document (v${d.version}, ${d.format})`}</h2>
        <pre class="source">{d.source}</pre>
      </section>
    </>,
    status,
  );
}

const EvaluateForm = ({ csrf, draft, attestation }: { csrf: string; draft?: string; attestation?: string }) => (
  <form method="post" action="/console/policies/evaluate" class="card">
    <Csrf token={csrf} />
    <p>Evaluate a draft policy (YAML or JSON) on a stored attestation's verified result, with today's reference values. Nothing is stored or issued.</p>
    <label for="attestation">Attestation id</label>
    <input id="attestation" name="attestation" value={attestation ?? ''} size={40} required />
    <label for="draft">Draft policy</label>
    <textarea id="draft" name="draft" rows={10} cols={80} required spellcheck={false}>
      {draft ?? ''}
    </textarea>
    <button type="submit">Evaluate</button>
  </form>
);

export function policyPages(r: ConsoleRouter): void {
  r.get('/console/policies', async (c) => {
    const answer = await c.get('api')<PolicyList>('GET', '/v1/policies');
    const page = c.get('page');
    return render(
      c,
      'Policies',
      <>
        {!answer.ok ? (
          <ProblemBox problem={answer.problem} />
        ) : (
          <>
            <p>
              Active:{' '}
              {answer.body.active ? (
                <a href={`${path(answer.body.active.name)}?version=${answer.body.active.version}`}>{`${answer.body.active.name} v${answer.body.active.version}`}</a>
              ) : (
                'none'
              )}
            </p>
            <table>
              <caption>Appraisal policies</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Latest version</th>
                  <th scope="col">Active version</th>
                </tr>
              </thead>
              <tbody>
                {answer.body.policies.map((p) => (
                  <tr>
                    <td>
                      <a href={path(p.name)}>{p.name}</a>
                    </td>
                    <td class="num">{p.latestVersion}</td>
                    <td class="num">{p.activeVersion ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
        <section aria-labelledby="h-evaluate">
          <h2 id="h-evaluate">Evaluate a draft</h2>
          <EvaluateForm csrf={page.csrf} attestation={c.req.query('attestation') ?? ''} />
        </section>
      </>,
    );
  });

  r.post('/console/policies/evaluate', async (c) => {
    const form = await c.req.parseBody();
    const id = field(form, 'attestation').trim().toLowerCase();
    const draft = field(form, 'draft');
    const answer = await c.get('api')<Evaluated>('POST', `/v1/attestations/${encodeURIComponent(id)}/evaluate`, { policy: { draft } });
    const page = c.get('page');
    return render(
      c,
      'Evaluate a draft',
      <>
        {!answer.ok ? (
          <ProblemBox problem={answer.problem} action="Evaluation" />
        ) : (
          <section aria-labelledby="h-decision">
            <h2 id="h-decision">Decision</h2>
            <p>
              Under the draft{answer.body.policy.name ? ` (${answer.body.policy.name})` : ''} this attestation would be <Status status={answer.body.decision.status} />; it was{' '}
              <Status status={answer.body.attestation.status} /> under {`${answer.body.attestation.policy.name} v${answer.body.attestation.policy.version}`}.{' '}
              <a href={`/console/attestations/${answer.body.attestation.id}`}>See the attestation</a>
            </p>
            <CheckTable caption="Rules of the draft" rows={answer.body.decision.rules} />
          </section>
        )}
        <EvaluateForm csrf={page.csrf} draft={draft} attestation={id} />
      </>,
      answer.ok ? 200 : answer.status === 404 ? 404 : answer.status === 422 ? 422 : 400,
    );
  });

  r.get('/console/policies/:name', (c) => policyView(c, c.req.param('name'), c.req.query('version')));

  r.get('/console/policies/:name/diff', async (c) => {
    const name = c.req.param('name');
    const api = c.get('api');
    const [from, to] = await Promise.all([
      api<PolicyDoc>('GET', `/v1/policies/${encodeURIComponent(name)}?version=${encodeURIComponent(c.req.query('from') ?? '')}`),
      api<PolicyDoc>('GET', `/v1/policies/${encodeURIComponent(name)}?version=${encodeURIComponent(c.req.query('to') ?? '')}`),
    ]);
    if (!from.ok) return render(c, `Diff of ${name}`, <ProblemBox problem={from.problem} />, 400);
    if (!to.ok) return render(c, `Diff of ${name}`, <ProblemBox problem={to.problem} />, 400);
    const parts = diffLines(from.body.source, to.body.source);
    const changed = parts.some((p) => p.added || p.removed);
    return render(
      c,
      `Policy ${name}: v${from.body.version} → v${to.body.version}`,
      <>
        <p>
          <a href={path(name)}>Back to {name}</a>
        </p>
        {changed ? null : <Notice>The two versions' documents are identical.</Notice>}
        <pre class="diff" aria-label="Line diff: lines starting with + were added, - removed">
          {parts.flatMap((p) =>
            p.value
              .replace(/\n$/, '')
              .split('\n')
              .map((line) => <span class={p.added ? 'add' : p.removed ? 'del' : 'same'}>{`${p.added ? '+' : p.removed ? '-' : ' '} ${line}\n`}</span>),
          )}
        </pre>
      </>,
    );
  });

  r.post('/console/policies/:name/activate', async (c) => {
    const name = c.req.param('name');
    const form = await c.req.parseBody();
    const version = Number(field(form, 'version'));
    const answer = await c.get('api')<VersionInfo>('POST', `/v1/policies/${encodeURIComponent(name)}/activate`, Number.isInteger(version) && version > 0 ? { version } : {});
    if (!answer.ok) return policyView(c, name, undefined, <ProblemBox problem={answer.problem} action="Activation" />, answer.status === 403 ? 403 : answer.status === 404 ? 404 : 400);
    return policyView(c, name, String(answer.body.version), <Notice>{`Activated ${answer.body.name} v${answer.body.version}.`}</Notice>);
  });
}

