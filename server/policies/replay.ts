// Replay: a policy evaluated against the verification results stored with the attestations of
// a period (the evidence is not verified again), under the current reference values. The one
// loop behind POST /v1/policies/replay and POST /v1/policies/what-if.

import { evaluateAppraisalPolicy, type AppraisalPolicy, type PolicyDecision } from '../../verifier/policy/index.ts';
import type { VerificationResult } from '../../verifier/result.ts';
import type { ServiceContext } from '../context.ts';
import { decodeJson } from '../storage/decode.ts';
import { StoreCorruptError, type StoredAttestation } from '../storage/store.ts';

/** At most this many stored attestations per replay: bounded work per request. */
export const REPLAY_LIMIT = 100_000;

export interface Replayed {
  row: StoredAttestation;
  result: VerificationResult;
  decision: PolicyDecision;
}

/**
 * Evaluate `policy` on each attestation created in [since, until], oldest first, at most
 * REPLAY_LIMIT of them, handing each to `visit`. A stored result that is not JSON is
 * StoreCorruptError naming the row.
 */
export async function replay(ctx: ServiceContext, policy: AppraisalPolicy, since: number, until: number, visit: (r: Replayed) => void): Promise<{ total: number; truncated: boolean }> {
  const refs = await ctx.policies.context();
  const rows = await ctx.store.attestations.between(since, until, REPLAY_LIMIT + 1);
  const truncated = rows.length > REPLAY_LIMIT;
  const taken = truncated ? rows.slice(0, REPLAY_LIMIT) : rows;
  for (const row of taken) {
    const record = `attestations ${row.id}`;
    const result = decodeJson<VerificationResult>(record, 'result', row.result);
    if (result === null || typeof result !== 'object' || Array.isArray(result)) throw new StoreCorruptError(record, 'its result column is not a verification result');
    visit({ row, result, decision: evaluateAppraisalPolicy(policy, result, refs) });
  }
  return { total: taken.length, truncated };
}
