// backup.test.mjs — `conway backup` under write load, `conway backup
// --verify`, and `conway restore`: a backup taken while a real server keeps
// acknowledging writes holds every write acknowledged before the backup
// started (and none acknowledged after it finished), passes its checks,
// restores into a new place that a server then serves, and restore refuses
// a database that a server has open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, conway, conwayBin, tempDir } from '../api/helpers.mjs';

// Runs the CLI without blocking the event loop (the writers share it).
function run(args) {
  return new Promise((resolve) => {
    const p = spawn(conwayBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

const component = (name) => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name, description: `backup test ${name}` },
  spec: { type: 'service', lifecycle: 'production', owner: 'group:default/backup-team' },
});
const cdevent = (id) => ({
  context: { specversion: '0.5.1', id, source: '/backup/test', type: 'dev.cdevents.service.deployed.0.3.0', timestamp: '2024-03-01T12:00:00Z' },
  subject: { id: 'backup-svc', source: '/backup/test', content: { environment: { id: 'prod' }, artifactId: 'pkg:oci/b@sha256%3Aabc' } },
});

async function allNames(srv, token) {
  const names = new Set();
  let cursor = null;
  do {
    const r = await srv.json(`/api/v1/entities?kind=component&limit=1000${cursor ? `&cursor=${cursor}` : ''}`, { token });
    assert.equal(r.status, 200);
    r.body.items.forEach((e) => names.add(e.metadata.name));
    cursor = r.body.nextCursor;
  } while (cursor);
  return names;
}

async function allEvents(srv, token) {
  const ids = new Set();
  let cursor = null;
  do {
    const r = await srv.json(`/api/v1/events?limit=1000${cursor ? `&cursor=${cursor}` : ''}`, { token });
    if (r.status === 404) return null;
    assert.equal(r.status, 200);
    r.body.items.forEach((e) => ids.add(e.id));
    cursor = r.body.nextCursor;
  } while (cursor);
  return ids;
}

test('backup under write load, verify, restore into a new place', { timeout: 120000 }, async () => {
  const dir = tempDir('conway-backup-');
  const db = join(dir, 'live.db');
  const out = join(dir, 'snapshot.db');
  const token = conway(['token', 'create', '--db', db, '--role', 'admin', '--name', 'backup']).stdout.trim();
  // some bulk first, so the copy takes several steps
  const seed = [];
  for (let i = 0; i < 300; i++) seed.push(`---\n${JSON.stringify(component(`seed-${i}`))}\n`);
  let srv = await startServer({ db, publicRead: false });
  const imp = await srv.json('/api/v1/import', { method: 'POST', token, body: seed.join(''), headers: { 'content-type': 'application/yaml' } });
  assert.equal(imp.status, 200, JSON.stringify(imp.body));

  // writers: every acknowledgement is stamped with the time it arrived
  const ackedAt = new Map();
  const eventAckedAt = new Map();
  let stop = false;
  const put = async (w) => {
    for (let i = 0; !stop; i++) {
      const name = `live-${w}-${i}`;
      const r = await srv.fetch(`/api/v1/entities/component/default/${name}`, {
        method: 'PUT', token, body: JSON.stringify(component(name)), headers: { 'content-type': 'application/json' },
      });
      await r.arrayBuffer();
      assert.ok(r.status === 201, `PUT ${name}: ${r.status}`);
      ackedAt.set(name, performance.now());
    }
  };
  const events = async () => {
    for (let i = 0; !stop; i++) {
      const id = `bev-${i}`;
      const r = await srv.fetch('/api/v1/events', { method: 'POST', token, body: JSON.stringify(cdevent(id)), headers: { 'content-type': 'application/json' } });
      await r.arrayBuffer();
      if (r.status === 404) return; // no events API in this build
      assert.equal(r.status, 202);
      eventAckedAt.set(id, performance.now());
    }
  };
  // a writer that fails stops the others and fails the test with its cause
  const guard = (p) => p.catch((e) => {
    stop = true;
    throw new Error(`writer: ${e.message} ${e.cause?.code || e.cause?.message || ''}; server: ${srv.stderr.slice(-6000)}`);
  });
  const writers = [put(0), put(1), put(2), events()].map(guard);
  const writersDone = Promise.allSettled(writers);
  // Waits for progress rather than for a fixed time: a sanitizer build on a
  // busy machine can be ten times slower.
  const until = async (cond, what) => {
    const deadline = performance.now() + 60000;
    while (!cond()) {
      if (stop) return; // a writer failed: its error fails the test below
      assert.ok(performance.now() < deadline, `timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await until(() => ackedAt.size > 30, 'writes before the backup');

  const started = performance.now();
  const b = await Promise.race([run(['backup', '--db', db, out]), writersDone.then(() => Promise.all(writers))]);
  const finished = performance.now();
  assert.equal(b.status, 0, b.stderr);
  assert.match(b.stdout, /verified/);
  assert.match(b.stdout, /entities\s+\d+/);
  const ackedBefore = ackedAt.size;
  await until(() => ackedAt.size >= ackedBefore + 3 * 3, 'writes after the backup');
  stop = true;
  await Promise.all(writers);
  const before = [...ackedAt].filter(([, t]) => t < started).map(([n]) => n);
  const afterEnd = [...ackedAt].filter(([, t]) => t > finished).map(([n]) => n);
  assert.ok(before.length > 10, `only ${before.length} writes before the backup`);
  assert.ok(afterEnd.length > 0, 'no writes after the backup');
  assert.ok(!existsSync(`${out}.tmp`), 'no temporary file left');
  assert.ok(statSync(out).size > 100000);

  // verify: the backup alone, then against the live database, which moved on
  const v = await run(['backup', '--verify', out]);
  assert.equal(v.status, 0, v.stderr);
  assert.match(v.stdout, /intact conway database/);
  const vs = await run(['backup', '--verify', '--db', db, out]);
  assert.equal(vs.status, 1, vs.stdout + vs.stderr);
  assert.match(vs.stdout, /entities\s+\d+\s+\d+\s+differs/);

  // restore refuses the database the server is using, and leaves it alone
  const liveNames = await allNames(srv, token);
  const refused = await run(['restore', '--db', db, out]);
  assert.equal(refused.status, 3, refused.stdout + refused.stderr);
  assert.match(refused.stderr, /in use .*stop it first/);
  assert.deepEqual(await allNames(srv, token), liveNames);
  assert.equal((await srv.json('/readyz')).status, 200);

  // restore into a new place and serve it
  const restored = join(dir, 'restored', 'conway.db');
  execFileSync('mkdir', ['-p', join(dir, 'restored')]);
  const rr = await run(['restore', '--db', restored, out]);
  assert.equal(rr.status, 0, rr.stderr);
  assert.match(rr.stdout, /restored .* verified/);
  assert.equal(execFileSync('sqlite3', [restored, 'PRAGMA integrity_check;'], { encoding: 'utf8' }).trim(), 'ok');
  const srv2 = await startServer({ db: restored, publicRead: false });
  try {
    const names = await allNames(srv2, token);
    for (const n of before) assert.ok(names.has(n), `${n} was acknowledged before the backup started but is not in it`);
    for (let i = 0; i < 300; i++) assert.ok(names.has(`seed-${i}`));
    for (const n of afterEnd) assert.ok(!names.has(n), `${n} was acknowledged after the backup finished, yet it is in it`);
    const evs = await allEvents(srv2, token);
    if (evs) {
      for (const [id, t] of eventAckedAt) if (t < started) assert.ok(evs.has(id), `event ${id} acknowledged before the backup is missing`);
    }
    // the restored database takes writes
    const w = await srv2.json('/api/v1/entities/component/default/after-restore', {
      method: 'PUT', token, body: JSON.stringify(component('after-restore')), headers: { 'content-type': 'application/json' },
    });
    assert.equal(w.status, 201);
  } finally {
    await srv2.stop();
  }

  // once the server is stopped, restore replaces the live database in place
  await srv.stop({ keep: true });
  const inPlace = await run(['restore', '--db', db, out]);
  assert.equal(inPlace.status, 0, inPlace.stderr);
  assert.ok(!existsSync(`${db}-wal`) || statSync(`${db}-wal`).size === 0, 'old WAL removed');
  srv = await startServer({ db, publicRead: false });
  try {
    const names = await allNames(srv, token);
    for (const n of afterEnd) assert.ok(!names.has(n), `${n} survived the restore`);
    for (const n of before) assert.ok(names.has(n));
  } finally {
    await srv.stop({ keep: true });
  }
  rmSync(dir, { recursive: true, force: true });
});

test('backup and restore refuse what they cannot do', async () => {
  const dir = tempDir('conway-backup-');
  try {
    const db = join(dir, 'a.db');
    assert.equal(conway(['token', 'create', '--db', db, '--role', 'viewer']).status, 0);
    let r = conway(['backup', '--db', db]);
    assert.equal(r.status, 2);
    r = conway(['backup', '--db', db, join(dir, 'nodir', 'x.db')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /nodir/);
    r = conway(['backup', '--db', db, db]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /database itself/);
    r = conway(['backup', '--db', 'postgres://localhost/conway', join(dir, 'p.db')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /pg_dump/);
    r = conway(['backup', '--verify', join(dir, 'missing.db')]);
    assert.equal(r.status, 1);
    r = conway(['restore', '--db', join(dir, 'b.db'), join(dir, 'missing.db')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /backup cannot be used/);
    assert.ok(!existsSync(join(dir, 'b.db')), 'a failed restore creates no database');
    r = conway(['restore', '--db', 'postgres://localhost/conway', db]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /pg_restore/);
    r = conway(['backup', '--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /--verify/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
