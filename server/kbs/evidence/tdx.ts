// `tdx` evidence of the KBS protocol: trustee's TdxEvidence {quote, cc_eventlog}
// (deps/verifier/src/tdx/mod.rs), both standard base64: the TD quote, and optionally the CC
// event log, which becomes the evidence's eventLog: the verifier replays it against the
// quote's RTMRs (verifier/tdx/eventlog/), as for /v1/attest.

import type { IntelEvidence } from '../../../verifier/evidence.ts';
import { attestFailed } from '../errors.ts';

const bad = (why: string) => attestFailed('kbs_evidence_invalid', `tdx evidence: ${why}`);
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function base64(v: unknown, field: string): Buffer {
  if (typeof v !== 'string' || !BASE64_RE.test(v)) throw bad(`${field} must be standard base64 (RFC 4648 section 4, padded)`);
  return Buffer.from(v, 'base64');
}

export function tdxEvidenceFromKbs(evidence: unknown): IntelEvidence {
  if (typeof evidence !== 'object' || evidence === null || Array.isArray(evidence)) throw bad('expected {quote, cc_eventlog}');
  const { quote, cc_eventlog: log } = evidence as Record<string, unknown>;
  const q = base64(quote, 'quote');
  // trustee: "TDX Quote is empty."
  if (q.length === 0) throw bad('the quote is empty');
  // An absent, null or empty event log is not checked (trustee warns and goes on).
  const eventlog = log === undefined || log === null || log === '' ? undefined : base64(log, 'cc_eventlog');
  return { tee: 'tdx', quote: q, ...(eventlog ? { eventLog: eventlog } : {}) };
}
