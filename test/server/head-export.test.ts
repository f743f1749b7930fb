// Exported audit heads (issue 16 item 4): the service writes its signed head to an
// append-only JSON Lines file and/or POSTs it to a URL; `tessera audit verify --heads FILE`
// checks the log against every exported head and names the first one it contradicts, so a
// log cut short or rewritten is caught without anyone having kept a head by hand.

import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEADS_FILE } from '../../server/audit/head-export.ts';
import { DB_FILE } from '../../server/storage/sqlite/connection.ts';
import { removeDir, startServer, tempDir, type TestServer } from './helpers.ts';

const BIN = new URL('../../bin/tessera.js', import.meta.url).pathname;
const run = promisify(execFile);

async function verify(srv: TestServer, headsFile: string, json = false): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, 'audit', 'verify', '--data', srv.dataDir, '--heads', headsFile, ...(json ? ['--json'] : [])], {
      env: { PATH: process.env.PATH, TESSERA_KEK: srv.env.TESSERA_KEK },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A receiver of POSTed heads; `fail` makes it answer 500. */
function receiver(): Promise<{ server: Server; url: string; bodies: unknown[]; fail: { on: boolean } }> {
  const bodies: unknown[] = [];
  const fail = { on: false };
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      if (fail.on) {
        res.writeHead(500).end();
        return;
      }
      bodies.push(JSON.parse(text));
      res.writeHead(204).end();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/heads`, bodies, fail })));
}

const metric = async (srv: TestServer, target: string, outcome: string): Promise<number> => {
  const text = await (await fetch(`${srv.url}/metrics`)).text();
  const m = new RegExp(`^tessera_audit_head_exports_total\\{target="${target}",outcome="${outcome}"\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
};

describe('exported audit heads', () => {
  let srv: TestServer;
  let dir: string;
  let sink: Awaited<ReturnType<typeof receiver>>;
  const headsFile = () => join(dir, HEADS_FILE);
  const newEntry = async (name: string) => expect((await srv.call('POST', '/v1/tokens', { token: srv.adminToken, body: { name, scope: 'auditor' } })).status).toBe(201);

  beforeAll(async () => {
    dir = tempDir('tessera-heads-');
    sink = await receiver();
    srv = await startServer({ config: { auditHeads: { directory: dir, url: sink.url } } });
  });

  afterAll(async () => {
    await srv?.stop();
    sink?.server.close();
    if (srv) removeDir(srv.dataDir);
    if (dir) removeDir(dir);
  });

  it('writes one JSON line per export to the file and POSTs the same head; a failing receiver is counted, not fatal', async () => {
    // The first export runs at start; two more, each after new entries.
    await srv.service.headExporter!.runOnce();
    await newEntry('one');
    await srv.service.headExporter!.runOnce();
    await newEntry('two');
    const outcomes = await srv.service.headExporter!.runOnce();
    expect(outcomes).toEqual([
      { target: 'file', ok: true },
      { target: 'url', ok: true },
    ]);
    const lines = readFileSync(headsFile(), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seq: number; hash: string; signed: string });
    expect(lines.length).toBeGreaterThanOrEqual(3);
    const seqs = lines.map((l) => l.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(sink.bodies.at(-1)).toEqual(lines.at(-1));
    expect(lines.at(-1)!.signed.split('.')).toHaveLength(3);

    sink.fail.on = true;
    const failedBefore = await metric(srv, 'url', 'failed');
    const failed = await srv.service.headExporter!.runOnce();
    expect(failed).toEqual([{ target: 'file', ok: true }, expect.objectContaining({ target: 'url', ok: false, error: 'the receiver answered 500' })]);
    expect(await metric(srv, 'url', 'failed')).toBe(failedBefore + 1);
    expect(await metric(srv, 'file', 'ok')).toBeGreaterThanOrEqual(4);
    sink.fail.on = false;
    // Attestation-side work goes on: the service still answers.
    expect((await srv.call('GET', '/readyz')).status).toBe(200);

    const intact = await verify(srv, headsFile());
    expect(intact.code, intact.stderr).toBe(0);
    expect(intact.stdout).toMatch(/holds all \d+ exported heads\n$/);
  });

  it('catches a log cut short and then rewritten, naming the first exported head it contradicts', async () => {
    const lines = readFileSync(headsFile(), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seq: number; hash: string });
    const newest = lines.at(-1)!;
    const firstAt = lines.findIndex((l) => l.seq === newest.seq) + 1;
    await srv.stop();

    // Cut: the tail from the newest exported entry on is gone; the chain alone still verifies.
    const db = new Database(join(srv.dataDir, DB_FILE));
    db.exec('DROP TRIGGER audit_log_no_delete');
    db.prepare('DELETE FROM audit_log WHERE seq >= ?').run(newest.seq);
    db.close();
    const cut = await verify(srv, headsFile());
    expect(cut.code).toBe(1);
    expect(cut.stdout).toContain(`audit log CUT SHORT or REWRITTEN: exported head at line ${firstAt}: the log ends at entry ${newest.seq - 1}`);

    // Rewritten: new entries take the exported seq with other content.
    const again = await startServer({ dataDir: srv.dataDir, env: srv.env });
    try {
      expect((await again.call('POST', '/v1/tokens', { token: srv.adminToken, body: { name: 'rewrite-1', scope: 'auditor' } })).status).toBe(201);
      expect((await again.call('POST', '/v1/tokens', { token: srv.adminToken, body: { name: 'rewrite-2', scope: 'auditor' } })).status).toBe(201);
    } finally {
      await again.stop();
    }
    const rewritten = await verify(srv, headsFile(), true);
    expect(rewritten.code).toBe(1);
    expect(JSON.parse(rewritten.stdout).headMismatch).toMatch(new RegExp(`^exported head at line ${firstAt}: entry ${newest.seq} hashes to [0-9a-f]{64}, but the head signed at .* says ${newest.hash}: the log was rewritten from there$`));

    // A damaged file is an error that names the line, never a line skipped.
    const damagedFile = join(dir, 'damaged.jsonl');
    appendFileSync(damagedFile, `${readFileSync(headsFile(), 'utf8').split('\n')[0]}\n{"seq": 1, "hash": "00"}\n`);
    const damaged = await verify(srv, damagedFile);
    expect([damaged.code, damaged.stderr]).toEqual([2, expect.stringMatching(/line 2 has no `signed` head/)]);
  });
});
