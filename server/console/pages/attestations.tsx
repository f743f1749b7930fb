// Attestations: the stored decisions, filtered and paged (GET /v1/attestations), and one
// decision explained: every check and rule with expected and found, the claims, the token
// id, and its audit entry with its hash (GET /v1/attestations/{id}).

import type { ConsoleRouter } from '../router.tsx';
import { render } from '../router.tsx';
import { inline, Json, Notice, Ok, ProblemBox, Short, Status, Time } from '../ui.tsx';

interface Summary {
  id: string;
  createdAt: string;
  tee: string;
  status: string;
  policy: { name: string; version: number; hash: string };
  claimsDigest: string | null;
  tokenJti: string | null;
  clientAddress: string | null;
}
interface Check {
  id: string;
  ok: boolean;
  detail: string;
  expected?: unknown;
  found?: unknown;
}
interface Rule extends Check {
  effect: 'deny' | 'warn';
}
interface Detail extends Summary {
  result: { verified: boolean; checks: Check[]; warnings: string[]; claims?: Record<string, unknown> };
  appraisal: { recorded: boolean; status: string; rules: Rule[] } | null;
  audit: { seq: number; at: string; action: string; outcome: string; actor: string; details: Record<string, unknown>; prevHash: string; hash: string } | null;
}

const FILTERS = ['outcome', 'tee', 'policy', 'subject', 'from', 'to'] as const;
const TEES = ['sev-snp', 'tdx', 'sgx', 'az-snp-vtpm', 'az-tdx-vtpm'];
const OUTCOMES = ['affirming', 'warning', 'contraindicated'];

/** A datetime-local value (no zone, read as UTC) as ISO-8601, or the text unchanged. */
function instant(text: string): string {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(text) ? `${text.length === 16 ? `${text}:00` : text}Z` : text;
}

export const CheckTable = ({ caption, rows }: { caption: string; rows: (Check | Rule)[] }) => (
  <table class="checks">
    <caption>{caption}</caption>
    <thead>
      <tr>
        <th scope="col">Result</th>
        <th scope="col">Id</th>
        <th scope="col">What was checked</th>
        <th scope="col">Expected</th>
        <th scope="col">Found</th>
      </tr>
    </thead>
    <tbody>
      {rows.map((r) => (
        <tr class={r.ok ? undefined : 'failed'}>
          <td>
            <Ok ok={r.ok} />
            {'effect' in r && !r.ok ? <span class="muted"> ({r.effect})</span> : null}
          </td>
          <td>
            <code>{r.id}</code>
          </td>
          <td>{r.detail}</td>
          <td>{inline(r.expected)}</td>
          <td>{inline(r.found)}</td>
        </tr>
      ))}
    </tbody>
  </table>
);

export function attestationPages(r: ConsoleRouter): void {
  r.get('/console/attestations', async (c) => {
    const q = new URLSearchParams();
    const values: Record<string, string> = {};
    for (const f of FILTERS) {
      const v = (c.req.query(f) ?? '').trim();
      values[f] = v;
      if (v) q.set(f, f === 'from' || f === 'to' ? instant(v) : v);
    }
    const cursor = c.req.query('cursor');
    const page = new URLSearchParams(q);
    if (cursor) page.set('cursor', cursor);
    page.set('limit', '25');
    const answer = await c.get('api')<{ attestations: Summary[]; nextCursor: string | null }>('GET', `/v1/attestations?${page}`);
    const next = answer.ok && answer.body.nextCursor ? new URLSearchParams({ ...values, cursor: answer.body.nextCursor }) : undefined;
    if (next) for (const f of FILTERS) if (!values[f]) next.delete(f);
    return render(
      c,
      'Attestations',
      <>
        <form method="get" action="/console/attestations" class="filters" role="search">
          <label>
            Outcome
            <select name="outcome">
              <option value="">any</option>
              {OUTCOMES.map((o) => (
                <option value={o} selected={values.outcome === o}>
                  {o}
                </option>
              ))}
            </select>
          </label>
          <label>
            TEE
            <select name="tee">
              <option value="">any</option>
              {TEES.map((t) => (
                <option value={t} selected={values.tee === t}>
                  {t}
                </option>
              ))}
            </select>
          </label>
          <label>
            Policy
            <input name="policy" value={values.policy} size={12} />
          </label>
          <label>
            Subject
            <input name="subject" value={values.subject} size={24} placeholder="id, token id, digest or measurement" />
          </label>
          <label>
            From (UTC)
            <input name="from" type="datetime-local" value={values.from} />
          </label>
          <label>
            To (UTC)
            <input name="to" type="datetime-local" value={values.to} />
          </label>
          <button type="submit">Filter</button>
          <a href="/console/attestations">Clear</a>
        </form>
        {!answer.ok ? (
          <ProblemBox problem={answer.problem} />
        ) : answer.body.attestations.length === 0 ? (
          <Notice>No attestation matches.</Notice>
        ) : (
          <table>
            <caption>Attestations, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Outcome</th>
                <th scope="col">TEE</th>
                <th scope="col">Policy</th>
                <th scope="col">Token</th>
                <th scope="col">Client</th>
              </tr>
            </thead>
            <tbody>
              {answer.body.attestations.map((a) => (
                <tr>
                  <td>
                    <a href={`/console/attestations/${a.id}`} aria-label={`Attestation ${a.id}`}>
                      <Time iso={a.createdAt} />
                    </a>
                  </td>
                  <td>
                    <Status status={a.status} />
                  </td>
                  <td>{a.tee}</td>
                  <td>{`${a.policy.name} v${a.policy.version}`}</td>
                  <td>
                    <Short value={a.tokenJti} length={8} />
                  </td>
                  <td>{a.clientAddress ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {next ? (
          <p>
            <a href={`/console/attestations?${next}`} rel="next">
              Older attestations
            </a>
          </p>
        ) : null}
      </>,
    );
  });

  r.get('/console/attestations/:id', async (c) => {
    const id = c.req.param('id');
    const answer = await c.get('api')<Detail>('GET', `/v1/attestations/${encodeURIComponent(id)}`);
    if (!answer.ok) return render(c, 'Attestation', <ProblemBox problem={answer.problem} />, answer.status === 404 ? 404 : 400);
    const a = answer.body;
    const failedRules = a.appraisal?.rules.filter((x) => !x.ok) ?? [];
    const failedChecks = a.result.checks.filter((x) => !x.ok);
    return render(
      c,
      `Attestation ${a.id.slice(0, 8)}`,
      <>
        <dl class="summary">
          <dt>Outcome</dt>
          <dd>
            <Status status={a.status} />
          </dd>
          <dt>When</dt>
          <dd>
            <Time iso={a.createdAt} />
          </dd>
          <dt>TEE</dt>
          <dd>{a.tee}</dd>
          <dt>Policy</dt>
          <dd>
            <a href={`/console/policies/${encodeURIComponent(a.policy.name)}?version=${a.policy.version}`}>{`${a.policy.name} v${a.policy.version}`}</a> <Short value={a.policy.hash} />
          </dd>
          <dt>Attestation id</dt>
          <dd>
            <code>{a.id}</code>
          </dd>
          <dt>Token id (jti)</dt>
          <dd>{a.tokenJti ? <code>{a.tokenJti}</code> : <span class="muted">none: no token was issued</span>}</dd>
          <dt>Claims digest</dt>
          <dd>
            <Short value={a.claimsDigest} length={64} />
          </dd>
          <dt>Client address</dt>
          <dd>{a.clientAddress ?? '—'}</dd>
        </dl>
        <p>
          <a href={`/console/policies?attestation=${encodeURIComponent(a.id)}#h-evaluate`}>Evaluate a draft policy on this attestation</a>
        </p>
        {a.status === 'contraindicated' ? (
          <section aria-labelledby="h-why" class="why">
            <h2 id="h-why">Why it was denied</h2>
            {failedChecks.length === 0 && failedRules.length === 0 ? <p>No failed check or rule was recorded.</p> : null}
            <ul>
              {failedChecks.map((x) => (
                <li>
                  Check <code>{x.id}</code>: {x.detail} Expected {inline(x.expected)}, found {inline(x.found)}.
                </li>
              ))}
              {failedRules.map((x) => (
                <li>
                  Rule <code>{x.id}</code> ({x.effect}): {x.detail} Expected {inline(x.expected)}, found {inline(x.found)}.
                </li>
              ))}
            </ul>
          </section>
        ) : null}
        <section aria-labelledby="h-rules">
          <h2 id="h-rules">Policy rules</h2>
          {a.appraisal ? (
            <>
              {a.appraisal.recorded ? null : <Notice>Decided before rules were stored: re-evaluated now under the same policy version and today's reference values.</Notice>}
              <CheckTable caption={`${a.appraisal.rules.length} rules, policy status ${a.appraisal.status}`} rows={a.appraisal.rules} />
            </>
          ) : (
            <Notice>The rules of this decision were not stored and its policy version is no longer the same document.</Notice>
          )}
        </section>
        <section aria-labelledby="h-checks">
          <h2 id="h-checks">Verification checks</h2>
          <CheckTable caption={`${a.result.checks.length} checks, evidence ${a.result.verified ? 'verified' : 'not verified'}`} rows={a.result.checks} />
          {a.result.warnings.length ? (
            <ul class="warnings">
              {a.result.warnings.map((w) => (
                <li>{w}</li>
              ))}
            </ul>
          ) : null}
        </section>
        <section aria-labelledby="h-claims">
          <h2 id="h-claims">Claims</h2>
          {a.result.claims ? <Json value={a.result.claims} /> : <Notice>No claims: the evidence did not parse far enough.</Notice>}
        </section>
        <section aria-labelledby="h-audit">
          <h2 id="h-audit">Audit entry</h2>
          {a.audit ? (
            <dl class="summary">
              <dt>Sequence</dt>
              <dd>
                <a href={`/console/audit?subject=${encodeURIComponent(a.id)}`}>{a.audit.seq}</a>
              </dd>
              <dt>Hash</dt>
              <dd>
                <code>{a.audit.hash}</code>
              </dd>
              <dt>Previous hash</dt>
              <dd>
                <code>{a.audit.prevHash}</code>
              </dd>
              <dt>Details</dt>
              <dd>
                <Json value={a.audit.details} />
              </dd>
            </dl>
          ) : (
            <Notice>No audit entry found for this attestation.</Notice>
          )}
        </section>
      </>,
    );
  });
}
