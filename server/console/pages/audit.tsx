// Audit: whether the hash chain verifies (GET /v1/audit/verify), the signed head to keep
// elsewhere (GET /v1/audit/head, downloaded), the entries by filter and page, and a range
// exported as JSON Lines, oldest first, each line one entry exactly as the API returns it.

import type { AuditEntry as Entry } from '../../audit/log.ts';
import type { ConsoleRouter } from '../router.tsx';
import { render } from '../router.tsx';
import { Notice, ProblemBox, Short, Time } from '../ui.tsx';

interface Chain {
  ok: boolean;
  checked: number;
  head?: { seq: number; hash: string };
  firstBroken?: { seq: number; reason: string; detail: string };
}

const FILTERS = ['action', 'outcome', 'tee', 'subject', 'from', 'to'] as const;
/** Entries one export holds at most: bounded work per request (a bigger range is several exports). */
export const EXPORT_LIMIT = 100_000;

function instant(text: string): string {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(text) ? `${text.length === 16 ? `${text}:00` : text}Z` : text;
}

function filtersOf(query: (k: string) => string | undefined): { values: Record<string, string>; api: URLSearchParams } {
  const values: Record<string, string> = {};
  const api = new URLSearchParams();
  for (const f of FILTERS) {
    const v = (query(f) ?? '').trim();
    values[f] = v;
    if (v) api.set(f, f === 'from' || f === 'to' ? instant(v) : v);
  }
  return { values, api };
}

export function auditPages(r: ConsoleRouter): void {
  r.get('/console/audit', async (c) => {
    const api = c.get('api');
    const { values, api: q } = filtersOf((k) => c.req.query(k));
    const page = new URLSearchParams(q);
    page.set('limit', '50');
    const cursor = c.req.query('cursor');
    if (cursor) page.set('cursor', cursor);
    const [chain, entries] = await Promise.all([api<Chain>('GET', '/v1/audit/verify'), api<{ entries: Entry[]; nextCursor: string | null }>('GET', `/v1/audit?${page}`)]);
    const keep = new URLSearchParams(Object.entries(values).filter(([, v]) => v));
    const next = entries.ok && entries.body.nextCursor ? new URLSearchParams([...keep, ['cursor', entries.body.nextCursor]]) : undefined;
    return render(
      c,
      'Audit log',
      <>
        <section aria-labelledby="h-chain" class="card">
          <h2 id="h-chain">Hash chain</h2>
          {!chain.ok ? (
            <ProblemBox problem={chain.problem} />
          ) : chain.body.ok ? (
            <p>
              <span class="pass">Verified</span>: {chain.body.checked} entries from the genesis, each hash recomputed.{' '}
              {chain.body.head ? (
                <>
                  Head: entry {chain.body.head.seq}, <Short value={chain.body.head.hash} length={16} />.
                </>
              ) : null}
            </p>
          ) : (
            <p class="fail" role="alert">
              {`BROKEN at entry ${chain.body.firstBroken?.seq}: ${chain.body.firstBroken?.reason}. ${chain.body.firstBroken?.detail ?? ''}`}
            </p>
          )}
          <p>
            <a href="/console/audit/head.json" download>
              Download the signed head
            </a>{' '}
            (a JWS over the newest entry: keep it elsewhere; <code>tessera audit verify --head FILE</code> later proves the log was not cut short).
          </p>
        </section>
        <form method="get" action="/console/audit" class="filters" role="search">
          <label>
            Action
            <input name="action" value={values.action} size={14} placeholder="e.g. attestation" />
          </label>
          <label>
            Outcome
            <input name="outcome" value={values.outcome} size={12} />
          </label>
          <label>
            TEE
            <input name="tee" value={values.tee} size={8} />
          </label>
          <label>
            Subject
            <input name="subject" value={values.subject} size={20} />
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
          <a href="/console/audit">Clear</a>
        </form>
        <p>
          <a href={`/console/audit/export.jsonl${keep.size ? `?${keep}` : ''}`} download>
            Export these entries as JSON Lines
          </a>{' '}
          (oldest first, at most {EXPORT_LIMIT.toLocaleString('en')}).
        </p>
        {!entries.ok ? (
          <ProblemBox problem={entries.problem} />
        ) : entries.body.entries.length === 0 ? (
          <Notice>No entry matches.</Notice>
        ) : (
          <table class="audit">
            <caption>Entries, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Seq</th>
                <th scope="col">When</th>
                <th scope="col">Action</th>
                <th scope="col">Outcome</th>
                <th scope="col">Actor</th>
                <th scope="col">Subject</th>
                <th scope="col">Details</th>
                <th scope="col">Hash</th>
              </tr>
            </thead>
            <tbody>
              {entries.body.entries.map((e) => (
                <tr>
                  <td class="num">{e.seq}</td>
                  <td>
                    <Time iso={e.at} />
                  </td>
                  <td>
                    <code>{e.action}</code>
                  </td>
                  <td>{e.outcome}</td>
                  <td>
                    <code>{e.actor}</code>
                  </td>
                  <td>
                    {e.action === 'attestation' && e.subject ? (
                      <a href={`/console/attestations/${encodeURIComponent(e.subject)}`}>
                        <Short value={e.subject} length={8} />
                      </a>
                    ) : (
                      <span class="wrap">{e.subject ?? ''}</span>
                    )}
                  </td>
                  <td>
                    <code class="details">{JSON.stringify(e.details)}</code>
                  </td>
                  <td>
                    <Short value={e.hash} length={10} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {next ? (
          <p>
            <a href={`/console/audit?${next}`} rel="next">
              Older entries
            </a>
          </p>
        ) : null}
      </>,
    );
  });

  r.get('/console/audit/head.json', async (c) => {
    const answer = await c.get('api')<{ seq: number }>('GET', '/v1/audit/head');
    if (!answer.ok) return render(c, 'Signed audit head', <ProblemBox problem={answer.problem} />, 503);
    c.header('content-disposition', `attachment; filename="tessera-audit-head-${answer.body.seq}.json"`);
    return c.json(answer.body);
  });

  r.get('/console/audit/export.jsonl', async (c) => {
    const api = c.get('api');
    const { api: q } = filtersOf((k) => c.req.query(k));
    // The API pages newest first; the export is the range oldest first, as the chain reads.
    const pages: Entry[][] = [];
    let count = 0;
    let cursor: string | null = null;
    do {
      const page = new URLSearchParams(q);
      page.set('limit', '500');
      if (cursor) page.set('cursor', cursor);
      const answer = await api<{ entries: Entry[]; nextCursor: string | null }>('GET', `/v1/audit?${page}`);
      if (!answer.ok) return render(c, 'Audit export', <ProblemBox problem={answer.problem} />, answer.status === 400 ? 400 : 503);
      pages.push(answer.body.entries);
      count += answer.body.entries.length;
      cursor = answer.body.nextCursor;
    } while (cursor && count < EXPORT_LIMIT);
    const lines = pages
      .flat()
      .slice(0, EXPORT_LIMIT)
      .reverse()
      .map((e) => `${JSON.stringify(e)}\n`)
      .join('');
    c.header('content-type', 'application/jsonl; charset=utf-8');
    c.header('content-disposition', 'attachment; filename="tessera-audit.jsonl"');
    return c.body(lines);
  });
}
