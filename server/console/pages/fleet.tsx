// Fleet: the distinct platforms of the last N days (GET /v1/fleet), by product and TCB, when
// each was last seen, and the workloads (measurements) on each.

import type { Fleet } from '../../fleet/fleet.ts';
import type { PlatformFacts } from '../../fleet/platform.ts';
import type { ConsoleRouter } from '../router.tsx';
import { render } from '../router.tsx';
import { Notice, ProblemBox, Short, Time } from '../ui.tsx';

// The API's own types (server/fleet/): the page renders exactly what GET /v1/fleet answers.
export type { PlatformFacts };

const DAY_CHOICES = [1, 7, 30, 90, 365];

/** The window chooser both the fleet and the what-if forms use. */
export const DaysSelect = ({ days }: { days: number }) => (
  <select name="days">
    {DAY_CHOICES.map((d) => (
      <option value={String(d)} selected={d === days}>{`${d} days`}</option>
    ))}
  </select>
);

/** A platform's TCB in one line: SNP SPLs and firmware, or Intel status, SVNs and advisories. */
export const Tcb = ({ p }: { p: PlatformFacts }) => {
  if (p.snp) {
    const t = p.snp.reportedTcb;
    return (
      <span>
        {t ? Object.entries(t).map(([k, v]) => `${k} ${v}`).join(' · ') : 'TCB unknown'}
        {p.snp.firmware ? ` · firmware ${p.snp.firmware}` : ''}
        {p.snp.signer ? ` · ${p.snp.signer}` : ''}
      </span>
    );
  }
  if (p.intel) {
    const i = p.intel;
    return (
      <span>
        {`${i.tcbStatus ?? 'status unknown'}`}
        {i.fmspc ? ` · FMSPC ${i.fmspc}` : ''}
        {i.pceSvn !== null ? ` · PCE SVN ${i.pceSvn}` : ''}
        {i.teeTcbSvn ? ` · TEE TCB SVN ${i.teeTcbSvn}` : ''}
        {i.qe ? ` · QE ISV SVN ${i.qe.isvSvn} (${i.qe.status})` : ''}
        {i.evaluationDataNumber !== null ? ` · eval ${i.evaluationDataNumber}` : ''}
        {i.advisoryIds.length ? ` · ${i.advisoryIds.join(', ')}` : ''}
      </span>
    );
  }
  return <span class="muted">—</span>;
};

export function daysOf(text: string | undefined, fallback = 30): number {
  const n = Number(text);
  return Number.isInteger(n) && n >= 1 && n <= 366 ? n : fallback;
}

export function fleetPages(r: ConsoleRouter): void {
  r.get('/console/fleet', async (c) => {
    const days = daysOf(c.req.query('days'));
    const answer = await c.get('api')<Fleet>('GET', `/v1/fleet?days=${days}`);
    return render(
      c,
      'Fleet',
      <>
        <form method="get" action="/console/fleet" class="filters">
          <label>
            Seen in the last
            <DaysSelect days={days} />
          </label>
          <button type="submit">Show</button>
        </form>
        {!answer.ok ? (
          <ProblemBox problem={answer.problem} />
        ) : (
          <>
            <p>
              {`${answer.body.totals.platforms} platforms, ${answer.body.totals.workloads} workloads, ${answer.body.totals.attestations} attestations (${answer.body.totals.accepted} accepted, ${answer.body.totals.denied} denied)`}
              {answer.body.unattributed.attestations ? `; ${answer.body.unattributed.attestations} attestations named no verified platform` : ''}
              {answer.body.truncated ? '; the window held more attestations than one request reads: the oldest are left out' : ''}.
            </p>
            {answer.body.platforms.length === 0 ? (
              <Notice>No platform attested in this window.</Notice>
            ) : (
              <table class="fleet">
                <caption>Platforms (SNP chip ids and Intel PPIDs are shown hashed), by last seen</caption>
                <thead>
                  <tr>
                    <th scope="col">Platform</th>
                    <th scope="col">Product</th>
                    <th scope="col">TCB</th>
                    <th scope="col">Last seen</th>
                    <th scope="col">Accepted / denied</th>
                    <th scope="col">Workloads</th>
                  </tr>
                </thead>
                <tbody>
                  {answer.body.platforms.map((p) => (
                    <tr>
                      <td>
                        <code>{p.id}</code>
                        <div class="muted">{p.tees.join(', ')}</div>
                      </td>
                      <td>{p.product ?? (p.vendor === 'intel' ? 'Intel' : '—')}</td>
                      <td>
                        <Tcb p={p} />
                      </td>
                      <td>
                        <Time iso={p.lastSeen} />
                      </td>
                      <td class="num">{`${p.accepted} / ${p.denied}`}</td>
                      <td>
                        <ul class="plain">
                          {p.workloads.map((w) => (
                            <li>
                              <a href={`/console/attestations?subject=${encodeURIComponent(w.measurement)}`}>
                                <Short value={w.measurement} length={16} />
                              </a>
                              {` ${w.accepted} / ${w.denied}`}
                            </li>
                          ))}
                        </ul>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </>
        )}
      </>,
    );
  });
}
