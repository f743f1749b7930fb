// The part of `tessera verify` readable summaries that is the same for every TEE:
// one line per check (with expected vs found on failures) and the warnings.
import type { VerificationResult } from '../../verifier/result.ts';

/** Lines listing `result.checks` and `result.warnings`, indented as in the summaries. */
export function checkAndWarningLines(result: VerificationResult): string[] {
  const lines = ['checks:'];
  for (const check of result.checks) {
    let line = `  ${check.ok ? 'ok  ' : 'FAIL'}  ${check.id}: ${check.detail}`;
    if (!check.ok && (check.expected !== undefined || check.found !== undefined)) {
      line += ` (expected ${JSON.stringify(check.expected)}, found ${JSON.stringify(check.found)})`;
    }
    lines.push(line);
  }
  if (result.warnings.length > 0) {
    lines.push('warnings:');
    for (const w of result.warnings) lines.push(`  - ${w}`);
  }
  return lines;
}
