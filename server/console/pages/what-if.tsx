// TCB-recovery what-if: a candidate minimum TCB per product (or a pasted draft policy), and
// which platforms and workloads of the last N days it would refuse, by which rule, with
// expected and found (POST /v1/policies/what-if: the same numbers scripts get).

import type { ConsoleContext, ConsoleRouter } from '../router.tsx';
import { field, render } from '../router.tsx';
import { Csrf, inline, Notice, ProblemBox, Short, Time } from '../ui.tsx';
import type { WhatIfReport } from '../../fleet/what-if.ts';
import { DaysSelect, daysOf, Tcb } from './fleet.tsx';

// The API's own report (server/fleet/what-if.ts) with the policy the route names beside it.
type Report = WhatIfReport & {
  policy: { name: string | null; version: number | null; hash: string; basedOn: { name: string; version: number; hash: string } | null };
};

const PRODUCTS = ['Milan', 'Genoa', 'Turin'] as const;
const SPLS = ['bootloader', 'tee', 'snp', 'microcode', 'fmc'] as const;
const INTEL_STATUSES = ['UpToDate', 'SWHardeningNeeded', 'ConfigurationNeeded', 'ConfigurationAndSWHardeningNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded'];

type Form = Record<string, string | File | (string | File)[]>;

/** The candidate of the form: the SPL fields filled in, per product, and the Intel fields. */
function candidateOf(form: Form): { tcb?: Record<string, unknown>; error?: string } {
  const snp: Record<string, Record<string, number>> = {};
  for (const p of PRODUCTS) {
    for (const s of SPLS) {
      const v = field(form, `snp.${p}.${s}`).trim();
      if (!v) continue;
      if (!/^\d{1,3}$/.test(v) || Number(v) > 255) return { error: `${p} ${s}: expected an SPL from 0 to 255, found ${JSON.stringify(v.slice(0, 10))}.` };
      (snp[p] ??= {})[s] = Number(v);
    }
  }
  const tdx: Record<string, unknown> = {};
  const statuses = ([] as unknown[]).concat(form['tdx.acceptedTcbStatuses'] ?? []).filter((x): x is string => typeof x === 'string');
  if (statuses.length) tdx.acceptedTcbStatuses = statuses;
  const evalNum = field(form, 'tdx.minTcbEvaluationDataNumber').trim();
  if (evalNum) {
    if (!/^\d{1,10}$/.test(evalNum)) return { error: `Minimum TCB evaluation data number: expected a whole number, found ${JSON.stringify(evalNum.slice(0, 10))}.` };
    tdx.minTcbEvaluationDataNumber = Number(evalNum);
  }
  const advisories = field(form, 'tdx.forbiddenAdvisories').split(/[\s,]+/).filter(Boolean);
  if (advisories.length) tdx.forbiddenAdvisories = advisories;
  const tcb: Record<string, unknown> = {};
  if (Object.keys(snp).length) tcb.snp = snp;
  if (Object.keys(tdx).length) tcb.tdx = tdx;
  return Object.keys(tcb).length ? { tcb } : {};
}

const WhatIfForm = ({ c, form }: { c: ConsoleContext; form?: Form }) => {
  const page = c.get('page');
  const v = (name: string) => (form ? field(form, name) : '');
  const checked = (s: string) => (form ? ([] as unknown[]).concat(form['tdx.acceptedTcbStatuses'] ?? []).includes(s) : false);
  const days = daysOf(form ? field(form, 'days') : c.req.query('days'));
  return (
    <form method="post" action="/console/what-if" class="card whatif">
      <Csrf token={page.csrf} />
      <p>Either a candidate minimum TCB, put into the active policy in place of its own minimums, or a pasted draft policy. The stored results of the window are appraised again; nothing changes.</p>
      <label>
        Attestations of the last
        <DaysSelect days={days} />
      </label>
      <fieldset>
        <legend>SEV-SNP minimum REPORTED_TCB per product (empty: keep the active policy's)</legend>
        <table class="spl">
          <thead>
            <tr>
              <th scope="col">Product</th>
              {SPLS.map((s) => (
                <th scope="col">{s}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {PRODUCTS.map((p) => (
              <tr>
                <th scope="row">{p}</th>
                {SPLS.map((s) => (
                  <td>
                    <input name={`snp.${p}.${s}`} inputmode="numeric" size={3} value={v(`snp.${p}.${s}`)} aria-label={`${p} minimum ${s} SPL`} />
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </fieldset>
      <fieldset>
        <legend>Intel TDX</legend>
        <div class="checks-row">
          Accepted TCB statuses:
          {INTEL_STATUSES.map((s) => (
            <label class="check">
              <input type="checkbox" name="tdx.acceptedTcbStatuses" value={s} checked={checked(s)} /> {s}
            </label>
          ))}
        </div>
        <label>
          Minimum TCB evaluation data number <input name="tdx.minTcbEvaluationDataNumber" inputmode="numeric" size={5} value={v('tdx.minTcbEvaluationDataNumber')} />
        </label>
        <label>
          Forbidden advisories <input name="tdx.forbiddenAdvisories" size={30} placeholder="INTEL-SA-00960" value={v('tdx.forbiddenAdvisories')} />
        </label>
      </fieldset>
      <label for="draft">Or a draft policy (YAML or JSON; used instead of the candidate above)</label>
      <textarea id="draft" name="draft" rows={6} cols={80} spellcheck={false}>
        {v('draft')}
      </textarea>
      <button type="submit">Run the what-if</button>
    </form>
  );
};

const Results = ({ r }: { r: Report }) => (
  <section aria-labelledby="h-result">
    <h2 id="h-result">Would be refused</h2>
    <p class="big">
      <strong class="refused-platforms">{r.platforms.refused}</strong>
      {` of ${r.platforms.total} platforms (${r.platforms.newlyRefused} newly), `}
      <strong>{r.workloads.refused}</strong>
      {` of ${r.workloads.total} workloads, ${r.attestations.refused} of ${r.attestations.total} attestations, in the last ${r.days} days`}
      {r.truncated ? ' (the window held more attestations than one request reads: the oldest are left out)' : ''}.
    </p>
    <p class="muted">
      {r.policy.basedOn ? `Candidate TCB put into ${r.policy.basedOn.name} v${r.policy.basedOn.version}; ` : `Policy ${r.policy.name ?? '(unnamed draft)'}${r.policy.version ? ` v${r.policy.version}` : ''}; `}
      hash <Short value={r.policy.hash} />. From <Time iso={r.since} /> to <Time iso={r.until} />.
    </p>
    {r.rules.length ? (
      <table>
        <caption>Refusing rules</caption>
        <thead>
          <tr>
            <th scope="col">Rule</th>
            <th scope="col">Platforms</th>
            <th scope="col">Workloads</th>
            <th scope="col">Attestations</th>
          </tr>
        </thead>
        <tbody>
          {r.rules.map((x) => (
            <tr>
              <td>
                <code>{x.id}</code>
              </td>
              <td class="num">{x.platforms}</td>
              <td class="num">{x.workloads}</td>
              <td class="num">{x.attestations}</td>
            </tr>
          ))}
        </tbody>
      </table>
    ) : (
      <Notice>Nothing in the window would be refused.</Notice>
    )}
    {r.refusedPlatforms.length ? (
      <table class="refused">
        <caption>Refused platforms</caption>
        <thead>
          <tr>
            <th scope="col">Platform</th>
            <th scope="col">TCB</th>
            <th scope="col">Last seen</th>
            <th scope="col">Rules (expected, found)</th>
            <th scope="col">Workloads (judged attestation)</th>
          </tr>
        </thead>
        <tbody>
          {r.refusedPlatforms.map((p) => (
            <tr>
              <td>
                <code>{p.id}</code>
                <div class="muted">{`${p.product ?? p.vendor} · ${p.tees.join(', ')}${p.newlyRefused ? ' · newly refused' : ''}`}</div>
              </td>
              <td>
                <Tcb p={p} />
              </td>
              <td>
                <Time iso={p.lastSeen} />
              </td>
              <td>
                <ul class="plain">
                  {p.rules.map((x) => (
                    <li>
                      <code>{x.id}</code>: {x.detail} Expected {inline(x.expected)}, found {inline(x.found)}.
                    </li>
                  ))}
                </ul>
              </td>
              <td>
                <ul class="plain">
                  {p.workloads.map((w) => (
                    <li>
                      <a href={`/console/attestations/${w.attestationId}`}>
                        <Short value={w.measurement} length={16} />
                      </a>
                      {` (was ${w.recordedStatus})`}
                    </li>
                  ))}
                </ul>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    ) : null}
  </section>
);

export function whatIfPages(r: ConsoleRouter): void {
  r.get('/console/what-if', (c) => render(c, 'TCB-recovery what-if', <WhatIfForm c={c} />));

  r.post('/console/what-if', async (c) => {
    const form = (await c.req.parseBody({ all: true })) as Form;
    const days = daysOf(field(form, 'days'));
    const draft = field(form, 'draft').trim();
    const candidate = draft ? {} : candidateOf(form);
    if (candidate.error || (!draft && !candidate.tcb)) {
      const detail = candidate.error ?? 'Give a candidate minimum TCB (at least one field) or a draft policy.';
      return render(
        c,
        'TCB-recovery what-if',
        <>
          <ProblemBox problem={{ status: 400, code: 'request_invalid', detail }} />
          <WhatIfForm c={c} form={form} />
        </>,
        400,
      );
    }
    const answer = await c.get('api')<Report>('POST', '/v1/policies/what-if', draft ? { days, policy: { draft } } : { days, tcb: candidate.tcb });
    return render(
      c,
      'TCB-recovery what-if',
      <>
        {answer.ok ? <Results r={answer.body} /> : <ProblemBox problem={answer.problem} action="What-if" />}
        <WhatIfForm c={c} form={form} />
      </>,
      answer.ok ? 200 : answer.status === 422 ? 422 : answer.status === 404 ? 404 : 400,
    );
  });
}
