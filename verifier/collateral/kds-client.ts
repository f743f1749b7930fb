// AMD Key Distribution Service client (AMD "Versioned Chip Endorsement Key (VCEK)
// Certificate and KDS Interface Specification", pub. 57230):
//   GET {base}/vcek/v1/{product}/{hwid}?blSPL=&teeSPL=&snpSPL=&ucodeSPL=   VCEK, DER
//       (Turin: fmcSPL= first, and hwid is the first 8 bytes of CHIP_ID)
//   GET {base}/{vcek|vlek}/v1/{product}/cert_chain                         ASK|ASVK then ARK, PEM
//   GET {base}/{vcek|vlek}/v1/{product}/crl                                CRL signed by the ARK, DER
// VLEKs are issued to a cloud provider and cannot be fetched: they come with the evidence.
// The base URL is configurable so a mirror or caching proxy can stand in for AMD.

import type { CollateralDocument } from './source.ts';
import type { SnpProduct } from '../snp/product.ts';
import type { SnpSignerKind, SnpTcbParts } from './source.ts';
import { describeDocument, normalizeRequest } from './document.ts';
import { httpGet, type HttpOptions } from './http.ts';

export const AMD_KDS_URL = 'https://kdsintf.amd.com';

export interface KdsClientOptions {
  /** Default https://kdsintf.amd.com. */
  baseUrl?: string;
  http?: HttpOptions;
}

function trimBase(url: string): string {
  return url.replace(/\/+$/, '');
}

export class KdsClient {
  readonly baseUrl: string;
  private readonly http: HttpOptions;

  constructor(options: KdsClientOptions = {}) {
    this.baseUrl = trimBase(options.baseUrl ?? AMD_KDS_URL);
    this.http = options.http ?? {};
  }

  /** The URL of a VCEK (exported for the CLI, which prints what it fetched). */
  vcekUrl(req: { product: SnpProduct; hwId: string; tcb: SnpTcbParts }): string {
    const r = normalizeRequest({ kind: 'snp-vcek' as const, ...req });
    const t = r.tcb;
    const q = new URLSearchParams();
    // Parameter order as in AMD's examples and go-sev-guest kds.go (fmcSPL first on Turin).
    if (t.fmc !== undefined) q.set('fmcSPL', String(t.fmc));
    q.set('blSPL', String(t.bootloader));
    q.set('teeSPL', String(t.tee));
    q.set('snpSPL', String(t.snp));
    q.set('ucodeSPL', String(t.microcode));
    return `${this.baseUrl}/vcek/v1/${r.product}/${r.hwId}?${q.toString()}`;
  }

  async snpVcek(req: { product: SnpProduct; hwId: string; tcb: SnpTcbParts }): Promise<CollateralDocument> {
    const document = describeDocument(normalizeRequest({ kind: 'snp-vcek', ...req }));
    const res = await httpGet(this.vcekUrl(req), document, this.http);
    return { bytes: res.body, source: 'amd-kds' };
  }

  async snpCertChain(req: { product: SnpProduct; signer: SnpSignerKind }): Promise<CollateralDocument> {
    const r = normalizeRequest({ kind: 'snp-cert-chain', ...req });
    const res = await httpGet(`${this.baseUrl}/${req.signer}/v1/${req.product}/cert_chain`, describeDocument(r), this.http);
    return { bytes: res.body, source: 'amd-kds' };
  }

  async snpCrl(req: { product: SnpProduct; signer: SnpSignerKind }): Promise<CollateralDocument> {
    const r = normalizeRequest({ kind: 'snp-crl', ...req });
    const res = await httpGet(`${this.baseUrl}/${req.signer}/v1/${req.product}/crl`, describeDocument(r), this.http);
    return { bytes: res.body, source: 'amd-kds' };
  }
}
