// Overview: attestations over the last days per TEE (accepted and denied), the rules and
// checks that deny most, how fresh the cached collateral is, and the signing key's age.

import type { FC } from 'hono/jsx';
import type { ConsoleRouter } from '../router.tsx';
import { render } from '../router.tsx';
import { Notice, ProblemBox, Short, Time } from '../ui.tsx';

interface Stats {
  from: string;
  to: string;
  bucketSeconds: number;
  series: { start: string; tee: string; accepted: number; denied: number }[];
  denials: { id: string; count: number }[];
  denialsExamined: number;
  truncated: boolean;
}
interface Keys {
  keys: { kid: string; createdAt: string; retiredAt: string | null; active: boolean; published: boolean }[];
}
interface Collateral {
  documents: { key: string; kind: string; source: string; fetchedAt: string; nextUpdate: string | null; immutable: boolean; stale: boolean }[];
  maxStalenessHours: number;
}

const DAYS = 7;
const DAY = 86_400_000;

/**
 * One TEE's days as an SVG bar chart drawn on the server from the counts (no script, no
 * library): a bar per day, accepted below and denied stacked on top, each with a <title>.
 */
const TeeChart: FC<{ tee: string; days: number[]; counts: Map<number, { accepted: number; denied: number }> }> = ({ tee, days, counts }) => {
  const width = 40 * days.length + 40;
  const height = 140;
  const plot = 100;
  const max = Math.max(1, ...days.map((d) => (counts.get(d)?.accepted ?? 0) + (counts.get(d)?.denied ?? 0)));
  const scale = (n: number) => (n / max) * plot;
  return (
    <figure class="chart">
      <figcaption>{tee}</figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label={`${tee}: attestations per day, accepted and denied`}>
        <line class="axis" x1="30" y1={plot + 10} x2={width - 5} y2={plot + 10} />
        <text class="tick" x="26" y="14" text-anchor="end">
          {max}
        </text>
        <text class="tick" x="26" y={plot + 10} text-anchor="end">
          0
        </text>
        {days.map((d, i) => {
          const c = counts.get(d) ?? { accepted: 0, denied: 0 };
          const x = 36 + i * 40;
          const hA = scale(c.accepted);
          const hD = scale(c.denied);
          const label = new Date(d).toISOString().slice(5, 10);
          return (
            <g>
              <rect class="bar-accepted" x={x} y={plot + 10 - hA} width="28" height={hA}>
                <title>{`${label}: ${c.accepted} accepted`}</title>
              </rect>
              <rect class="bar-denied" x={x} y={plot + 10 - hA - hD} width="28" height={hD}>
                <title>{`${label}: ${c.denied} denied`}</title>
              </rect>
              <text class="tick" x={x + 14} y={plot + 26} text-anchor="middle">
                {label}
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
};

function ageDays(iso: string, now: number): string {
  const days = (now - Date.parse(iso)) / DAY;
  return days < 1 ? `${Math.max(0, Math.round(days * 24))} h` : `${Math.floor(days)} d`;
}

export function overviewPage(r: ConsoleRouter): void {
  r.get('/console', async (c) => {
    const api = c.get('api');
    const now = Date.now();
    const to = now;
    // Whole days, today included.
    const firstDay = Math.floor(now / DAY) * DAY - (DAYS - 1) * DAY;
    const [stats, keys, collateral] = await Promise.all([
      api<Stats>('GET', `/v1/attestations/stats?bucket=day&from=${new Date(firstDay).toISOString()}&to=${new Date(to).toISOString()}`),
      api<Keys>('GET', '/v1/keys'),
      api<Collateral>('GET', '/v1/collateral'),
    ]);
    const days = Array.from({ length: DAYS }, (_, i) => firstDay + i * DAY);
    let chart = null;
    if (stats.ok) {
      const byTee = new Map<string, Map<number, { accepted: number; denied: number }>>();
      for (const s of stats.body.series) {
        const m = byTee.get(s.tee) ?? new Map();
        m.set(Date.parse(s.start), { accepted: s.accepted, denied: s.denied });
        byTee.set(s.tee, m);
      }
      const totals = stats.body.series.reduce((t, s) => ({ accepted: t.accepted + s.accepted, denied: t.denied + s.denied }), { accepted: 0, denied: 0 });
      chart = (
        <>
          <p>
            Last {DAYS} days: <strong>{totals.accepted}</strong> accepted, <strong>{totals.denied}</strong> denied.{' '}
            <span class="legend">
              <span class="swatch bar-accepted"></span> accepted <span class="swatch bar-denied"></span> denied
            </span>
          </p>
          {byTee.size === 0 ? <Notice>No attestations in the last {DAYS} days.</Notice> : null}
          <div class="charts">
            {[...byTee].map(([tee, counts]) => (
              <TeeChart tee={tee} days={days} counts={counts} />
            ))}
          </div>
          <table>
            <caption>Attestations per day and TEE</caption>
            <thead>
              <tr>
                <th scope="col">Day (UTC)</th>
                <th scope="col">TEE</th>
                <th scope="col">Accepted</th>
                <th scope="col">Denied</th>
              </tr>
            </thead>
            <tbody>
              {stats.body.series.map((s) => (
                <tr>
                  <td>{s.start.slice(0, 10)}</td>
                  <td>{s.tee}</td>
                  <td class="num">{s.accepted}</td>
                  <td class="num">{s.denied}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      );
    }
    const active = keys.ok ? keys.body.keys.find((k) => k.active) : undefined;
    const docs = collateral.ok ? collateral.body.documents : [];
    const refreshable = docs.filter((d) => !d.immutable);
    const oldest = refreshable.reduce<(typeof docs)[number] | undefined>((o, d) => (!o || d.fetchedAt < o.fetchedAt ? d : o), undefined);
    const stale = docs.filter((d) => d.stale);
    return render(
      c,
      'Overview',
      <>
        <section aria-labelledby="h-over-time">
          <h2 id="h-over-time">Attestations over time</h2>
          {stats.ok ? chart : <ProblemBox problem={stats.problem} />}
        </section>
        <section aria-labelledby="h-denials">
          <h2 id="h-denials">What denies most</h2>
          {!stats.ok ? null : stats.body.denials.length === 0 ? (
            <Notice>No denials in the last {DAYS} days.</Notice>
          ) : (
            <table>
              <caption>
                Failed rules and checks of {stats.body.denialsExamined} denials{stats.body.truncated ? ' (the newest only)' : ''}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Rule or check</th>
                  <th scope="col">Denials</th>
                </tr>
              </thead>
              <tbody>
                {stats.body.denials.slice(0, 10).map((d) => (
                  <tr>
                    <td>
                      <a href={`/console/attestations?outcome=contraindicated`}>
                        <code>{d.id}</code>
                      </a>
                    </td>
                    <td class="num">{d.count}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <div class="cols">
          <section aria-labelledby="h-collateral" class="card">
            <h2 id="h-collateral">Collateral freshness</h2>
            {!collateral.ok ? (
              <ProblemBox problem={collateral.problem} />
            ) : (
              <dl>
                <dt>Cached documents</dt>
                <dd>
                  {docs.length} ({docs.length - refreshable.length} immutable: VCEKs and chains)
                </dd>
                <dt>Oldest refreshable document</dt>
                <dd>{oldest ? <>{oldest.kind}, fetched <Time iso={oldest.fetchedAt} /> ({ageDays(oldest.fetchedAt, now)} ago)</> : 'none'}</dd>
                <dt>Past their next update (vendor not reached)</dt>
                <dd class={stale.length ? 'fail' : undefined}>
                  {stale.length === 0 ? 'none' : stale.map((d) => <div>{`${d.kind} (${d.source}), next update was ${d.nextUpdate ?? '?'}`}</div>)}
                </dd>
                <dt>Served past next update at most</dt>
                <dd>{collateral.body.maxStalenessHours} h</dd>
              </dl>
            )}
          </section>
          <section aria-labelledby="h-keys" class="card">
            <h2 id="h-keys">Result-signing key</h2>
            {!keys.ok ? (
              <ProblemBox problem={keys.problem} />
            ) : active ? (
              <dl>
                <dt>Active key</dt>
                <dd>
                  <Short value={active.kid} length={16} />
                </dd>
                <dt>Created</dt>
                <dd>
                  <Time iso={active.createdAt} /> ({ageDays(active.createdAt, now)} ago)
                </dd>
                <dt>Keys ever made</dt>
                <dd>{keys.body.keys.length}</dd>
              </dl>
            ) : (
              <Notice>No active signing key.</Notice>
            )}
          </section>
        </div>
      </>,
    );
  });
}
