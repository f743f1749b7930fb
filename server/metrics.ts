// Prometheus metrics (prom-client), one registry per service instance. Labels are bounded:
// routes are the matched route patterns, never raw paths.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CollateralMetrics } from '../verifier/collateral/caching-source.ts';

export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'tessera_http_requests_total',
    help: 'HTTP requests by route pattern, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly attestationSeconds = new Histogram({
    name: 'tessera_attestation_duration_seconds',
    help: 'POST /v1/attest processing time, by TEE and outcome',
    labelNames: ['tee', 'outcome'] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly verifications = new Counter({
    name: 'tessera_verifications_total',
    help: 'Evidence verifications by TEE and outcome (verified, rejected, malformed, collateral_unavailable)',
    labelNames: ['tee', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly auditHeadExports = new Counter({
    name: 'tessera_audit_head_exports_total',
    help: 'Signed audit heads exported, by target (file, url) and outcome (ok, failed)',
    labelNames: ['target', 'outcome'] as const,
    registers: [this.registry],
  });

  constructor(collateralMetrics?: () => CollateralMetrics) {
    collectDefaultMetrics({ register: this.registry, prefix: 'tessera_' });
    if (collateralMetrics) {
      // Read at scrape time from the collateral cache's own counters.
      const fields = ['requests', 'failures', 'cacheHits', 'cacheMisses', 'staleServes', 'refreshes', 'newDocumentsRefused'] as const;
      for (const field of fields) {
        const name = `tessera_collateral_${field.replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`)}`;
        new Gauge({
          name,
          help: `Collateral cache: ${field} since start, by vendor`,
          labelNames: ['vendor'] as const,
          registers: [this.registry],
          collect() {
            const m = collateralMetrics();
            for (const [vendor, v] of Object.entries(m)) this.set({ vendor }, v[field]);
          },
        });
      }
      new Gauge({
        name: 'tessera_collateral_oldest_document_age_seconds',
        help: 'Age of the oldest refreshable collateral document in use, by vendor',
        labelNames: ['vendor'] as const,
        registers: [this.registry],
        collect() {
          const m = collateralMetrics();
          for (const [vendor, v] of Object.entries(m)) this.set({ vendor }, v.oldestDocumentAgeSeconds);
        },
      });
    }
  }
}
