// The behaviour every storage engine must have (server/storage/store.ts), as one suite that
// each engine's runner calls with a way to open a fresh, empty database: the SQLite runner
// (sqlite.test.ts) and the PostgreSQL one. What is checked here cannot drift between them.
//
// `open()` gives a fresh database and a way to open a second store on the SAME database (what
// another replica or the CLI does): single use, the audit chain and the configuration epoch
// are checked across the two.

import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../server/audit/log.ts';
import { GENESIS_HASH } from '../../server/audit/chain.ts';
import { ChallengeError } from '../../server/challenge.ts';
import { StoreCorruptError, StoreUnavailableError, type AttestationRecord, type AuditInput, type SigningKeyRow, type Store } from '../../server/storage/store.ts';
import type { CollateralEntry } from '../../verifier/collateral/store.ts';

export interface FreshStore {
  store: Store;
  /** Another store on the same database (another replica, the CLI). */
  second(): Promise<Store>;
  /** Close what is still open and drop the database. */
  dispose(): Promise<void>;
}

const nonce = () => randomBytes(32).toString('base64url');
const entry = (action: string, extra: Partial<AuditInput> = {}): AuditInput => ({ action, outcome: 'success', actor: 'test', ...extra });

function attestation(overrides: { nonce?: string; expiresAt?: number; createdAt?: number; audit?: AuditInput[]; tee?: string; status?: string; result?: string } = {}): AttestationRecord {
  const id = randomBytes(16).toString('hex');
  return {
    challenge: { nonce: overrides.nonce ?? nonce(), expiresAt: overrides.expiresAt ?? Date.now() + 60_000 },
    attestation: {
      id,
      createdAt: overrides.createdAt ?? Date.now(),
      tee: overrides.tee ?? 'sev-snp',
      status: overrides.status ?? 'affirming',
      policyName: 'default',
      policyVersion: 1,
      policyHash: 'ab'.repeat(32),
      claimsDigest: 'cd'.repeat(32),
      tokenJti: id,
      clientAddress: '127.0.0.1',
      result: overrides.result ?? JSON.stringify({ verified: true, id }),
    },
    audit: overrides.audit ?? [entry('attestation', { outcome: 'affirming', subject: id, tee: 'sev-snp', details: { id } })],
  };
}

function keyRow(kid: string, createdAt: number): SigningKeyRow {
  return { kid, createdAt, retiredAt: null, publishUntil: null, publicJwk: JSON.stringify({ kty: 'EC', kid }), privateKey: JSON.stringify({ sealed: kid }) };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

export function describeStoreContract(engine: string, open: () => Promise<FreshStore>): void {
  describe(`storage contract: ${engine}`, () => {
    const fresh: FreshStore[] = [];
    afterEach(async () => {
      for (const f of fresh.splice(0)) await f.dispose();
    });
    async function setup(): Promise<FreshStore> {
      const f = await open();
      fresh.push(f);
      return f;
    }

    describe('challenges and attestations', () => {
      it('consumes a challenge once: a second consumption is challenge_replayed, on this store or another', async () => {
        const { store, second } = await setup();
        const other = await second();
        const use = { nonce: nonce(), expiresAt: Date.now() + 60_000 };
        expect(await store.challenges.isConsumed(use.nonce)).toBe(false);
        await store.challenges.consume(use);
        expect(await store.challenges.isConsumed(use.nonce)).toBe(true);
        expect(await other.challenges.isConsumed(use.nonce)).toBe(true);
        for (const s of [store, other]) {
          const err = await rejection(s.challenges.consume(use));
          expect(err).toBeInstanceOf(ChallengeError);
          expect((err as ChallengeError).code).toBe('challenge_replayed');
        }
      });

      it('refuses a consumption at or after expiry as challenge_expired, storing nothing', async () => {
        const { store } = await setup();
        const use = { nonce: nonce(), expiresAt: Date.now() - 1 };
        const err = await rejection(store.challenges.consume(use));
        expect(err).toBeInstanceOf(ChallengeError);
        expect((err as ChallengeError).code).toBe('challenge_expired');
        expect(await store.challenges.isConsumed(use.nonce)).toBe(false);
      });

      it('prunes only consumed challenges that expired before the given instant', async () => {
        const { store } = await setup();
        const soon = { nonce: nonce(), expiresAt: Date.now() + 60_000 };
        const later = { nonce: nonce(), expiresAt: Date.now() + 120_000 };
        await store.challenges.consume(soon);
        await store.challenges.consume(later);
        expect(await store.challenges.prune(soon.expiresAt)).toBe(0);
        expect(await store.challenges.prune(soon.expiresAt + 1)).toBe(1);
        expect(await store.challenges.isConsumed(soon.nonce)).toBe(false);
        expect(await store.challenges.isConsumed(later.nonce)).toBe(true);
      });

      it('records an attestation with its audit entries in one transaction, and lists it for replay', async () => {
        const { store } = await setup();
        const t0 = Date.now();
        const rec = attestation({ createdAt: t0, audit: [entry('attestation', { outcome: 'affirming' }), entry('secret.release', { outcome: 'released', subject: 'db' })] });
        await store.attestations.record(rec);
        expect(await store.challenges.isConsumed(rec.challenge.nonce)).toBe(true);
        expect(await store.attestations.between(t0, t0, 10)).toEqual([{ id: rec.attestation.id, createdAt: t0, tee: 'sev-snp', status: 'affirming', result: rec.attestation.result }]);
        const log = await store.audit.range(0, 10);
        expect(log.map((e) => [e.seq, e.action])).toEqual([
          [1, 'attestation'],
          [2, 'secret.release'],
        ]);
        expect((await verifyAuditChain(store.audit)).ok).toBe(true);
      });

      it('stores nothing of a record whose challenge was consumed or has expired', async () => {
        const { store } = await setup();
        const first = attestation();
        await store.attestations.record(first);
        const replay = attestation({ nonce: first.challenge.nonce });
        expect(((await rejection(store.attestations.record(replay))) as ChallengeError).code).toBe('challenge_replayed');
        const expired = attestation({ expiresAt: Date.now() - 1 });
        expect(((await rejection(store.attestations.record(expired))) as ChallengeError).code).toBe('challenge_expired');
        expect(await store.challenges.isConsumed(expired.challenge.nonce)).toBe(false);
        expect(await store.attestations.between(0, Date.now() + 1, 10)).toHaveLength(1);
        expect(await store.audit.count()).toBe(1);
      });

      it('lets exactly one of many concurrent records of one challenge, over two stores, commit', async () => {
        const { store, second } = await setup();
        const other = await second();
        const shared = nonce();
        const outcomes = await Promise.allSettled(Array.from({ length: 16 }, (_, i) => (i % 2 ? other : store).attestations.record(attestation({ nonce: shared }))));
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        for (const o of outcomes) if (o.status === 'rejected') expect((o.reason as ChallengeError).code).toBe('challenge_replayed');
        expect(await store.audit.count({ action: 'attestation' })).toBe(1);
      });

      it('lists attestations in [since, until], oldest first, at most limit', async () => {
        const { store } = await setup();
        const base = 1_700_000_000_000;
        const ids = new Map<number, string>();
        for (const dt of [30, 10, 20, 40]) {
          const rec = attestation({ createdAt: base + dt });
          ids.set(dt, rec.attestation.id);
          await store.attestations.record(rec);
        }
        const idsOf = (rows: { result: string }[]) => rows.map((r) => (JSON.parse(r.result) as { id: string }).id);
        expect(idsOf(await store.attestations.between(base + 10, base + 30, 10))).toEqual([ids.get(10), ids.get(20), ids.get(30)]);
        expect(idsOf(await store.attestations.between(base + 10, base + 30, 2))).toEqual([ids.get(10), ids.get(20)]);
        expect(await store.attestations.between(base + 41, base + 50, 10)).toEqual([]);
      });

      it('lists attestations newest first by filter, in keyset pages, and reads one with its result', async () => {
        const { store } = await setup();
        const base = 1_700_000_000_000;
        const made: AttestationRecord[] = [];
        // Two at the same instant: the id orders them, and a page boundary between them loses neither.
        for (const [dt, tee, status, policyName, measurement] of [
          [10, 'sev-snp', 'affirming', 'default', 'aa'.repeat(48)],
          [20, 'tdx', 'contraindicated', 'strict', 'bb'.repeat(48)],
          [20, 'sev-snp', 'contraindicated', 'default', 'aa'.repeat(48)],
          [30, 'sev-snp', 'warning', 'strict', 'cc'.repeat(48)],
        ] as const) {
          const rec = attestation({ createdAt: base + dt });
          rec.attestation = { ...rec.attestation, tee, status, policyName, result: JSON.stringify({ verified: true, claims: { measurement } }) };
          made.push(rec);
          await store.attestations.record(rec);
        }
        const order = [...made].sort((a, b) => b.attestation.createdAt - a.attestation.createdAt || (a.attestation.id < b.attestation.id ? 1 : -1)).map((r) => r.attestation.id);
        const all = await store.attestations.list({}, 10);
        expect(all.map((r) => r.id)).toEqual(order);
        expect(all[0]).not.toHaveProperty('result');
        expect(all[0]).toMatchObject({ tee: 'sev-snp', status: 'warning', policyName: 'strict', policyVersion: 1, createdAt: base + 30 });
        // Keyset pages of two and one.
        const seen: string[] = [];
        let before: { createdAt: number; id: string } | undefined;
        for (;;) {
          const page = await store.attestations.list(before ? { before } : {}, 2);
          seen.push(...page.map((r) => r.id));
          if (page.length < 2) break;
          const last = page.at(-1)!;
          before = { createdAt: last.createdAt, id: last.id };
        }
        expect(seen).toEqual(order);
        // Filters, alone and together.
        expect((await store.attestations.list({ status: 'contraindicated' }, 10)).map((r) => r.id).sort()).toEqual([made[1]!.attestation.id, made[2]!.attestation.id].sort());
        expect((await store.attestations.list({ tee: 'tdx' }, 10)).map((r) => r.id)).toEqual([made[1]!.attestation.id]);
        expect((await store.attestations.list({ policyName: 'strict', status: 'warning' }, 10)).map((r) => r.id)).toEqual([made[3]!.attestation.id]);
        expect((await store.attestations.list({ from: base + 15, to: base + 25 }, 10))).toHaveLength(2);
        expect((await store.attestations.list({ subject: made[0]!.attestation.id }, 10)).map((r) => r.id)).toEqual([made[0]!.attestation.id]);
        expect((await store.attestations.list({ subject: made[3]!.attestation.tokenJti! }, 10)).map((r) => r.id)).toEqual([made[3]!.attestation.id]);
        expect((await store.attestations.list({ subject: 'aa'.repeat(48) }, 10)).map((r) => r.id)).toEqual([made[2]!.attestation.id, made[0]!.attestation.id]);
        expect(await store.attestations.list({ subject: 'dd'.repeat(48) }, 10)).toEqual([]);
        // One, with its result byte for byte.
        expect(await store.attestations.get(made[1]!.attestation.id)).toEqual(made[1]!.attestation);
        expect(await store.attestations.get('00'.repeat(16))).toBeUndefined();
      });

      it('counts attestations per time bucket, TEE and status', async () => {
        const { store } = await setup();
        const hour = 3_600_000;
        const base = 1_700_000_000_000 - (1_700_000_000_000 % hour);
        for (const [dt, tee, status] of [
          [1, 'sev-snp', 'affirming'],
          [2, 'sev-snp', 'affirming'],
          [3, 'sev-snp', 'contraindicated'],
          [hour + 1, 'tdx', 'affirming'],
          [3 * hour, 'tdx', 'affirming'],
        ] as const) {
          const rec = attestation({ createdAt: base + dt });
          rec.attestation = { ...rec.attestation, tee, status };
          await store.attestations.record(rec);
        }
        expect(await store.attestations.histogram(base, base + 2 * hour, hour)).toEqual([
          { start: base, tee: 'sev-snp', status: 'affirming', count: 2 },
          { start: base, tee: 'sev-snp', status: 'contraindicated', count: 1 },
          { start: base + hour, tee: 'tdx', status: 'affirming', count: 1 },
        ]);
        expect(await store.attestations.histogram(base + 4 * hour, base + 5 * hour, hour)).toEqual([]);
      });
    });

    describe('fleet', () => {
      // Results shaped as the verifiers write them (verifier/result.ts), reduced to what the fleet reads.
      const snpResult = (chipId: string, bootloader: number, measurement: string, verified = true) =>
        JSON.stringify({
          verified,
          tee: 'sev-snp',
          claims: {
            tee: 'sev-snp',
            measurement,
            platform: { product: 'Milan', chipId, signer: 'VCEK' },
            tcb: { reported: { bootloader, tee: 0, snp: 24, microcode: 219 } },
            snp: { vmpl: 0, currentVersion: { major: 1, minor: 55, build: 29 } },
          },
          checks: [],
        });
      const tdxResult = JSON.stringify({
        verified: true,
        tee: 'tdx',
        claims: { tee: 'tdx', measurement: 'dd'.repeat(48), platform: { fmspc: '5e5e5e000000', signer: 'PCK' }, tcb: { status: 'OutOfDate', advisoryIds: ['X-SA-1'], pceSvn: 11 }, tdx: { rtmr: ['00'.repeat(48), '01'.repeat(48), '02'.repeat(48), '03'.repeat(48)] } },
        platform: { ppidSha256: 'ee'.repeat(32), pceId: '0000', qe: { isvSvn: 4, status: 'UpToDate' } },
        checks: [],
      });

      it('groups the window by platform, TCB and workload, counting accepted and denied, newest group first', async () => {
        const { store } = await setup();
        const base = 1_700_000_000_000;
        const chipA = 'a1'.repeat(64);
        const chipB = 'b2'.repeat(64);
        const m1 = '11'.repeat(48);
        const rows: [number, string, string, string][] = [
          [10, 'sev-snp', 'affirming', snpResult(chipA, 4, m1)],
          [20, 'sev-snp', 'contraindicated', snpResult(chipA, 4, m1)],
          [30, 'sev-snp', 'warning', snpResult(chipA, 4, m1)],
          [40, 'sev-snp', 'contraindicated', snpResult(chipB, 2, m1)],
          [50, 'tdx', 'contraindicated', tdxResult],
          [60, 'sev-snp', 'contraindicated', snpResult(chipB, 2, m1, false)],
          // Outside the window.
          [5, 'sev-snp', 'affirming', snpResult(chipA, 9, m1)],
          [99, 'sev-snp', 'affirming', snpResult(chipA, 9, m1)],
        ];
        for (const [dt, tee, status, result] of rows) await store.attestations.record(attestation({ createdAt: base + dt, tee, status, result }));
        const groups = await store.attestations.fleet(base + 10, base + 60, 100);
        expect(groups).toEqual([
          { tee: 'sev-snp', verified: false, platform: { product: 'Milan', chipId: chipB, signer: 'VCEK' }, tcb: { reported: { bootloader: 2, tee: 0, snp: 24, microcode: 219 } }, firmware: { major: 1, minor: 55, build: 29 }, intel: undefined, measurement: m1, rtmr: undefined, accepted: 0, denied: 1, firstSeen: base + 60, lastSeen: base + 60 },
          {
            tee: 'tdx',
            verified: true,
            platform: { fmspc: '5e5e5e000000', signer: 'PCK' },
            tcb: { status: 'OutOfDate', advisoryIds: ['X-SA-1'], pceSvn: 11 },
            firmware: undefined,
            intel: { ppidSha256: 'ee'.repeat(32), pceId: '0000', qe: { isvSvn: 4, status: 'UpToDate' } },
            measurement: 'dd'.repeat(48),
            rtmr: ['00'.repeat(48), '01'.repeat(48), '02'.repeat(48), '03'.repeat(48)],
            accepted: 0,
            denied: 1,
            firstSeen: base + 50,
            lastSeen: base + 50,
          },
          { tee: 'sev-snp', verified: true, platform: { product: 'Milan', chipId: chipB, signer: 'VCEK' }, tcb: { reported: { bootloader: 2, tee: 0, snp: 24, microcode: 219 } }, firmware: { major: 1, minor: 55, build: 29 }, intel: undefined, measurement: m1, rtmr: undefined, accepted: 0, denied: 1, firstSeen: base + 40, lastSeen: base + 40 },
          { tee: 'sev-snp', verified: true, platform: { product: 'Milan', chipId: chipA, signer: 'VCEK' }, tcb: { reported: { bootloader: 4, tee: 0, snp: 24, microcode: 219 } }, firmware: { major: 1, minor: 55, build: 29 }, intel: undefined, measurement: m1, rtmr: undefined, accepted: 2, denied: 1, firstSeen: base + 10, lastSeen: base + 30 },
        ]);
        expect((await store.attestations.fleet(base + 10, base + 60, 2)).map((g) => g.lastSeen)).toEqual([base + 60, base + 50]);
        expect(await store.attestations.fleet(base + 61, base + 98, 100)).toEqual([]);
      });

      it('names a row whose result is not JSON (store_corrupt), instead of failing without a name', async () => {
        const { store } = await setup();
        const base = 1_700_000_000_000;
        await store.attestations.record(attestation({ createdAt: base, result: snpResult('a1'.repeat(64), 4, '11'.repeat(48)) }));
        const bad = attestation({ createdAt: base + 1, result: '{"verified": tru' });
        await store.attestations.record(bad);
        const err = await rejection(store.attestations.fleet(base, base + 10, 100));
        expect(err).toBeInstanceOf(StoreCorruptError);
        expect((err as StoreCorruptError).record).toBe(`attestations ${bad.attestation.id}`);
        // Outside the window it is not read.
        expect(await store.attestations.fleet(base, base, 100)).toHaveLength(1);
      });
    });

    describe('audit', () => {
      it('appends a hash chain from the genesis, reads it back as stored, and names the head', async () => {
        const { store } = await setup();
        expect(await store.audit.head()).toEqual({ seq: 0, hash: GENESIS_HASH });
        const a = await store.audit.append([entry('one', { at: 1000, subject: 's', tee: 'tdx', clientAddress: '::1', details: { b: 2, a: 1 } })]);
        expect(a.seq).toBe(1);
        const b = await store.audit.append([entry('two'), entry('three')]);
        expect(b.seq).toBe(3);
        expect(await store.audit.head()).toEqual(b);
        const first = (await store.audit.get(1))!;
        expect(first).toEqual({ seq: 1, at: 1000, action: 'one', outcome: 'success', actor: 'test', subject: 's', tee: 'tdx', clientAddress: '::1', details: '{"a":1,"b":2}', prevHash: GENESIS_HASH, hash: a.hash });
        expect((await store.audit.get(2))!.prevHash).toBe(a.hash);
        expect(await store.audit.get(4)).toBeUndefined();
        expect(await verifyAuditChain(store.audit)).toEqual({ ok: true, checked: 3, head: b });
      });

      it('keeps one gap-free chain when two stores append at once', async () => {
        const { store, second } = await setup();
        const other = await second();
        await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? other : store).audit.append([entry(`a${i}`), entry(`b${i}`)])));
        const report = await verifyAuditChain(store.audit);
        expect(report).toMatchObject({ ok: true, checked: 80 });
        const rows = await store.audit.range(0, 100);
        expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
        // Each append's entries are contiguous: no other append lands between them.
        for (let i = 0; i < 80; i += 2) expect(rows[i + 1]!.action).toBe(`b${rows[i]!.action.slice(1)}`);
      });

      it('queries newest first with every filter, pages by seq, and counts', async () => {
        const { store } = await setup();
        await store.audit.append([
          entry('attestation', { at: 100, outcome: 'affirming', tee: 'sev-snp', subject: 'x' }),
          entry('attestation', { at: 200, outcome: 'contraindicated', tee: 'tdx', subject: 'y' }),
          entry('policy.create', { at: 300, subject: 'x' }),
          entry('attestation', { at: 400, outcome: 'affirming', tee: 'tdx', subject: 'z' }),
        ]);
        const seqs = async (f: Parameters<Store['audit']['query']>[0], limit = 10) => (await store.audit.query(f, limit)).map((r) => r.seq);
        expect(await seqs({})).toEqual([4, 3, 2, 1]);
        expect(await seqs({}, 2)).toEqual([4, 3]);
        expect(await seqs({ beforeSeq: 3 })).toEqual([2, 1]);
        expect(await seqs({ action: 'attestation' })).toEqual([4, 2, 1]);
        expect(await seqs({ outcome: 'affirming' })).toEqual([4, 1]);
        expect(await seqs({ tee: 'tdx' })).toEqual([4, 2]);
        expect(await seqs({ subject: 'x' })).toEqual([3, 1]);
        expect(await seqs({ from: 200, to: 300 })).toEqual([3, 2]);
        expect(await store.audit.count()).toBe(4);
        expect(await store.audit.count({ action: 'attestation', tee: 'tdx' })).toBe(2);
        expect((await store.audit.range(1, 2)).map((r) => r.seq)).toEqual([2, 3]);
        expect(await store.audit.range(4, 2)).toEqual([]);
      });
    });

    describe('API tokens', () => {
      it('creates with its audit entry, the first only when there is none, lists newest first', async () => {
        const { store } = await setup();
        expect(await store.apiTokens.any()).toBe(false);
        const row = { id: 'a'.repeat(16), name: 'first', scope: 'admin', hash: '1'.repeat(64), createdAt: 1000, revokedAt: null, expiresAt: null };
        expect(await store.apiTokens.createFirst(row, entry('token.create', { subject: row.id }))).toBe(true);
        const again = { ...row, id: 'b'.repeat(16), hash: '2'.repeat(64), createdAt: 2000 };
        expect(await store.apiTokens.createFirst(again, entry('token.create', { subject: again.id }))).toBe(false);
        expect(await store.apiTokens.get(again.id)).toBeUndefined();
        await store.apiTokens.create({ ...again, scope: 'auditor', expiresAt: 9000 }, entry('token.create', { subject: again.id }));
        expect(await store.apiTokens.any()).toBe(true);
        expect(await store.apiTokens.get(row.id)).toEqual(row);
        expect((await store.apiTokens.list()).map((t) => [t.id, t.scope, t.expiresAt])).toEqual([
          [again.id, 'auditor', 9000],
          [row.id, 'admin', null],
        ]);
        expect((await store.audit.query({ action: 'token.create' }, 10)).map((e) => e.subject)).toEqual([again.id, row.id]);
      });

      it('revokes once (audited once, with what the row says), and seen revoked from another store', async () => {
        const { store, second } = await setup();
        const row = { id: 'c'.repeat(16), name: 'ops', scope: 'admin', hash: '3'.repeat(64), createdAt: 1000, revokedAt: null, expiresAt: null };
        await store.apiTokens.create(row, entry('token.create'));
        const revoke = () => store.apiTokens.revoke(row.id, 5000, (r) => entry('token.revoke', { subject: r.id, details: { name: r.name } }));
        expect(await revoke()).toEqual({ row: { ...row, revokedAt: 5000 }, changed: true });
        expect(await revoke()).toEqual({ row: { ...row, revokedAt: 5000 }, changed: false });
        expect(await store.apiTokens.revoke('d'.repeat(16), 5000, () => entry('token.revoke'))).toBeUndefined();
        expect((await store.audit.query({ action: 'token.revoke' }, 10)).map((e) => e.details)).toEqual(['{"name":"ops"}']);
        expect((await (await second()).apiTokens.get(row.id))!.revokedAt).toBe(5000);
      });
    });

    describe('keys and sealed records', () => {
      it('creates the first key once across stores, rotates with the retired kid audited, publishes by publishUntil', async () => {
        const { store, second } = await setup();
        const other = await second();
        expect(await store.signingKeys.active()).toBeUndefined();
        expect(await store.signingKeys.createIfNoActive(keyRow('k1', 1000), entry('key.create', { subject: 'k1' }))).toBe(true);
        expect(await other.signingKeys.createIfNoActive(keyRow('k0', 1000), entry('key.create', { subject: 'k0' }))).toBe(false);
        expect(await other.signingKeys.active()).toEqual({ kid: 'k1', privateKey: keyRow('k1', 1000).privateKey });

        expect(await other.signingKeys.rotate(keyRow('k2', 2000), 5000, (retired) => entry('key.rotate', { subject: 'k2', details: { retired } }))).toEqual({ retired: 'k1' });
        expect((await store.signingKeys.active())!.kid).toBe('k2');
        expect((await store.audit.query({ action: 'key.rotate' }, 10))[0]!.details).toBe('{"retired":"k1"}');
        const all = await store.signingKeys.all();
        expect(all).toEqual([
          { kid: 'k2', createdAt: 2000, retiredAt: null, publishUntil: null, publicJwk: keyRow('k2', 0).publicJwk },
          { kid: 'k1', createdAt: 1000, retiredAt: 2000, publishUntil: 5000, publicJwk: keyRow('k1', 0).publicJwk },
        ]);
        expect(all[0]).not.toHaveProperty('privateKey');
        expect((await store.signingKeys.published(4999)).map((k) => k.kid)).toEqual(['k2', 'k1']);
        expect((await store.signingKeys.published(5000)).map((k) => k.kid)).toEqual(['k2']);
        expect(await store.audit.count({ action: 'key.create' })).toBe(1);
      });

      it('keeps the first server secret written, whoever asks', async () => {
        const { store, second } = await setup();
        expect(await store.serverSecrets.getOrCreate('challenge-hmac', 'first', 1)).toBe('first');
        expect(await (await second()).serverSecrets.getOrCreate('challenge-hmac', 'second', 2)).toBe('first');
      });

      it('re-seals every sealed record in one transaction, or nothing when one fails', async () => {
        const { store } = await setup();
        await store.signingKeys.createIfNoActive(keyRow('k1', 1000), entry('key.create'));
        await store.serverSecrets.getOrCreate('challenge-hmac', 'hmac', 1);
        const secret = (value: string) => (version: number) => ({
          row: { createdAt: 1, createdBy: 't', description: null, labels: {}, releasePolicy: null, acceptPolicies: null, acceptStatuses: ['affirming'], value: `${value}@${version}`, size: 1, deletedAt: null, deletedBy: null },
          audit: entry('secret.put'),
        });
        await store.secrets.put('s', secret('v'));
        await store.secrets.put('s', secret('v'));
        await store.secrets.delete('s', 1, 2, 't', () => entry('secret.delete'));
        const before = await store.audit.count();

        const seen: string[] = [];
        const boom = await rejection(
          store.sealedRecords.resealAll(
            (r) => {
              if (r.kind === 'server-secret') throw new Error('does not open');
              return `x${r.sealed}`;
            },
            () => entry('kek.rotate'),
          ),
        );
        expect((boom as Error).message).toBe('does not open');
        expect((await store.secrets.findLive('s'))!.value).toBe('v@2');
        expect((await store.signingKeys.active())!.privateKey).toBe(keyRow('k1', 0).privateKey);
        expect(await store.audit.count()).toBe(before);

        const report = await store.sealedRecords.resealAll(
          (r) => {
            seen.push(r.kind === 'secret-version' ? `${r.kind}:${r.name}:${r.version}` : r.kind === 'signing-key' ? `${r.kind}:${r.kid}` : `${r.kind}:${r.name}`);
            return `new:${r.sealed}`;
          },
          (counts) => entry('kek.rotate', { details: { ...counts } }),
        );
        expect(report).toEqual({ secretVersions: 1, signingKeys: 1, serverSecrets: 1 });
        expect(seen.sort()).toEqual(['secret-version:s:2', 'server-secret:challenge-hmac', 'signing-key:k1']);
        expect((await store.secrets.findLive('s'))!.value).toBe('new:v@2');
        expect((await store.signingKeys.active())!.privateKey).toBe(`new:${keyRow('k1', 0).privateKey}`);
        expect(await store.serverSecrets.getOrCreate('challenge-hmac', 'other', 3)).toBe('new:hmac');
        expect((await store.audit.query({ action: 'kek.rotate' }, 10))[0]!.details).toBe('{"secretVersions":1,"serverSecrets":1,"signingKeys":1}');
      });
    });

    describe('policies and reference values', () => {
      const version = (name: string, hash: string, createdAt = 1000) => ({ name, hash, source: `source ${hash}`, format: 'yaml', createdAt, createdBy: 'test' });

      it('numbers versions, dedupes an upload equal to the latest, audits only what it created', async () => {
        const { store } = await setup();
        expect(await store.policies.any()).toBe(false);
        const audit = (row: { version: number }) => entry('policy.create', { details: { version: row.version } });
        expect(await store.policies.putVersion(version('p', 'h1'), audit)).toEqual({ created: true, row: { ...version('p', 'h1'), version: 1 } });
        expect(await store.policies.putVersion(version('p', 'h1', 2000), audit)).toEqual({ created: false, row: { ...version('p', 'h1'), version: 1 } });
        expect((await store.policies.putVersion(version('p', 'h2'), audit)).row.version).toBe(2);
        expect((await store.policies.putVersion(version('p', 'h1'), audit)).row.version).toBe(3);
        await store.policies.putVersion(version('a', 'h9'), audit);
        expect(await store.policies.any()).toBe(true);
        expect((await store.policies.get('p'))!.version).toBe(3);
        expect((await store.policies.get('p', 2))!.hash).toBe('h2');
        expect(await store.policies.get('p', 9)).toBeUndefined();
        expect((await store.policies.versions('p')).map((v) => v.version)).toEqual([3, 2, 1]);
        expect(await store.policies.names()).toEqual([
          { name: 'a', latestVersion: 1 },
          { name: 'p', latestVersion: 3 },
        ]);
        expect(await store.audit.count({ action: 'policy.create' })).toBe(4);
      });

      it('activates the latest or a given version, audited, and refuses a missing one writing nothing', async () => {
        const { store, second } = await setup();
        await store.policies.putVersion(version('p', 'h1'), () => entry('policy.create'));
        await store.policies.putVersion(version('p', 'h2'), () => entry('policy.create'));
        expect(await store.policies.active()).toBeUndefined();
        const audit = (row: { version: number }) => entry('policy.activate', { details: { version: row.version } });
        expect((await store.policies.activate('p', undefined, 5000, audit))!.version).toBe(2);
        expect(await (await second()).policies.active()).toEqual({ name: 'p', version: 2, activatedAt: 5000 });
        expect((await store.policies.activate('p', 1, 6000, audit))!.hash).toBe('h1');
        expect(await store.policies.activate('p', 7, 7000, audit)).toBeUndefined();
        expect(await store.policies.activate('q', undefined, 7000, audit)).toBeUndefined();
        expect(await store.policies.active()).toEqual({ name: 'p', version: 1, activatedAt: 6000 });
        expect((await store.audit.query({ action: 'policy.activate' }, 10)).map((e) => e.details)).toEqual(['{"version":1}', '{"version":2}']);
      });

      it('replaces a reference-value set, telling the audit the previous values', async () => {
        const { store } = await setup();
        const previous: (string[] | undefined)[] = [];
        const audit = (p: string[] | undefined) => {
          previous.push(p);
          return entry('reference-values.put');
        };
        await store.referenceValues.put({ name: 'web', values: ['aa', 'bb'], updatedAt: 1000, updatedBy: 'x' }, audit);
        await store.referenceValues.put({ name: 'web', values: ['cc'], updatedAt: 2000, updatedBy: 'y' }, audit);
        await store.referenceValues.put({ name: 'api', values: [], updatedAt: 3000, updatedBy: 'z' }, audit);
        expect(previous).toEqual([undefined, ['aa', 'bb'], undefined]);
        expect(await store.referenceValues.get('web')).toEqual({ name: 'web', values: ['cc'], updatedAt: 2000, updatedBy: 'y' });
        expect(await store.referenceValues.get('none')).toBeUndefined();
        expect((await store.referenceValues.list()).map((r) => r.name)).toEqual(['api', 'web']);
        expect(await store.audit.count({ action: 'reference-values.put' })).toBe(3);
      });
    });

    describe('configuration epoch', () => {
      const version = (name: string, hash: string) => ({ name, hash, source: 's', format: 'yaml', createdAt: 1, createdBy: 't' });

      it('moves, as another store sees it, on every write to keys, policies and reference values, and on nothing else', async () => {
        const { store, second } = await setup();
        const other = await second();
        const epoch = async () => (await other.configEpoch.read())!;
        const moves = async (what: string, write: () => Promise<unknown>, expected = true) => {
          const before = await epoch();
          expect(typeof before, what).toBe('number');
          await write();
          expect((await epoch()) !== before, what).toBe(expected);
        };
        await moves('first key', () => store.signingKeys.createIfNoActive(keyRow('k1', 1), entry('key.create')));
        await moves('rotation', () => store.signingKeys.rotate(keyRow('k2', 2), 3, () => entry('key.rotate')));
        await moves('policy version', () => store.policies.putVersion(version('p', 'h'), () => entry('policy.create')));
        await moves('activation', () => store.policies.activate('p', undefined, 4, () => entry('policy.activate')));
        await moves('reference values', () => store.referenceValues.put({ name: 'r', values: ['aa'], updatedAt: 5, updatedBy: 't' }, () => entry('reference-values.put')));
        await moves('KEK rotation (the keys are rewritten)', () => store.sealedRecords.resealAll((r) => `n${r.sealed}`, () => entry('kek.rotate')));
        await moves('an attestation', () => store.attestations.record(attestation()), false);
        await moves('an audit entry', () => store.audit.append([entry('x')]), false);
        await moves('a token', () => store.apiTokens.create({ id: 'e'.repeat(16), name: 'n', scope: 'admin', hash: '4'.repeat(64), createdAt: 1, revokedAt: null, expiresAt: null }, entry('token.create')), false);
        await moves('a server secret', () => store.serverSecrets.getOrCreate('s', 'v', 1), false);
      });
    });

    describe('KBS sessions', () => {
      it('a session created on one store is read and attested on another, once, and expires', async () => {
        const { store, second } = await setup();
        const other = await second();
        const now = Date.now();
        const row = { id: nonce(), nonce: 'bm9uY2U=', tee: 'snp', state: 'auth' as const, hashAlg: 'sha384', teePubkey: null, token: null, attestationId: null, createdAt: now, expiresAt: now + 60_000 };
        await store.kbsSessions.create(row);
        expect(await other.kbsSessions.get(row.id, now)).toEqual(row);
        const attested = { teePubkey: '{"kty":"EC"}', token: 'ear', attestationId: 'a1', expiresAt: now + 120_000 };
        expect(await other.kbsSessions.markAttested(row.id, attested, now)).toBe(true);
        // The nonce is used once: a second /attest on the session changes nothing.
        expect(await store.kbsSessions.markAttested(row.id, attested, now)).toBe(false);
        expect(await store.kbsSessions.get(row.id, now)).toEqual({ ...row, state: 'attested', ...attested });
        // Expired: neither read nor attested, then pruned.
        expect(await store.kbsSessions.get(row.id, now + 120_000)).toBeUndefined();
        expect(await store.kbsSessions.prune(now + 120_001)).toBe(1);
        expect(await other.kbsSessions.get(row.id, now)).toBeUndefined();
      });
    });

    describe('secrets', () => {
      const build = (value: string | null, at = 1000) => (version: number) => ({
        row: {
          createdAt: at,
          createdBy: 'admin',
          description: version === 1 ? 'first' : null,
          labels: { env: 'prod' },
          releasePolicy: version === 1 ? 'claims.debug == false' : null,
          acceptPolicies: version === 1 ? ['default'] : null,
          acceptStatuses: ['affirming', 'warning'],
          value: value === null ? null : `${value}@${version}`,
          size: 5,
          deletedAt: null,
          deletedBy: null,
        },
        audit: entry('secret.put', { details: { version } }),
      });

      it('stores numbered versions with their metadata, lists live ones without values', async () => {
        const { store } = await setup();
        expect(await store.secrets.exists('db')).toBe(false);
        const v1 = await store.secrets.put('db', build('pw'));
        expect(v1).toEqual({ ...build('pw')(1).row, name: 'db', version: 1 });
        expect((await store.secrets.put('db', build('pw'))).version).toBe(2);
        await store.secrets.put('api', build('key'));
        expect(await store.secrets.exists('db')).toBe(true);
        expect(await store.secrets.findLive('db')).toMatchObject({ version: 2, value: 'pw@2', labels: { env: 'prod' }, acceptStatuses: ['affirming', 'warning'] });
        expect(await store.secrets.findLive('db', 1)).toMatchObject({ version: 1, value: 'pw@1', releasePolicy: 'claims.debug == false', acceptPolicies: ['default'], description: 'first' });
        expect(await store.secrets.findLive('db', 3)).toBeUndefined();
        const live = await store.secrets.listLive();
        expect(live.map((r) => `${r.name}@${r.version}`)).toEqual(['api@1', 'db@1', 'db@2']);
        for (const r of live) expect(r).not.toHaveProperty('value');
        expect((await store.audit.query({ action: 'secret.put' }, 10)).map((e) => e.details)).toEqual(['{"version":1}', '{"version":2}', '{"version":1}']);
      });

      it('deletes to tombstones that keep their number, audited only when something was deleted', async () => {
        const { store } = await setup();
        for (let i = 0; i < 3; i++) await store.secrets.put('db', build('pw'));
        const audited: number[][] = [];
        const audit = (versions: number[]) => {
          audited.push(versions);
          return entry('secret.delete', { details: { versions } });
        };
        expect(await store.secrets.delete('db', 2, 5000, 'admin', audit)).toEqual([2]);
        expect(await store.secrets.findLive('db', 2)).toBeUndefined();
        expect(await store.secrets.delete('db', 2, 5001, 'admin', audit)).toEqual([]);
        expect((await store.secrets.put('db', build('pw'))).version).toBe(4);
        expect(await store.secrets.delete('db', undefined, 6000, 'admin', audit)).toEqual([1, 3, 4]);
        expect(await store.secrets.delete('db', undefined, 6001, 'admin', audit)).toEqual([]);
        expect(await store.secrets.findLive('db')).toBeUndefined();
        expect(await store.secrets.listLive()).toEqual([]);
        expect(await store.secrets.exists('db')).toBe(true);
        expect((await store.secrets.put('db', build('pw'))).version).toBe(5);
        expect(audited).toEqual([[2], [1, 3, 4]]);
        expect(await store.audit.count({ action: 'secret.delete' })).toBe(2);
      });
    });

    describe('collateral', () => {
      const doc = (key: string, kind: CollateralEntry['kind'], bytes: number[], fetchedAt: number, more: Partial<CollateralEntry> = {}): CollateralEntry => ({
        key,
        kind,
        bytes: new Uint8Array(bytes),
        source: 'amd-kds',
        fetchedAt: new Date(fetchedAt),
        immutable: false,
        ...more,
      });

      it('upserts by key, writes many at once, lists in key order, deletes', async () => {
        const { store, second } = await setup();
        const crl = doc('snp-crl/Milan/vcek', 'snp-crl', [1, 2, 3], 1000, { nextUpdate: new Date(9000) });
        const chain = doc('snp-cert-chain/Milan/vcek', 'snp-cert-chain', [4], 1000);
        const tcb = doc('intel-tcb-info/tdx/00906ed50000', 'intel-tcb-info', [5, 6], 2000, { issuerChain: '-----BEGIN CERTIFICATE-----', source: 'intel-pcs' });
        await store.collateral.put(crl);
        expect(await store.collateral.get(crl.key)).toEqual(crl);
        const renewed = { ...crl, bytes: new Uint8Array([7]), fetchedAt: new Date(3000), nextUpdate: new Date(10_000) };
        await store.collateral.put(renewed);
        expect(await (await second()).collateral.get(crl.key)).toEqual(renewed);
        await store.collateral.putMany([chain, tcb]);
        expect((await store.collateral.list()).map((e) => e.key)).toEqual([tcb.key, chain.key, crl.key]);
        expect(await store.collateral.get(tcb.key)).toEqual(tcb);
        await store.collateral.delete(chain.key);
        expect(await store.collateral.get(chain.key)).toBeUndefined();
        expect(await store.collateral.get('snp-crl/Genoa/vcek')).toBeUndefined();
      });
    });

    describe('rate limits, readiness, close', () => {
      it('counts per bucket and address in fixed windows, refusing past the limit, first refusal once', async () => {
        const { store } = await setup();
        const take = (bucket: string, address: string, now: number) => store.rateLimits.take(bucket, address, 2, 10_000, now);
        expect(await take('attest', 'a', 1000)).toEqual({ allowed: true, firstRefusal: false, limit: 2, remaining: 1, resetSeconds: 10 });
        expect(await take('attest', 'a', 2000)).toMatchObject({ allowed: true, remaining: 0, resetSeconds: 9 });
        expect(await take('attest', 'a', 3000)).toMatchObject({ allowed: false, firstRefusal: true, remaining: 0 });
        expect(await take('attest', 'a', 4000)).toMatchObject({ allowed: false, firstRefusal: false });
        expect(await take('attest', 'b', 4000)).toMatchObject({ allowed: true, remaining: 1 });
        expect(await take('challenge', 'a', 4000)).toMatchObject({ allowed: true, remaining: 1 });
        expect(await take('attest', 'a', 11_000)).toMatchObject({ allowed: true, remaining: 1 });
        expect(await store.rateLimits.take('attest', 'a', 0, 10_000, 11_000)).toMatchObject({ allowed: true });
      });

      it('answers ping while open; after close, ping is store_unavailable', async () => {
        const { store } = await setup();
        await expect(store.ping()).resolves.toBeUndefined();
        await store.close();
        expect(await rejection(store.ping())).toBeInstanceOf(StoreUnavailableError);
      });
    });
  });
}
