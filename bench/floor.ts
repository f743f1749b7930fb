// The floor of POST /v1/attest on this machine: the least work any server meeting issue 5
// must do per attestation, with nothing else. Measured in the same run as the real server,
// so the distance between the two is what tessera's own code costs, and the floor itself
// is what the machine allows (its cores, its ECDSA P-384, its disk's fdatasync).
//
// Per request: node:http, JSON.parse, base64, the challenge's HMAC and expiry, the evidence
// gathered and verified exactly as the real server does (the same collateral, the same
// verify pool, the same rule for verifying on the event loop when alone), and the challenge
// consumed once, durably: one row through the same group commit and WAL sync. No Hono, no
// zod, no binding, no policy, no token, no attestation row, no audit entry.

import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServiceContext } from '../server/context.ts';
import type { Evidence } from '../verifier/evidence.ts';
import { prepareEvidence } from '../verifier/verify-evidence.ts';

export interface FloorServer {
  url: string;
  stop(): Promise<void>;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
}

interface AttestBody {
  challenge: string;
  evidence: { report: string; certificates: { vcek: string } };
}

/** One SEV-SNP attestation, floor work only; true when it verified and was consumed. */
async function floorAttest(ctx: ServiceContext, body: AttestBody, inFlight: number): Promise<boolean> {
  const now = Date.now();
  const opened = ctx.challenges.open(body.challenge, 'sev-snp', now);
  const evidence: Evidence = {
    tee: 'sev-snp',
    report: Buffer.from(body.evidence.report, 'base64'),
    certificates: { vcek: Buffer.from(body.evidence.certificates.vcek, 'base64') },
  };
  const domain = ctx.trust[0]!;
  const prepared = await prepareEvidence(evidence, { at: new Date(now), anchors: domain.anchors, collateral: domain.collateral, crl: ctx.config.crl });
  const result = await ctx.verifier.verify(prepared, 0, inFlight === 1);
  await ctx.store.challenges.consume({ nonce: opened.nonce.toString('base64url'), expiresAt: opened.expiresAt });
  return result.verified;
}

/** The floor server on 127.0.0.1 (an ephemeral port), beside `ctx`'s own and sharing its state. */
export async function startFloorServer(ctx: ServiceContext): Promise<FloorServer> {
  let inFlight = 0;
  const server = createServer((req, res) => {
    void (async () => {
      let status = 200;
      let answer = '{}';
      try {
        const body = await readJson(req);
        if (req.url === '/v1/challenge') answer = JSON.stringify(ctx.challenges.issue('sev-snp'));
        else {
          inFlight++;
          try {
            if (!(await floorAttest(ctx, body as unknown as AttestBody, inFlight))) status = 403;
          } finally {
            inFlight--;
          }
        }
      } catch {
        status = 400;
      }
      res.writeHead(status, { 'content-type': 'application/json' }).end(answer);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
