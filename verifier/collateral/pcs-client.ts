// Intel Provisioning Certification Service client, API v4 (Intel "SGX and TDX PCS API"
// documentation; the same paths are served by a PCCS, so the base URL is configurable):
//   GET {base}/tdx/certification/v4/tcb?fmspc=       TCB Info (TDX)  header TCB-Info-Issuer-Chain
//   GET {base}/sgx/certification/v4/tcb?fmspc=       TCB Info (SGX)  header TCB-Info-Issuer-Chain
//   GET {base}/tdx/certification/v4/qe/identity      TD_QE Identity  header SGX-Enclave-Identity-Issuer-Chain
//   GET {base}/sgx/certification/v4/qe/identity      QE Identity     header SGX-Enclave-Identity-Issuer-Chain
//   GET {base}/sgx/certification/v4/pckcrl?ca=platform|processor&encoding=der
//                                                    PCK CRL         header SGX-PCK-CRL-Issuer-Chain
// Issuer chains come URL-encoded (PEM, leaf first). The Intel SGX Root CA CRL is not
// served by PCS: Intel publishes it at the CRL distribution point of the root
// certificate; a PCCS serves it at /sgx/certification/v4/rootcacrl (hex or DER).

import type { CollateralDocument, IntelTee, PckCa } from './source.ts';
import { describeDocument, normalizeRequest, type CollateralRequest } from './document.ts';
import { httpGet, UpstreamError, type HttpOptions, type HttpResponse } from './http.ts';

export const INTEL_PCS_URL = 'https://api.trustedservices.intel.com';
/** The CRL distribution point in the Intel SGX Root CA certificate. */
export const INTEL_ROOT_CA_CRL_URL = 'https://certificates.trustedservices.intel.com/IntelSGXRootCA.der';

export interface PcsClientOptions {
  /** Default https://api.trustedservices.intel.com; a PCCS or mirror URL otherwise. */
  baseUrl?: string;
  /**
   * Where the Root CA CRL is fetched. Default: Intel's distribution point when baseUrl is
   * Intel PCS, else `{baseUrl}/sgx/certification/v4/rootcacrl` (the PCCS route).
   */
  rootCaCrlUrl?: string;
  http?: HttpOptions;
}

function trimBase(url: string): string {
  return url.replace(/\/+$/, '');
}

/** Header names, v4 first; PCS API v3 used SGX-TCB-Info-Issuer-Chain, which some PCCS still send. */
const ISSUER_CHAIN_HEADERS = {
  tcb: ['TCB-Info-Issuer-Chain', 'SGX-TCB-Info-Issuer-Chain'],
  identity: ['SGX-Enclave-Identity-Issuer-Chain'],
  crl: ['SGX-PCK-CRL-Issuer-Chain'],
} as const;

export class PcsClient {
  readonly baseUrl: string;
  readonly rootCaCrlUrl: string;
  private readonly http: HttpOptions;

  constructor(options: PcsClientOptions = {}) {
    this.baseUrl = trimBase(options.baseUrl ?? INTEL_PCS_URL);
    this.rootCaCrlUrl =
      options.rootCaCrlUrl ?? (this.baseUrl === INTEL_PCS_URL ? INTEL_ROOT_CA_CRL_URL : `${this.baseUrl}/sgx/certification/v4/rootcacrl`);
    this.http = options.http ?? {};
  }

  private issuerChain(res: HttpResponse, names: readonly string[], document: string): string {
    for (const name of names) {
      const raw = res.headers.get(name);
      if (raw === null) continue;
      let pem: string;
      try {
        pem = decodeURIComponent(raw);
      } catch {
        throw new UpstreamError(document, res.url, `The ${document} from ${res.url} has a ${name} header that is not valid URL encoding.`, res.status, 1);
      }
      if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
        throw new UpstreamError(document, res.url, `The ${document} from ${res.url} has a ${name} header without a PEM certificate.`, res.status, 1);
      }
      return pem;
    }
    throw new UpstreamError(document, res.url, `The ${document} from ${res.url} came without its ${names[0]} header.`, res.status, 1);
  }

  private async get(request: CollateralRequest, url: string, chainHeaders?: readonly string[]): Promise<CollateralDocument> {
    const document = describeDocument(request);
    const res = await httpGet(url, document, this.http);
    const doc: CollateralDocument = { bytes: res.body, source: 'intel-pcs' };
    if (chainHeaders) doc.issuerChain = this.issuerChain(res, chainHeaders, document);
    return doc;
  }

  intelTcbInfo(req: { tee: IntelTee; fmspc: string }): Promise<CollateralDocument> {
    const r = normalizeRequest({ kind: 'intel-tcb-info' as const, ...req });
    return this.get(r, `${this.baseUrl}/${r.tee}/certification/v4/tcb?fmspc=${r.fmspc}`, ISSUER_CHAIN_HEADERS.tcb);
  }

  intelQeIdentity(req: { tee: IntelTee }): Promise<CollateralDocument> {
    const r = normalizeRequest({ kind: 'intel-qe-identity' as const, ...req });
    return this.get(r, `${this.baseUrl}/${r.tee}/certification/v4/qe/identity`, ISSUER_CHAIN_HEADERS.identity);
  }

  intelPckCrl(req: { ca: PckCa }): Promise<CollateralDocument> {
    const r = normalizeRequest({ kind: 'intel-pck-crl' as const, ...req });
    return this.get(r, `${this.baseUrl}/sgx/certification/v4/pckcrl?ca=${r.ca}&encoding=der`, ISSUER_CHAIN_HEADERS.crl);
  }

  async intelRootCaCrl(): Promise<CollateralDocument> {
    const doc = await this.get({ kind: 'intel-root-ca-crl' }, this.rootCaCrlUrl);
    return { ...doc, bytes: rootCaCrlDer(doc.bytes) };
  }
}

/**
 * Intel's distribution point serves DER; PCCS versions have served the same CRL as a hex
 * string. Hex is decoded here so that every cached copy is DER; DER and PEM pass through
 * (the CRL parser reads both).
 */
export function rootCaCrlDer(body: Uint8Array): Uint8Array {
  if (body.length > 0 && body[0] === 0x30) return body;
  const text = Buffer.from(body).toString('latin1').trim();
  if (/^([0-9a-fA-F]{2})+$/.test(text)) return new Uint8Array(Buffer.from(text, 'hex'));
  return body;
}
