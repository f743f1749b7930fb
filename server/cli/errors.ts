// How CLI commands fail: a one-line message on stderr and a documented exit code, never a
// stack trace. 1 = the evidence was rejected; 2 = usage error or unreadable input.

export const EXIT_REJECTED = 1;
export const EXIT_USAGE = 2;

export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT_USAGE) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}
