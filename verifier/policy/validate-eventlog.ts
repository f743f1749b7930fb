// The `tdx.eventLog` block of an appraisal policy, held against claims.tdx.eventLog (the
// replayed, decoded CC event log: verifier/tdx/eventlog/claims.ts). Those claims exist only
// when a log came with the evidence and parsed; the log replayed to the quote's RTMRs
// exactly when the evidence verified (tdx.eventlog.rtmr<i>), which evidence.verified
// already requires, so these rules speak about events the quote vouches for.
//
// A kernel command line counts only when it is `measured` (its SHA-384 is the digest the
// RTMR extended): text in the log that does not hash to its digest proves nothing, so one
// such line fails the rule rather than being skipped.

import type { Claims } from '../result.ts';
import { allowedHexRule, fail, pass } from './outcome.ts';
import type { TdxEventLogPolicy } from './schema.ts';
import type { PolicyContext, RuleOutcome } from './types.ts';

interface LoggedEvent {
  type?: unknown;
  digest?: unknown;
  devicePath?: unknown;
  kernelCmdline?: unknown;
  measured?: unknown;
}

/** Every listed event of claims.tdx.eventLog, in RTMR then log order; undefined when there is no (well-formed) log. */
function loggedEvents(claims: Claims): LoggedEvent[] | undefined {
  const log = claims.tdx?.['eventLog'] as { rtmr?: unknown } | undefined;
  if (!log || typeof log !== 'object' || !Array.isArray(log.rtmr)) return undefined;
  return log.rtmr.flatMap((list: unknown) => (Array.isArray(list) ? list.filter((e): e is LoggedEvent => !!e && typeof e === 'object') : []));
}

const NO_LOG = 'no event log came with the evidence';

function cmdlineRule(want: NonNullable<TdxEventLogPolicy['kernelCmdline']>, events: LoggedEvent[] | undefined): RuleOutcome {
  const id = 'tdx.eventLog.kernelCmdline';
  const expected = typeof want === 'string' ? want : { regex: want.regex };
  if (!events) return fail(id, `${NO_LOG}, so its kernel command line is unknown`, expected, null);
  const lines = events.filter((e) => typeof e.kernelCmdline === 'string');
  if (lines.length === 0) return fail(id, 'the event log holds no kernel command line (GRUB grub_kernel_cmdline, or systemd-stub load options)', expected, null);
  const unmeasured = lines.find((e) => e.measured !== true);
  if (unmeasured) return fail(id, 'a kernel command line in the event log does not hash to the digest extended for it, so its text proves nothing', expected, unmeasured.kernelCmdline);
  const re = typeof want === 'string' ? undefined : new RegExp(`^(?:${want.regex})$`, 'u');
  const matches = (s: string) => (re ? re.test(s) : s === want);
  const found = lines.map((e) => e.kernelCmdline as string);
  const bad = found.find((s) => !matches(s));
  if (bad !== undefined) return fail(id, `the kernel command line ${JSON.stringify(bad)} does not ${re ? 'match the policy’s expression' : 'equal the policy’s'}`, expected, found.length === 1 ? bad : found);
  return pass(id, `the measured kernel command line ${re ? 'matches the policy’s expression' : 'is the policy’s'}`, expected, found.length === 1 ? found[0] : found);
}

function bootAppsRule(allowed: NonNullable<TdxEventLogPolicy['bootAppDigests']>, events: LoggedEvent[] | undefined, ctx: PolicyContext): RuleOutcome {
  const id = 'tdx.eventLog.bootAppDigests';
  const expected = Array.isArray(allowed) ? allowed : { referenceValues: allowed.referenceValues };
  if (!events) return fail(id, `${NO_LOG}, so the boot applications are unknown`, expected, null);
  const apps = events.filter((e) => e.type === 'EV_EFI_BOOT_SERVICES_APPLICATION');
  if (apps.length === 0) return fail(id, 'the event log records no boot application (EV_EFI_BOOT_SERVICES_APPLICATION)', expected, []);
  const outcomes = apps.map((e) => allowedHexRule(id, `boot application ${typeof e.devicePath === 'string' ? e.devicePath : '(no device path)'}`, allowed, e.digest, ctx));
  const failed = outcomes.filter((o) => !o.ok);
  const found = apps.map((e) => (typeof e.devicePath === 'string' ? { digest: e.digest, devicePath: e.devicePath } : { digest: e.digest }));
  if (failed.length > 0) {
    const more = failed.length > 1 ? ` (and ${failed.length - 1} more)` : '';
    return fail(id, `${failed[0]!.detail}${more}`, expected, found.filter((_, i) => !outcomes[i]!.ok));
  }
  return pass(id, `all ${apps.length} boot applications are allowed`, expected, found);
}

export function validateEventLog(policy: TdxEventLogPolicy, claims: Claims, ctx: PolicyContext): RuleOutcome[] {
  const events = loggedEvents(claims);
  const out: RuleOutcome[] = [];
  if (policy.required !== undefined) {
    const id = 'tdx.eventLog.required';
    if (!policy.required) out.push(pass(id, 'an event log is not required', 'any', events !== undefined));
    else out.push(events ? pass(id, 'an event log came with the evidence and replayed', true, true) : fail(id, `${NO_LOG}, and the policy requires one`, true, false));
  }
  if (policy.kernelCmdline !== undefined) out.push(cmdlineRule(policy.kernelCmdline, events));
  if (policy.bootAppDigests !== undefined) out.push(bootAppsRule(policy.bootAppDigests, events, ctx));
  return out;
}
