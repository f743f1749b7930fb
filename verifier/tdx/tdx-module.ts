// The TDX module that produced the TD report must be one Intel signs for this platform:
// MRSIGNERSEAM equal to, and SEAMATTRIBUTES under the mask equal to, those of the TCB Info's
// tdxModule, or of the tdxModuleIdentities entry "TDX_%02X" % TEE_TCB_SVN[1] when the quote
// is v4+ and the module major version is above 0. QVL QuoteVerifier.cpp 4.1.2.4.11.

import type { Check } from '../result.ts';
import type { TdReport } from './abi/td-report.ts';
import { fail, pass } from './check.ts';
import type { TcbInfoBody } from './tcb-info.ts';
import { findModuleIdentity, moduleIdentityId } from './tcb-status.ts';

interface ModuleExpectation {
  mrsigner: string;
  attributes: string;
  attributesMask: string;
}

// The TCB Info is parsed once and reused: decode its hex values once too.
const decodedCache = new WeakMap<ModuleExpectation, { mrSigner: Buffer; mask: Buffer; attrs: Buffer }>();

function decoded(m: ModuleExpectation): { mrSigner: Buffer; mask: Buffer; attrs: Buffer } {
  let d = decodedCache.get(m);
  if (!d) {
    d = { mrSigner: Buffer.from(m.mrsigner, 'hex'), mask: Buffer.from(m.attributesMask, 'hex'), attrs: Buffer.from(m.attributes, 'hex') };
    decodedCache.set(m, d);
  }
  return d;
}

export function checkTdxModule(td: TdReport, info: TcbInfoBody, quoteVersion: number): Check {
  const id = 'tdx.tdx-module.identity';
  const major = td.teeTcbSvn[1]!;
  let source = 'tdxModule';
  let expected: ModuleExpectation = info.tdxModule!;
  if (quoteVersion > 3 && major > 0) {
    const identity = findModuleIdentity(info, major);
    if (!identity) {
      return fail(id, `The TCB Info has no TDX module identity for module major version ${major}.`, moduleIdentityId(major), {
        available: (info.tdxModuleIdentities ?? []).map((m) => m.id),
      });
    }
    source = identity.id;
    expected = identity;
  }
  const { mrSigner, mask, attrs } = decoded(expected);
  if (!mrSigner.equals(td.mrSignerSeam)) {
    return fail(id, `MRSIGNERSEAM is not the signer of TDX module ${source}.`, expected.mrsigner.toLowerCase(), td.mrSignerSeam.toString('hex'));
  }
  const masked = Buffer.alloc(8);
  for (let i = 0; i < 8; i++) masked[i] = td.seamAttributes[i]! & mask[i]!;
  if (!masked.equals(attrs)) {
    return fail(id, `SEAMATTRIBUTES under the mask differ from TDX module ${source}.`, attrs.toString('hex'), masked.toString('hex'));
  }
  return pass(id, `MRSIGNERSEAM and SEAMATTRIBUTES match TDX module ${source} of the TCB Info.`);
}
