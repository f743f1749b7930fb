// Reading what the user named on a `tessera` command line: files and --at. Every failure is
// a one-line usage error (exit 2), never a stack trace.

import { readFileSync } from 'node:fs';
import { EvidenceFormatError } from '../../verifier/errors.ts';
import { CliError, EXIT_USAGE } from './errors.ts';

/** The bytes of `path`; `what` names it in the error ("the report", "the bundle"...). */
export function readInput(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (code ?? 'unreadable');
    throw new CliError(`cannot read the ${what} ${path}: ${reason}`, EXIT_USAGE);
  }
}

/** --at: an ISO-8601 time (at least a date); the current time when not given. */
export function parseAt(at: string | undefined): Date {
  if (at === undefined) return new Date();
  const d = new Date(at);
  if (!/^\d{4}-\d{2}-\d{2}/.test(at) || Number.isNaN(d.getTime())) {
    throw new CliError(`--at must be an ISO-8601 time such as 2025-01-31T00:00:00Z, not "${at}"`, EXIT_USAGE);
  }
  return d;
}

/**
 * A malformed input (EvidenceFormatError) as a usage error that names its stable code;
 * any other error unchanged. For `catch (err) { throw asUsageError(err); }`.
 */
export function asUsageError(err: unknown): unknown {
  return err instanceof EvidenceFormatError ? new CliError(`${err.message} (${err.code})`, EXIT_USAGE) : err;
}
