// The normalised claims of an Intel quote (DESIGN.md "Claims"): measurement = MRTD (TDX) or
// MRENCLAVE (SGX), REPORT_DATA, the debug bit, the TCB outcome, the platform, and every
// report field by name (lower-case hex; SVNs and ids as numbers), and under `quote` the
// quote's own length and the count of unsigned bytes that followed it in the buffer, so a
// policy (tdx.allowTrailingBytes, sgx.allowTrailingBytes, or CEL) can judge them.

import type { Claims, TcbClaims } from '../result.ts';
import type { IntelQuote } from './abi/quote.ts';
import { sgxDebug, type SgxReportBody } from './abi/sgx-report.ts';
import { decodeTdAttributes, type TdReport } from './abi/td-report.ts';
import type { PckExtension } from './pck-extensions.ts';

const hex = (b: Buffer): string => b.toString('hex');

export function tdxFields(td: TdReport, attrs = decodeTdAttributes(td.tdAttributes)): Record<string, unknown> {
  return {
    teeTcbSvn: hex(td.teeTcbSvn),
    mrSeam: hex(td.mrSeam),
    mrSignerSeam: hex(td.mrSignerSeam),
    seamAttributes: hex(td.seamAttributes),
    tdAttributes: hex(td.tdAttributes),
    tdAttributesFlags: {
      debug: attrs.debug,
      tud: attrs.tud,
      migratable: attrs.migratable,
      septVeDisable: attrs.septVeDisable,
      pks: attrs.pks,
      kl: attrs.kl,
      perfmon: attrs.perfmon,
      reservedBitsSet: attrs.reservedBitsSet,
    },
    xfam: hex(td.xfam),
    mrTd: hex(td.mrTd),
    mrConfigId: hex(td.mrConfigId),
    mrOwner: hex(td.mrOwner),
    mrOwnerConfig: hex(td.mrOwnerConfig),
    rtmr: td.rtmr.map(hex),
    reportData: hex(td.reportData),
    ...(td.teeTcbSvn2 ? { teeTcbSvn2: hex(td.teeTcbSvn2) } : {}),
    ...(td.mrServiceTd ? { mrServiceTd: hex(td.mrServiceTd) } : {}),
  };
}

export function sgxFields(r: SgxReportBody): Record<string, unknown> {
  return {
    cpuSvn: hex(r.cpuSvn),
    miscSelect: r.miscSelect,
    isvExtProdId: hex(r.isvExtProdId),
    attributes: hex(r.attributes),
    mrEnclave: hex(r.mrEnclave),
    mrSigner: hex(r.mrSigner),
    configId: hex(r.configId),
    isvProdId: r.isvProdId,
    isvSvn: r.isvSvn,
    configSvn: r.configSvn,
    isvFamilyId: hex(r.isvFamilyId),
    reportData: hex(r.reportData),
  };
}

/** `claims.tdx.quote` / `claims.sgx.quote`: not report fields, but facts of the buffer the quote came in. */
export function quoteFields(quote: IntelQuote): { length: number; trailingBytes: number } {
  return { length: quote.length, trailingBytes: quote.trailingBytes };
}

export function intelClaims(quote: IntelQuote, pck: PckExtension | undefined, tcb: TcbClaims, simulated: boolean): Claims {
  const body = quote.body;
  const platform = { ...(pck ? { fmspc: pck.fmspc } : {}), signer: 'PCK' };
  const tcbClaims: TcbClaims = {
    ...tcb,
    ...(pck ? { pceSvn: pck.pceSvn, sgxTcbComponents: pck.sgxTcbComponents } : {}),
  };
  const base =
    body.kind === 'sgx'
      ? {
          tee: 'sgx' as const,
          measurement: hex(body.report.mrEnclave),
          reportData: hex(body.report.reportData),
          debug: sgxDebug(body.report.attributes),
          tcb: tcbClaims,
          platform,
          sgx: { ...sgxFields(body.report), quote: quoteFields(quote) },
        }
      : tdxClaims(body.report, tcbClaims, platform, quoteFields(quote));
  return simulated ? { ...base, simulated: true } : base;
}

function tdxClaims(td: TdReport, tcb: TcbClaims, platform: { fmspc?: string; signer: string }, quote: ReturnType<typeof quoteFields>): Claims {
  const attrs = decodeTdAttributes(td.tdAttributes);
  const tdx: Record<string, unknown> = { ...tdxFields(td, attrs), quote };
  return {
    tee: 'tdx',
    measurement: tdx.mrTd as string,
    reportData: tdx.reportData as string,
    // The whole TUD group, not bit 0 alone (see TdAttributes.tud).
    debug: attrs.tud,
    tcb: { ...tcb, teeTcbSvn: tdx.teeTcbSvn },
    platform,
    tdx,
  };
}
