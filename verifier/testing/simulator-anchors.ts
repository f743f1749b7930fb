// How the real verifier is pointed at the simulator: trust anchors holding the simulated
// roots (each marked `simulated: true`, so every result that chains to them carries
// `claims.simulated`), and a CollateralSource serving the simulated AMD and Intel
// documents the way AMD KDS and Intel PCS serve the real ones. Only a server started in
// development mode may use these (DESIGN.md, "Guest agent").

import type { TrustAnchors } from '../anchors.ts';
import { CollateralUnavailableError } from '../errors.ts';
import type { CollateralDocument, CollateralSource } from '../collateral/source.ts';
import { certificatesPem, type SimulatorChain } from './simulated-chain.ts';

export function simulatorAnchors(chain: SimulatorChain): TrustAnchors {
  return {
    amd: [{ product: chain.amd.product, arkDer: chain.amd.ark, askDer: chain.amd.ask, simulated: true }],
    intel: [{ rootDer: chain.intel.root, simulated: true }],
  };
}

const SOURCE = 'simulator';

function doc(bytes: Uint8Array, issuerChain?: string): CollateralDocument {
  return issuerChain === undefined ? { bytes, source: SOURCE } : { bytes, issuerChain, source: SOURCE };
}

/**
 * The simulated vendors' collateral. Like AMD KDS, it knows one VCEK: the one for the
 * simulated chip at the TCB it was issued for; like Intel PCS, one FMSPC. Anything else is
 * CollateralUnavailableError, as a vendor's 404 would be.
 */
export function simulatorCollateralSource(chain: SimulatorChain): CollateralSource {
  const { amd, intel } = chain;
  const unavailable = (document: string, why: string): Promise<never> =>
    Promise.reject(new CollateralUnavailableError(document, `The simulator has no ${document} ${why}.`));
  return {
    snpVcek({ product, hwId, tcb }) {
      const t = amd.tcb;
      const same =
        product === amd.product &&
        hwId.toLowerCase() === amd.chipId.toString('hex') &&
        tcb.bootloader === t.bootloader &&
        tcb.tee === t.tee &&
        tcb.snp === t.snp &&
        tcb.microcode === t.microcode &&
        (tcb.fmc ?? 0) === 0;
      return same ? Promise.resolve(doc(amd.vcek)) : unavailable('vcek', `for ${product} chip ${hwId.slice(0, 16)}... at that TCB (it simulates one chip at one TCB)`);
    },
    snpCertChain({ product, signer }) {
      if (product !== amd.product || signer !== 'vcek') return unavailable('cert_chain', `for ${product} ${signer} (it simulates Milan VCEKs only)`);
      return Promise.resolve(doc(Buffer.from(certificatesPem(amd.ask, amd.ark), 'utf8')));
    },
    snpCrl({ product, signer }) {
      if (product !== amd.product || signer !== 'vcek') return unavailable('crl', `for ${product} ${signer} (it simulates Milan VCEKs only)`);
      return Promise.resolve(doc(amd.crl));
    },
    intelTcbInfo({ tee, fmspc }) {
      if (tee !== 'tdx' || fmspc.toLowerCase() !== intel.fmspc.toString('hex')) return unavailable('tcb-info', `for ${tee} FMSPC ${fmspc} (it simulates one TDX platform)`);
      return Promise.resolve(doc(Buffer.from(intel.tcbInfo, 'utf8'), certificatesPem(intel.tcbSigning, intel.root)));
    },
    intelQeIdentity({ tee }) {
      if (tee !== 'tdx') return unavailable('qe-identity', `for ${tee} (it simulates TDX only)`);
      return Promise.resolve(doc(Buffer.from(intel.qeIdentity, 'utf8'), certificatesPem(intel.tcbSigning, intel.root)));
    },
    intelPckCrl({ ca }) {
      if (ca !== 'platform') return unavailable('pck-crl', `for the ${ca} CA (its PCK leaf is issued by the Platform CA)`);
      return Promise.resolve(doc(intel.pckCrl, certificatesPem(intel.pckCa, intel.root)));
    },
    intelRootCaCrl() {
      return Promise.resolve(doc(intel.rootCaCrl));
    },
  };
}
