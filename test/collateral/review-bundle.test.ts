// Adversarial review of `collateral import`: a bundle comes from another host, so nothing
// in it but documents that verify against the pinned roots may change the cache, and a
// genuine but older document must not replace a newer one. Documents are made with the
// simulated vendor chain (verifier/testing), signed by its keys and verified against its
// anchors, so each one can be given the dates a case needs.

import { beforeAll, describe, expect, it } from 'vitest';
import { importBundle } from '../../verifier/collateral/bundle.ts';
import { CachingCollateralSource } from '../../verifier/collateral/caching-source.ts';
import { encodeCollateralFile } from '../../verifier/collateral/entry-codec.ts';
import { MemoryCollateralStore } from '../../verifier/collateral/memory-store.ts';
import type { CollateralSource } from '../../verifier/collateral/source.ts';
import type { CollateralEntry } from '../../verifier/collateral/store.ts';
import { createSimulatorChain, refreshSimulatorCollateral, type SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { simulatorAnchors } from '../../verifier/testing/simulator-anchors.ts';

const DAY = 86_400_000;
const T0 = new Date('2026-03-01T00:00:00Z');
let chain: SimulatorChain;

beforeAll(async () => {
  chain = await createSimulatorChain({ now: T0, rsaBits: 2048 });
});

const anchors = (): ReturnType<typeof simulatorAnchors> => simulatorAnchors(chain);
const bundle = (entries: CollateralEntry[]): Uint8Array => Buffer.from(encodeCollateralFile(entries));

function rootCrlEntry(bytes: Uint8Array, fetchedAt = T0): CollateralEntry {
  return { key: 'intel-root-ca-crl', kind: 'intel-root-ca-crl', bytes, source: 'intel-pcs', fetchedAt, immutable: false };
}

describe('what the bundle says about a document is not believed', () => {
  it('a fetchedAt in the future is not kept: it would hold off every vendor refresh once the document is due', async () => {
    const store = new MemoryCollateralStore();
    const r = await importBundle(store, bundle([rootCrlEntry(chain.intel.rootCaCrl, new Date('2100-01-01T00:00:00Z'))]), { at: T0, anchors: anchors() });
    expect(r.loaded).toHaveLength(1);
    const stored = (await store.get('intel-root-ca-crl'))!;
    expect(stored.fetchedAt.getTime()).toBeLessThanOrEqual(T0.getTime());

    // Past the CRL's nextUpdate, the caching source asks the vendor for a newer one.
    const later = new Date(stored.nextUpdate!.getTime() + DAY);
    const renewed = await refreshSimulatorCollateral(chain, later);
    let asked = 0;
    const upstream = {
      intelRootCaCrl: () => {
        asked++;
        return Promise.resolve({ bytes: renewed.intel.rootCaCrl, source: 'intel-pcs' });
      },
    } as unknown as CollateralSource;
    const source = new CachingCollateralSource({ store, upstream, now: () => later });
    const doc = await source.intelRootCaCrl();
    expect(asked).toBe(1);
    expect(doc.stale).toBeUndefined();
  });
});
