// The TCB status of a quote, as Intel's QVL computes it:
//  - SGX level: the first TCB Info level (highest first) whose 16 SGX component SVNs and
//    PCESVN are all <= those of the PCK certificate (QVL TcbLevelCheck.cpp matchTcbLevels,
//    isCpuSvnHigherOrEqual). The quote's own CPUSVN is never used.
//  - TDX level: the first such level whose tdxtcbcomponents are also <= TEE_TCB_SVN,
//    skipping indexes 0 and 1 when TEE_TCB_SVN[1] (TDX module major version) > 0: those two
//    are judged by the TDX module identity instead (isTdxTcbHigherOrEqual).
//  - TDX module: identity "TDX_%02X" % TEE_TCB_SVN[1], its first level with ISVSVN <=
//    TEE_TCB_SVN[0]; major version 0 has no identity (TdxModuleCheck.cpp).
//  - Combination: TDX level with module (convergeTcbStatusWithTdxModuleStatus), then for a
//    TD 1.5 report the relaunch rule on TEE_TCB_SVN_2 (TDRelaunchCheck.cpp checkForRelaunch),
//    then the QE identity status (convergeTcbStatusWithQeTcbStatus). SGX: SGX level with QE.
// Sources: intel/SGXDataCenterAttestationPrimitives QuoteVerification/QVL/Src/
// AttestationLibrary/src/Verifiers/Checks/{TcbLevelCheck,TdxModuleCheck,TDRelaunchCheck}.cpp.

import { INTEL_TCB_STATUSES, type IntelTcbStatus } from '../result.ts';
import type { TdReport } from './abi/td-report.ts';
import type { PckExtension } from './pck-extensions.ts';
import type { QeIdentityLevel } from './qe-identity.ts';
import type { TcbInfoBody, TcbLevel, TdxModuleIdentity, TdxModuleLevel } from './tcb-info.ts';

/** QE identity outcome (QVL EnclaveReportVerifier: OK, ISVSVN_OUT_OF_DATE, _REVOKED, _NOT_SUPPORTED). */
export type QeTcbStatus = 'UpToDate' | 'OutOfDate' | 'Revoked' | 'NotSupported';

export function qeTcbStatus(level: QeIdentityLevel | undefined): QeTcbStatus {
  if (!level) return 'NotSupported';
  if (level.tcbStatus === 'UpToDate') return 'UpToDate';
  return level.tcbStatus === 'Revoked' ? 'Revoked' : 'OutOfDate';
}

export interface TcbEvaluation {
  status: IntelTcbStatus;
  advisoryIds: string[];
  /** tcbDate of the matched platform level (SGX level for SGX, TDX level for TDX): QvE's tcb_level_date_tag. */
  tcbDate?: string;
  sgxLevel?: TcbLevel;
  tdxLevel?: TcbLevel;
  moduleLevel?: TdxModuleLevel;
  qeLevel?: QeIdentityLevel;
  /** Set when no level matched or a status is not one Intel defines: why. */
  reason?: string;
}

// QVL TcbStatus.h VALID_TCB_INFO_STATUSES / VALID_MODULE_TCB_STATUSES: what a TCB Info level
// may say. The relaunch statuses and TcbNotSupported are never served: the evaluation below
// reaches them itself.
const TCB_INFO_STATUSES = new Set<IntelTcbStatus>(
  INTEL_TCB_STATUSES.filter((s) => s !== 'TDRelaunchAdvised' && s !== 'TDRelaunchAdvisedConfigurationNeeded' && s !== 'TcbNotSupported'),
);
const MODULE_STATUSES = new Set<IntelTcbStatus>(['UpToDate', 'OutOfDate', 'Revoked']);

function sgxMeets(pck: PckExtension, level: TcbLevel): boolean {
  const comps = level.tcb.sgxtcbcomponents;
  for (let i = 0; i < 16; i++) if (pck.sgxTcbComponents[i]! < comps[i]!.svn) return false;
  return pck.pceSvn >= level.tcb.pcesvn;
}

function tdxMeets(teeTcbSvn: Buffer, level: TcbLevel): boolean {
  const comps = level.tcb.tdxtcbcomponents!;
  for (let i = teeTcbSvn[1]! > 0 ? 2 : 0; i < 16; i++) if (teeTcbSvn[i]! < comps[i]!.svn) return false;
  return true;
}

export function moduleIdentityId(majorVersion: number): string {
  return `TDX_${majorVersion.toString(16).toUpperCase().padStart(2, '0')}`;
}

export function findModuleIdentity(info: TcbInfoBody, majorVersion: number): TdxModuleIdentity | undefined {
  const id = moduleIdentityId(majorVersion);
  return info.tdxModuleIdentities?.find((m) => m.id.toUpperCase() === id);
}

/** convergeTcbStatusWithQeTcbStatus (TcbLevelCheck.cpp). */
function withQe(status: IntelTcbStatus, qe: QeTcbStatus): IntelTcbStatus {
  if (qe === 'OutOfDate') {
    if (status === 'UpToDate' || status === 'SWHardeningNeeded') return 'OutOfDate';
    if (status === 'ConfigurationNeeded' || status === 'ConfigurationAndSWHardeningNeeded') return 'OutOfDateConfigurationNeeded';
  }
  if (qe === 'Revoked') return 'Revoked';
  if (qe === 'NotSupported') return 'TcbNotSupported';
  return status;
}

/** convergeTcbStatusWithTdxModuleStatus (TdxModuleCheck.cpp). */
function withModule(status: IntelTcbStatus, module: IntelTcbStatus): IntelTcbStatus {
  if (module === 'OutOfDate') {
    if (status === 'UpToDate' || status === 'SWHardeningNeeded') return 'OutOfDate';
    if (status === 'ConfigurationNeeded' || status === 'ConfigurationAndSWHardeningNeeded') return 'OutOfDateConfigurationNeeded';
  }
  if (module === 'Revoked') return 'Revoked';
  return status;
}

const CONFIGURATION_NEEDED = new Set<IntelTcbStatus>([
  'ConfigurationNeeded',
  'OutOfDateConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'TDRelaunchAdvisedConfigurationNeeded',
]);

/**
 * TDRelaunchCheck.cpp checkForRelaunch: a TD 1.5 whose TDX TCB is out of date only because
 * of the module it was launched on, while TEE_TCB_SVN_2 (the module now running, after a
 * TD-preserving update) meets the latest level, is advised to relaunch rather than OutOfDate.
 */
function relaunch(
  svn2: Buffer,
  info: TcbInfoBody,
  sgx: IntelTcbStatus,
  tdx: IntelTcbStatus,
  module: IntelTcbStatus,
  qe: QeTcbStatus,
): IntelTcbStatus | { mismatch: string } {
  if (qe === 'OutOfDate' || qe === 'Revoked' || qe === 'NotSupported') return tdx;
  if (!['UpToDate', 'SWHardeningNeeded', 'ConfigurationNeeded', 'ConfigurationAndSWHardeningNeeded'].includes(sgx)) return tdx;
  if (tdx !== 'OutOfDate' && tdx !== 'OutOfDateConfigurationNeeded') return tdx;
  if (module !== 'OutOfDate') return tdx;
  const latest = info.tcbLevels[0]!;
  const latestTdx = latest.tcb.tdxtcbcomponents!;
  let meets: boolean;
  if (svn2[1] === 0) {
    meets = svn2[0]! >= latestTdx[0]!.svn && svn2[2]! >= latestTdx[2]!.svn;
  } else {
    const identity = findModuleIdentity(info, svn2[1]!);
    if (!identity) return { mismatch: `no TDX module identity ${moduleIdentityId(svn2[1]!)} for TEE_TCB_SVN_2` };
    const latestModule = identity.tcbLevels[0];
    if (!latestModule) return tdx;
    meets = svn2[0]! >= latestModule.tcb.isvsvn && svn2[2]! >= latestTdx[2]!.svn;
  }
  if (!meets) return tdx;
  return CONFIGURATION_NEEDED.has(sgx) || CONFIGURATION_NEEDED.has(tdx) ? 'TDRelaunchAdvisedConfigurationNeeded' : 'TDRelaunchAdvised';
}

function union(...lists: (string[] | undefined)[]): string[] {
  const out: string[] = [];
  for (const list of lists) for (const id of list ?? []) if (!out.includes(id)) out.push(id);
  return out;
}

export interface TcbInput {
  tcbInfo: TcbInfoBody;
  pck: PckExtension;
  /** TDX quotes only. */
  td?: TdReport;
  qeLevel: QeIdentityLevel | undefined;
}

/**
 * The combined status with the advisories of every matched level (platform level, TDX
 * module level, QE identity level; de-duplicated, in that order).
 */
export function evaluateTcb(input: TcbInput): TcbEvaluation {
  const { tcbInfo, pck, td, qeLevel } = input;
  const qe = qeTcbStatus(qeLevel);
  const notSupported = (reason: string, extra: Partial<TcbEvaluation> = {}): TcbEvaluation => ({
    status: 'TcbNotSupported',
    advisoryIds: [],
    reason,
    ...extra,
    ...(qeLevel ? { qeLevel } : {}),
  });

  let sgxLevel: TcbLevel | undefined;
  let tdxLevel: TcbLevel | undefined;
  for (const level of tcbInfo.tcbLevels) {
    if (!sgxMeets(pck, level)) continue;
    sgxLevel ??= level;
    if (!td || tdxMeets(td.teeTcbSvn, level)) {
      tdxLevel = td ? level : undefined;
      break;
    }
  }
  if (!sgxLevel) {
    return notSupported(
      `No TCB level of the TCB Info is met by the PCK certificate's SGX TCB (components ${pck.sgxTcbComponents.join(',')}, PCESVN ${pck.pceSvn}).`,
    );
  }
  const sgxStatus = sgxLevel.tcbStatus as IntelTcbStatus;
  if (!TCB_INFO_STATUSES.has(sgxStatus)) return notSupported(`The matched TCB level has an unrecognised status "${sgxLevel.tcbStatus}".`, { sgxLevel });

  if (!td) {
    return {
      status: withQe(sgxStatus, qe),
      advisoryIds: union(sgxLevel.advisoryIDs, qeLevel?.advisoryIDs),
      tcbDate: sgxLevel.tcbDate,
      sgxLevel,
      ...(qeLevel ? { qeLevel } : {}),
    };
  }

  if (!tdxLevel) {
    return notSupported(`No TCB level is met by both the PCK certificate's SGX TCB and TEE_TCB_SVN ${td.teeTcbSvn.toString('hex')}.`, { sgxLevel });
  }
  const tdxLevelStatus = tdxLevel.tcbStatus as IntelTcbStatus;
  if (!TCB_INFO_STATUSES.has(tdxLevelStatus)) {
    return notSupported(`The matched TDX TCB level has an unrecognised status "${tdxLevel.tcbStatus}".`, { sgxLevel, tdxLevel });
  }

  // TDX module: major version 0 (quote v4+) has no identity and counts as UpToDate.
  let moduleStatus: IntelTcbStatus = 'UpToDate';
  let moduleLevel: TdxModuleLevel | undefined;
  const major = td.teeTcbSvn[1]!;
  if (major > 0) {
    const identity = findModuleIdentity(tcbInfo, major);
    if (!identity) return notSupported(`The TCB Info has no TDX module identity ${moduleIdentityId(major)}.`, { sgxLevel, tdxLevel });
    moduleLevel = identity.tcbLevels.find((l) => td.teeTcbSvn[0]! >= l.tcb.isvsvn);
    if (!moduleLevel) {
      return notSupported(`No level of TDX module identity ${identity.id} is met by its ISVSVN ${td.teeTcbSvn[0]}.`, { sgxLevel, tdxLevel });
    }
    moduleStatus = moduleLevel.tcbStatus as IntelTcbStatus;
    if (!MODULE_STATUSES.has(moduleStatus)) {
      return notSupported(`The TDX module level has an unrecognised status "${moduleLevel.tcbStatus}".`, { sgxLevel, tdxLevel, moduleLevel });
    }
  }
  const matched = { sgxLevel, tdxLevel, ...(moduleLevel ? { moduleLevel } : {}), ...(qeLevel ? { qeLevel } : {}) };
  const advisoryIds = union(tdxLevel.advisoryIDs, moduleLevel?.advisoryIDs, qeLevel?.advisoryIDs);

  let status = withModule(tdxLevelStatus, moduleStatus);
  if (status !== 'Revoked') {
    if (td.kind === 'td15' && td.teeTcbSvn2) {
      const r = relaunch(td.teeTcbSvn2, tcbInfo, sgxStatus, status, moduleStatus, qe);
      if (typeof r !== 'string') return notSupported(`TD relaunch check: ${r.mismatch}.`, matched);
      status = r;
    }
    status = withQe(status, qe);
  }
  return { status, advisoryIds, tcbDate: tdxLevel.tcbDate, ...matched };
}
