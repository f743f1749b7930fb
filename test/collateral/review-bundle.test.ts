// Adversarial review of `collateral import`: a bundle comes from another host, so nothing
// in it but documents that verify against the pinned roots may change the cache, and a
// genuine but older document must not replace a newer one. Documents are made with the
// simulated vendor chain (verifier/testing), signed by its keys and verified against its
// anchors, so each one can be given the dates a case needs.

import { sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { importBundle, MAX_BUNDLE_BYTES } from '../../verifier/collateral/bundle.ts';
import { CachingCollateralSource } from '../../verifier/collateral/caching-source.ts';
import { encodeCollateralFile } from '../../verifier/collateral/entry-codec.ts';
import { FileCollateralStore } from '../../verifier/collateral/file-store.ts';
import { MemoryCollateralStore } from '../../verifier/collateral/memory-store.ts';
import type { CollateralSource } from '../../verifier/collateral/source.ts';
import type { CollateralEntry } from '../../verifier/collateral/store.ts';
import { certificatesPem, createSimulatorChain, refreshSimulatorCollateral, type SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
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

/** The simulator's TDX TCB Info re-signed with other dates and evaluation number. */
function tcbInfo(issueDate: Date, nextUpdate: Date, evaluation: number): { entry: CollateralEntry; fmspc: string } {
  const outer = JSON.parse(chain.intel.tcbInfo) as { tcbInfo: Record<string, unknown> };
  const body = { ...outer.tcbInfo, issueDate: issueDate.toISOString().replace(/\.\d{3}Z$/, 'Z'), nextUpdate: nextUpdate.toISOString().replace(/\.\d{3}Z$/, 'Z'), tcbEvaluationDataNumber: evaluation };
  const inner = JSON.stringify(body);
  const signature = sign('sha256', Buffer.from(inner, 'utf8'), { key: chain.intel.tcbSigningKey, dsaEncoding: 'ieee-p1363' }).toString('hex');
  const fmspc = String(outer.tcbInfo['fmspc']).toLowerCase();
  return {
    fmspc,
    entry: {
      key: `intel-tcb-info/tdx/${fmspc}`,
      kind: 'intel-tcb-info',
      bytes: Buffer.from(`{"tcbInfo":${inner},"signature":"${signature}"}`),
      issuerChain: certificatesPem(chain.intel.tcbSigning, chain.intel.root),
      source: 'intel-pcs',
      fetchedAt: T0,
      immutable: false,
    },
  };
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

describe('issuer chains', () => {
  it('drops the issuer chain of a document whose verification does not read one (it would be stored unchecked)', async () => {
    const store = new MemoryCollateralStore();
    const entry = { ...rootCrlEntry(chain.intel.rootCaCrl), issuerChain: '-----BEGIN CERTIFICATE-----\nnot checked\n-----END CERTIFICATE-----\n' };
    expect((await importBundle(store, bundle([entry]), { at: T0, anchors: anchors() })).loaded).toHaveLength(1);
    expect((await store.get('intel-root-ca-crl'))!.issuerChain).toBeUndefined();
  });

  it('keeps the verified issuer chain of a TCB Info', async () => {
    const store = new MemoryCollateralStore();
    const { entry } = tcbInfo(T0, new Date(T0.getTime() + 30 * DAY), 17);
    expect((await importBundle(store, bundle([entry]), { at: T0, anchors: anchors() })).loaded).toHaveLength(1);
    expect((await store.get(entry.key))!.issuerChain).toBe(entry.issuerChain);
  });
});

describe('no roll back', () => {
  it('keeps a CRL issued later even when the bundle one has the same nextUpdate', async () => {
    // Both end at T0 + 300 days; the cached one was issued 40 days after the bundled one.
    const newer = await refreshSimulatorCollateral(chain, new Date(T0.getTime() + 40 * DAY), 260);
    const older = await refreshSimulatorCollateral(chain, T0, 300);
    const store = new MemoryCollateralStore();
    const at = new Date(T0.getTime() + 41 * DAY);
    expect((await importBundle(store, bundle([rootCrlEntry(newer.intel.rootCaCrl)]), { at, anchors: anchors() })).loaded).toHaveLength(1);
    const back = await importBundle(store, bundle([rootCrlEntry(older.intel.rootCaCrl)]), { at, anchors: anchors() });
    expect(back.loaded).toEqual([]);
    expect(back.kept[0]!.reason).toMatch(/newer/);
    expect(Buffer.from((await store.get('intel-root-ca-crl'))!.bytes).equals(newer.intel.rootCaCrl)).toBe(true);
  });

  it('keeps a TCB Info of a higher TCB evaluation data number, even when the bundled one was issued later (Intel "standard" after "early")', async () => {
    const early = tcbInfo(new Date(T0.getTime() - DAY), new Date(T0.getTime() + 29 * DAY), 18);
    const standard = tcbInfo(T0, new Date(T0.getTime() + 30 * DAY), 17);
    const store = new MemoryCollateralStore();
    const at = new Date(T0.getTime() + DAY);
    expect((await importBundle(store, bundle([early.entry]), { at, anchors: anchors() })).loaded).toHaveLength(1);
    const back = await importBundle(store, bundle([standard.entry]), { at, anchors: anchors() });
    expect(back.loaded).toEqual([]);
    expect(back.kept[0]!.reason).toMatch(/evaluation data number 18/);
    // And a genuinely newer one (higher number) still replaces it.
    const next = tcbInfo(T0, new Date(T0.getTime() + 30 * DAY), 19);
    expect((await importBundle(store, bundle([next.entry]), { at, anchors: anchors() })).loaded).toHaveLength(1);
  });
});

describe('writing', () => {
  it('writes a whole bundle to a file cache once, and compares a repeated key with its earlier copy in the same bundle', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-bundle-'));
    try {
      const store = new FileCollateralStore(join(dir, 'cache.json'));
      const saves = vi.spyOn(store as unknown as { save: () => Promise<void> }, 'save');
      const early = tcbInfo(new Date(T0.getTime() - DAY), new Date(T0.getTime() + 29 * DAY), 18);
      const standard = tcbInfo(T0, new Date(T0.getTime() + 30 * DAY), 17);
      const at = new Date(T0.getTime() + DAY);
      const r = await importBundle(store, bundle([rootCrlEntry(chain.intel.rootCaCrl), early.entry, standard.entry]), { at, anchors: anchors() });
      expect(r.loaded.map((l) => l.key)).toEqual(['intel-root-ca-crl', early.entry.key]);
      expect(r.kept[0]!.reason).toMatch(/evaluation data number 18/);
      expect(saves).toHaveBeenCalledTimes(1);
      const reread = new FileCollateralStore(join(dir, 'cache.json'));
      expect(Buffer.from((await reread.get(early.entry.key))!.bytes).equals(Buffer.from(early.entry.bytes))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('size', () => {
  it('refuses a bundle over MAX_BUNDLE_BYTES before decoding it, changing nothing', async () => {
    const store = new MemoryCollateralStore();
    await expect(importBundle(store, new Uint8Array(MAX_BUNDLE_BYTES + 1), { at: T0, anchors: anchors() })).rejects.toMatchObject({ code: 'collateral_bundle_too_large' });
    expect(await store.list()).toEqual([]);
  });
});
