// Revocation. AMD KDS publishes one CRL per product and signer kind
// (/vcek/v1/<Product>/crl, /vlek/v1/<Product>/crl), signed by the product's ARK
// (RSASSA-PSS SHA-384), listing revoked ASKs/ASVKs and VLEKs (KDS spec 57230 §"CRL").
// The mode comes from VerifyOptions.crl: `require` fails without a CRL, `prefer`
// (default) checks one when available and warns otherwise, `off` skips and says so.

import type { CrlMode } from '../evidence.ts';
import type { Check } from '../result.ts';
import type { Certificate } from '../x509/certificate.ts';
import { isCrlCurrentAt, isCrlIssuedBy, isRevoked, type Crl } from '../x509/crl.ts';

export interface CrlInput {
  crl?: Crl;
  /** True when the collateral source served it past its nextUpdate because AMD was unreachable. */
  stale?: boolean;
  mode: CrlMode;
  ark: Certificate;
  product: string;
  /** The certificates to look up, by name ("VCEK", "ASK"...). */
  subjects: [string, Certificate][];
  at: Date;
}

export function checkCrl(input: CrlInput): { checks: Check[]; warnings: string[] } {
  const { crl, mode, ark, at } = input;
  const checks: Check[] = [];
  const warnings: string[] = [];
  if (mode === 'off') {
    warnings.push('Revocation was not checked: CRL mode is off.');
    return { checks, warnings };
  }
  if (!crl) {
    if (mode === 'require') {
      checks.push({
        id: 'snp.crl',
        ok: false,
        detail: `CRL mode is require, but no AMD CRL for ${input.product} was supplied or could be fetched.`,
        expected: 'an AMD CRL',
        found: 'none',
      });
    } else {
      warnings.push(`Revocation was not checked: no AMD CRL for ${input.product} was available.`);
    }
    return { checks, warnings };
  }
  const signed = isCrlIssuedBy(crl, ark);
  checks.push({
    id: 'snp.crl.signature',
    ok: signed,
    detail: signed ? `The CRL is signed by the pinned ARK-${input.product}.` : `The CRL is not signed by the pinned ARK-${input.product}.`,
    ...(signed ? {} : { expected: `issued by ${ark.subject}`, found: 'another issuer or a bad signature' }),
  });
  const current = isCrlCurrentAt(crl, at);
  const window = `${crl.thisUpdate.toISOString()} to ${crl.nextUpdate?.toISOString() ?? '(no nextUpdate)'}`;
  if (!current && input.stale && crl.thisUpdate.getTime() <= at.getTime()) {
    warnings.push(`The CRL is past its nextUpdate (${window}); it was served stale because AMD KDS could not be reached.`);
  } else {
    checks.push({
      id: 'snp.crl.validity',
      ok: current,
      detail: current ? `The CRL is current at ${at.toISOString()}.` : `The CRL is not current at ${at.toISOString()} (it covers ${window}).`,
      ...(current ? {} : { expected: `current at ${at.toISOString()}`, found: window }),
    });
  }
  const revoked = input.subjects.filter(([, c]) => isRevoked(crl, c)).map(([name, c]) => `${name} serial ${c.serial}`);
  checks.push({
    id: 'snp.crl.revocation',
    ok: revoked.length === 0,
    detail:
      revoked.length === 0
        ? `None of ${input.subjects.map(([n]) => n).join(', ')} is revoked.`
        : `Revoked by AMD: ${revoked.join(', ')}.`,
    ...(revoked.length === 0 ? {} : { expected: 'not revoked', found: revoked }),
  });
  return { checks, warnings };
}
