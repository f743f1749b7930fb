// The contract between policy evaluation (verifier/policy/) and its users (the server).
// EAR terms from draft-ietf-rats-ear: status affirming / warning / contraindicated, and
// the AR4SI trustworthiness vector (claims such as `hardware`, `executables`, `configuration`).

export type EarStatus = 'affirming' | 'warning' | 'contraindicated';

/** One rule of a policy, evaluated: pass or fail, with the values it saw. */
export interface RuleOutcome {
  /** Stable id: the declarative field (`snp.measurements`, `tdx.acceptedTcbStatuses`...) or `rules.<name>` for CEL. */
  id: string;
  ok: boolean;
  /** What a failure costs: `deny` makes the result contraindicated, `warn` makes it warning. */
  effect: 'deny' | 'warn';
  detail: string;
  expected?: unknown;
  found?: unknown;
}

export interface PolicyDecision {
  status: EarStatus;
  /** True when status is not contraindicated. */
  allowed: boolean;
  /** AR4SI trustworthiness vector: claim name -> value (e.g. 2 affirming, 32 warning, 96 contraindicated). */
  trustworthinessVector: Record<string, number>;
  rules: RuleOutcome[];
}

/** What a policy may refer to besides the claims. */
export interface PolicyContext {
  /** Named reference-value sets: name -> allowed values (lower-case hex). */
  referenceValues: Record<string, string[]>;
}

/** A problem with an uploaded policy, pointing at the field or the CEL error. */
export interface PolicyIssue {
  /** JSON path of the bad field, e.g. `snp.minTcb.bootloader` or `rules.no-debug.expr`. */
  path: string;
  message: string;
}

export class PolicyValidationError extends Error {
  readonly code = 'policy_invalid';
  readonly issues: PolicyIssue[];
  constructor(issues: PolicyIssue[]) {
    super(issues.map((i) => `${i.path || '(policy)'}: ${i.message}`).join('; '));
    this.name = 'PolicyValidationError';
    this.issues = issues;
  }
}
