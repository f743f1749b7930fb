// Errors the verifier throws for input it cannot even parse. A parsed-but-untrustworthy
// piece of evidence is not an error: it is a VerificationResult with verified=false.

/**
 * Malformed evidence or collateral: wrong length, unknown version, bad encoding.
 * `code` is stable and machine-readable (snake_case, e.g. `snp_report_length`);
 * the message is one human sentence. The server maps it to a 4xx problem+json.
 */
export class EvidenceFormatError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'EvidenceFormatError';
    this.code = code;
  }
}

/**
 * A collateral document that is needed and cannot be had (not supplied, not cached,
 * vendor unreachable beyond the staleness bound, or offline mode). `document` names it.
 */
export class CollateralUnavailableError extends Error {
  readonly code = 'collateral_unavailable';
  readonly document: string;
  constructor(document: string, message: string) {
    super(message);
    this.name = 'CollateralUnavailableError';
    this.document = document;
  }
}
