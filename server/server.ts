// Listening and stopping. SIGTERM (and SIGINT): stop accepting connections, let requests
// in flight finish (bounded), then close the store.

import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import type { Service } from './service.ts';

export interface RunningServer {
  url: string;
  port: number;
  /** Stop accepting, wait for in-flight requests (at most `graceMs`), close the store. */
  stop(graceMs?: number): Promise<void>;
}

export async function listen(service: Service, host: string, port: number): Promise<RunningServer> {
  const server = createAdaptorServer({ fetch: service.app.fetch }) as Server;
  // Slow-loris bounds: a client must send its headers and body within these.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  // Each connection holds memory and a request's worth of work: beyond the bound, new ones
  // are closed at once (before any byte is read), and those already open are unaffected.
  server.maxConnections = service.ctx.config.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let stopping: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${address.port}`,
    port: address.port,
    stop(graceMs = 10_000) {
      stopping ??= (async () => {
        service.ctx.draining = true;
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => server.closeAllConnections(), graceMs);
          force.unref();
          // close() stops accepting and resolves once every connection has ended; idle
          // keep-alive connections are closed now, busy ones after their response.
          server.close(() => {
            clearTimeout(force);
            resolve();
          });
          server.closeIdleConnections();
        });
        // A connection closed by force leaves its handler running: let the attestations
        // still being decided reach their durable verdict (bounded by the same grace)
        // before the database and the verify threads close under them.
        const until = Date.now() + graceMs;
        while (service.ctx.attestationsInFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
        await service.close();
      })();
      return stopping;
    },
  };
}
