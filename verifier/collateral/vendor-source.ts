// The vendors themselves as a CollateralSource: AMD KDS for SEV-SNP documents, Intel PCS
// (or a PCCS) for TDX/SGX ones, with one request in flight per document. No cache: put a
// CachingCollateralSource in front of it for anything but a one-off fetch.

import type { CollateralDocument, CollateralSource, IntelTee, PckCa, SnpSignerKind, SnpTcbParts } from './source.ts';
import type { SnpProduct } from '../snp/product.ts';
import { documentKey, type CollateralRequest } from './document.ts';
import { KdsClient, type KdsClientOptions } from './kds-client.ts';
import { PcsClient, type PcsClientOptions } from './pcs-client.ts';
import { SingleFlight } from './single-flight.ts';
import type { HttpOptions } from './http.ts';

export interface VendorSourceOptions {
  kds?: KdsClientOptions;
  pcs?: PcsClientOptions;
  /** Defaults for both clients (each client's own `http` wins). */
  http?: HttpOptions;
}

export class VendorCollateralSource implements CollateralSource {
  readonly kds: KdsClient;
  readonly pcs: PcsClient;
  private readonly flights = new SingleFlight<CollateralDocument>();

  constructor(options: VendorSourceOptions = {}) {
    this.kds = new KdsClient({ ...options.kds, http: { ...options.http, ...options.kds?.http } });
    this.pcs = new PcsClient({ ...options.pcs, http: { ...options.http, ...options.pcs?.http } });
  }

  private once(request: CollateralRequest, fetch: () => Promise<CollateralDocument>): Promise<CollateralDocument> {
    return this.flights.run(documentKey(request), fetch);
  }

  snpVcek(req: { product: SnpProduct; hwId: string; tcb: SnpTcbParts }): Promise<CollateralDocument> {
    return this.once({ kind: 'snp-vcek', ...req }, () => this.kds.snpVcek(req));
  }
  snpCertChain(req: { product: SnpProduct; signer: SnpSignerKind }): Promise<CollateralDocument> {
    return this.once({ kind: 'snp-cert-chain', ...req }, () => this.kds.snpCertChain(req));
  }
  snpCrl(req: { product: SnpProduct; signer: SnpSignerKind }): Promise<CollateralDocument> {
    return this.once({ kind: 'snp-crl', ...req }, () => this.kds.snpCrl(req));
  }
  intelTcbInfo(req: { tee: IntelTee; fmspc: string }): Promise<CollateralDocument> {
    return this.once({ kind: 'intel-tcb-info', ...req }, () => this.pcs.intelTcbInfo(req));
  }
  intelQeIdentity(req: { tee: IntelTee }): Promise<CollateralDocument> {
    return this.once({ kind: 'intel-qe-identity', ...req }, () => this.pcs.intelQeIdentity(req));
  }
  intelPckCrl(req: { ca: PckCa }): Promise<CollateralDocument> {
    return this.once({ kind: 'intel-pck-crl', ...req }, () => this.pcs.intelPckCrl(req));
  }
  intelRootCaCrl(): Promise<CollateralDocument> {
    return this.once({ kind: 'intel-root-ca-crl' }, () => this.pcs.intelRootCaCrl());
  }
}
