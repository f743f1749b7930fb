// A fake AMD KDS and a fake Intel PCS: real HTTP servers on 127.0.0.1, serving the
// recorded collateral of the test vectors (test/fixtures), and able to misbehave on
// demand the way the real services do: 429 with Retry-After, 5xx, slow answers,
// truncated bodies, tampered bytes, dropped connections.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

export type Fault =
  | { status: number; retryAfter?: string }
  | { slowMs: number }
  | { truncated: true }
  /** Promise the whole body, send half, then nothing more (the connection stays open). */
  | { stalled: true }
  | { tampered: true }
  | { reset: true };

/**
 * Change one byte in the middle of a document, inside what its signature covers, keeping
 * it well-formed: a JSON body gets one digit changed (still valid JSON), DER gets a bit
 * flipped in its to-be-signed part.
 */
export function tamper(original: Uint8Array): Buffer {
  const body = Buffer.from(original);
  const mid = body.length >> 1;
  if (body[0] === 0x7b) {
    for (let i = mid; i < body.length; i++) {
      const c = body[i]!;
      if (c >= 0x30 && c <= 0x39) {
        body[i] = c === 0x39 ? 0x30 : c + 1;
        return body;
      }
    }
  }
  body[mid]! ^= 0x01;
  return body;
}

interface Route {
  body: Buffer;
  headers: Record<string, string>;
}

/** A recorded-collateral HTTP server. Routes are exact paths with their query string. */
export class FakeVendor {
  readonly routes = new Map<string, Route>();
  /** Every request received (path and query), in order. */
  readonly requests: string[] = [];
  private readonly faults: Fault[] = [];
  /** While set, every request fails with this fault (a vendor outage). */
  outage: Fault | undefined;
  private server: Server | undefined;
  url = '';

  /** The next requests (one fault each, in order) misbehave. */
  failNext(...faults: Fault[]): void {
    this.faults.push(...faults);
  }

  count(pathPrefix: string): number {
    return this.requests.filter((r) => r.startsWith(pathPrefix)).length;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = req.url ?? '/';
    this.requests.push(path);
    const fault = this.outage ?? this.faults.shift();
    const route = this.routes.get(path);
    if (fault && 'slowMs' in fault) await new Promise((r) => setTimeout(r, fault.slowMs));
    if (fault && 'reset' in fault) {
      req.socket.destroy();
      return;
    }
    if (fault && 'status' in fault) {
      res.writeHead(fault.status, { 'content-type': 'text/plain', ...(fault.retryAfter ? { 'retry-after': fault.retryAfter } : {}) });
      res.end(`fault ${fault.status}`);
      return;
    }
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    let body = route.body;
    if (fault && 'tampered' in fault) body = tamper(body);
    if (fault && 'truncated' in fault) {
      // Promise the whole body, send half, and hang up.
      res.writeHead(200, { ...route.headers, 'content-length': String(body.length) });
      res.write(body.subarray(0, body.length >> 1));
      setTimeout(() => req.socket.destroy(), 10);
      return;
    }
    if (fault && 'stalled' in fault) {
      res.writeHead(200, { ...route.headers, 'content-length': String(body.length) });
      res.write(body.subarray(0, body.length >> 1));
      // Released when the client gives up, or at the latest when the test server closes.
      setTimeout(() => req.socket.destroy(), 30_000).unref();
      return;
    }
    res.writeHead(200, { ...route.headers, 'content-length': String(body.length) });
    res.end(body);
  }
}

export interface SnpCase {
  name: string;
  dir: string;
  product: 'Milan' | 'Genoa' | 'Turin';
  chipId: string;
  tcb: { bootloader: number; tee: number; snp: number; microcode: number; fmc?: number };
  validAt: Date;
  signer: 'VCEK' | 'VLEK';
}

export function snpCase(name: string): SnpCase {
  const dir = join(FIXTURES, 'snp', name);
  const c = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8'));
  const t = c.fields.reported_tcb;
  return {
    name,
    dir,
    product: c.product.split(' ')[0],
    chipId: c.fields.chip_id,
    tcb: { bootloader: t.bootloader, tee: t.tee, snp: t.snp, microcode: t.microcode, ...(t.fmc !== undefined ? { fmc: t.fmc } : {}) },
    validAt: new Date(c.valid_at),
    signer: c.signer,
  };
}

/** The valid VCEK cases (negative cases reuse their chips with damaged files). */
export function vcekCases(): SnpCase[] {
  return readdirSync(join(FIXTURES, 'snp'))
    .filter((n) => !n.startsWith('neg-') && existsSync(join(FIXTURES, 'snp', n, 'vcek.der')))
    .map(snpCase);
}

/** AMD KDS, serving each valid case's VCEK at its URL and each product's cert chains. No CRLs were recorded: /crl is 404. */
export class FakeKds extends FakeVendor {
  constructor() {
    super();
    for (const c of vcekCases()) {
      const hwid = c.product === 'Turin' ? c.chipId.slice(0, 16) : c.chipId;
      const q = `${c.tcb.fmc !== undefined ? `fmcSPL=${c.tcb.fmc}&` : ''}blSPL=${c.tcb.bootloader}&teeSPL=${c.tcb.tee}&snpSPL=${c.tcb.snp}&ucodeSPL=${c.tcb.microcode}`;
      this.routes.set(`/vcek/v1/${c.product}/${hwid}?${q}`, {
        body: readFileSync(join(c.dir, 'vcek.der')),
        headers: { 'content-type': 'application/x-x509-ca-cert' },
      });
    }
    for (const p of ['Milan', 'Genoa', 'Turin']) {
      for (const kind of ['vcek', 'vlek']) {
        this.routes.set(`/${kind}/v1/${p}/cert_chain`, {
          body: readFileSync(join(FIXTURES, 'snp', 'amd-roots', p.toLowerCase(), `cert_chain_${kind}.pem`)),
          headers: { 'content-type': 'application/x-pem-file' },
        });
      }
    }
  }
}

export interface IntelCase {
  name: string;
  dir: string;
  tee: 'tdx' | 'sgx';
  fmspc: string;
  ca: 'platform' | 'processor';
  verifyAt: Date;
  files: Set<string>;
}

export function intelCase(name: string): IntelCase {
  const tee = name.startsWith('sgx-') ? 'sgx' : 'tdx';
  const dir = join(FIXTURES, tee, name);
  const c = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8'));
  return {
    name,
    dir,
    tee,
    fmspc: c.pck.fmspc,
    ca: /Processor/.test(c.pck.issuer_ca) ? 'processor' : 'platform',
    verifyAt: new Date(c.verify_at),
    files: new Set(readdirSync(dir)),
  };
}

function chainHeader(dir: string, file: string): string {
  // As Intel sends it: the PEM chain, URL-encoded.
  return encodeURIComponent(readFileSync(join(dir, file), 'utf8'));
}

/** Intel PCS v4 (PCCS routes, so the Root CA CRL is at /sgx/certification/v4/rootcacrl). */
export class FakePcs extends FakeVendor {
  /** Serve the collateral recorded with `name` (replacing what was served for the same documents). */
  serveCase(name: string): IntelCase {
    const c = intelCase(name);
    const { dir, tee } = c;
    this.routes.set(`/${tee}/certification/v4/tcb?fmspc=${c.fmspc}`, {
      body: readFileSync(join(dir, 'tcb_info.json')),
      headers: { 'content-type': 'application/json', 'TCB-Info-Issuer-Chain': chainHeader(dir, 'tcb_info_issuer_chain.pem') },
    });
    this.routes.set(`/${tee}/certification/v4/qe/identity`, {
      body: readFileSync(join(dir, 'qe_identity.json')),
      headers: { 'content-type': 'application/json', 'SGX-Enclave-Identity-Issuer-Chain': chainHeader(dir, 'qe_identity_issuer_chain.pem') },
    });
    if (c.files.has('pck_crl.der')) {
      this.routes.set(`/sgx/certification/v4/pckcrl?ca=${c.ca}&encoding=der`, {
        body: readFileSync(join(dir, 'pck_crl.der')),
        headers: { 'content-type': 'application/pkix-crl', 'SGX-PCK-CRL-Issuer-Chain': chainHeader(dir, 'pck_crl_issuer_chain.pem') },
      });
    }
    if (c.files.has('root_ca_crl.der')) {
      this.routes.set('/sgx/certification/v4/rootcacrl', { body: readFileSync(join(dir, 'root_ca_crl.der')), headers: { 'content-type': 'application/pkix-crl' } });
    }
    return c;
  }
}

/** An HTTP client configuration for tests: fast retries, no real waiting on Retry-After. */
export function fastHttp(waits: number[] = []) {
  return {
    timeoutMs: 2_000,
    retries: 3,
    backoffBaseMs: 1,
    maxBackoffMs: 5,
    sleep: async (ms: number) => {
      waits.push(ms);
    },
  };
}

/** A fake KDS and PCS on 127.0.0.1 for the whole test file: started before its tests, stopped after. */
export function useFakeVendors(): { kds: FakeKds; pcs: FakePcs } {
  const kds = new FakeKds();
  const pcs = new FakePcs();
  beforeAll(async () => {
    await kds.start();
    await pcs.start();
  });
  afterAll(async () => {
    await kds.stop();
    await pcs.stop();
  });
  return { kds, pcs };
}
