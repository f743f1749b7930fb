// The collateral cache shared over PostgreSQL: three replicas (three stores, each with its own
// CachingCollateralSource, as three processes have) missing one document at once ask the
// vendor once; and new documents count against one deployment-wide budget.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openPostgresStore, type PostgresStore } from '../../server/storage/postgres/index.ts';
import { deploymentVendorFlight } from '../../server/storage/postgres/vendor-flight.ts';
import { CachingCollateralSource } from '../../verifier/collateral/caching-source.ts';
import type { CollateralDocument, CollateralSource } from '../../verifier/collateral/source.ts';
import { CollateralUnavailableError } from '../../verifier/errors.ts';
import { usePostgres } from '../support/postgres.ts';

const pgs = usePostgres();
const FIXTURE = new URL('../fixtures/tdx/gotdx-90c06f-v5-mixed-collateral/', import.meta.url);
const ROOT_CRL = new Uint8Array(readFileSync(new URL('root_ca_crl.der', FIXTURE)));
const PCK_CRL = new Uint8Array(readFileSync(new URL('pck_crl.der', FIXTURE)));
// Inside both CRLs' validity.
const NOW = new Date('2023-06-20T00:00:00Z');

/** A vendor that serves the fixture CRLs slowly and counts what it is asked. */
function countingVendor(): { source: CollateralSource; asked: string[] } {
  const asked: string[] = [];
  const serve = async (what: string, bytes: Uint8Array): Promise<CollateralDocument> => {
    asked.push(what);
    await new Promise((r) => setTimeout(r, 100));
    return { bytes, source: 'intel-pcs', issuerChain: '-----BEGIN CERTIFICATE-----' };
  };
  const none = () => Promise.reject(new Error('not served by this vendor'));
  return {
    asked,
    source: {
      snpVcek: none,
      snpCertChain: none,
      snpCrl: none,
      intelTcbInfo: none,
      intelQeIdentity: none,
      intelPckCrl: ({ ca }) => serve(`pck-crl/${ca}`, PCK_CRL),
      intelRootCaCrl: () => serve('root-ca-crl', ROOT_CRL),
    },
  };
}

async function replicas(url: string, n: number): Promise<PostgresStore[]> {
  return Promise.all(Array.from({ length: n }, () => openPostgresStore(url, { poolSize: 3 })));
}

function sourceOn(store: PostgresStore, vendor: CollateralSource, maxNewDocumentsPerMinute: number): CachingCollateralSource {
  const now = () => NOW.getTime();
  return new CachingCollateralSource({
    store: store.collateral,
    upstream: deploymentVendorFlight(vendor, { collateral: store.collateral, rateLimits: store.rateLimits, maxNewDocumentsPerMinute, now }),
    now: () => new Date(now()),
    maxNewDocumentsPerMinute,
  });
}

describe('collateral across replicas on PostgreSQL', () => {
  it('fetches a cold document from the vendor once across three replicas, all serving it', async () => {
    const url = await pgs.fresh();
    const stores = await replicas(url, 3);
    const vendor = countingVendor();
    try {
      const sources = stores.map((s) => sourceOn(s, vendor.source, 0));
      const docs = await Promise.all(sources.flatMap((s) => [s.intelRootCaCrl(), s.intelRootCaCrl()]));
      expect(vendor.asked).toEqual(['root-ca-crl']);
      for (const d of docs) expect(d.bytes).toEqual(ROOT_CRL);
      // Warm now, on any replica, through the shared table.
      const later = sourceOn(stores[2]!, vendor.source, 0);
      expect((await later.intelRootCaCrl()).source).toBe('cache');
      expect(vendor.asked).toHaveLength(1);
    } finally {
      for (const s of stores) await s.close();
    }
  });

  it('bounds new documents for the deployment: a budget of 2 lets 2 of 3 new documents through over 3 replicas', async () => {
    const url = await pgs.fresh();
    const stores = await replicas(url, 3);
    const vendor = countingVendor();
    try {
      const [a, b, c] = stores.map((s) => sourceOn(s, vendor.source, 2));
      const outcomes = await Promise.allSettled([a!.intelRootCaCrl(), b!.intelPckCrl({ ca: 'platform' }), c!.intelPckCrl({ ca: 'processor' })]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(2);
      const refused = outcomes.filter((o) => o.status === 'rejected');
      expect(refused).toHaveLength(1);
      expect((refused[0] as PromiseRejectedResult).reason).toBeInstanceOf(CollateralUnavailableError);
      expect(String((refused[0] as PromiseRejectedResult).reason.message)).toMatch(/across the deployment/);
      expect(vendor.asked).toHaveLength(2);
    } finally {
      for (const s of stores) await s.close();
    }
  });
});
