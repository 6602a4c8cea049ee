// crash.test.mjs — crash consistency: concurrent writers (entity upserts,
// imports, single events, event batches, re-deliveries) hit a real
// `conway serve` that is killed with SIGKILL at a random moment, round
// after round on the same SQLite database. After every kill the database
// must pass SQLite's integrity and foreign-key checks, and after every
// restart every write that was acknowledged with 2xx must be there, writes
// that were not acknowledged must be all-or-nothing, and nothing may be
// duplicated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, conway, tempDir } from '../api/helpers.mjs';

const ROUNDS = Number(process.env.CRASH_ROUNDS || 24);
const NAMES_PER_WRITER = 30;

// Seeded PRNG so that a failing round can be replayed (CRASH_SEED).
const seed = Number(process.env.CRASH_SEED || Date.now() % 100000);
let rs = seed;
const rand = () => { rs = (rs * 1103515245 + 12345) % 2147483648; return rs / 2147483648; };

const component = (name, ver) => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name, labels: { ver: String(ver) }, description: `crash test ${name} version ${ver}` },
  spec: { type: 'service', lifecycle: 'production', owner: 'group:default/crash-team' },
});

const cdevent = (id) => ({
  context: {
    specversion: '0.5.1', id, source: '/crash/test', type: 'dev.cdevents.service.deployed.0.3.0',
    timestamp: new Date(Date.UTC(2024, 0, 1) + Number(id.replace(/\D/g, '').slice(-9) || 0) * 1000).toISOString(),
  },
  subject: {
    id: 'crash-svc', source: '/crash/test',
    content: { environment: { id: 'prod' }, artifactId: 'pkg:oci/crash@sha256%3Aabc' },
  },
});

function sqliteCheck(db) {
  const ic = execFileSync('sqlite3', [db, 'PRAGMA integrity_check;'], { encoding: 'utf8' }).trim();
  const fk = execFileSync('sqlite3', [db, 'PRAGMA foreign_key_check;'], { encoding: 'utf8' }).trim();
  return { ic, fk };
}

async function listAll(srv, token, path) {
  const items = [];
  let cursor = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const r = await srv.json(`${path}${sep}limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    items.push(...r.body.items);
    cursor = r.body.nextCursor;
  } while (cursor);
  return items;
}

test(`acknowledged writes survive kill -9 (${ROUNDS} rounds, seed ${seed})`, { timeout: 150000 }, async () => {
  const dir = tempDir('conway-crash-');
  const db = join(dir, 'crash.db');
  const token = conway(['token', 'create', '--db', db, '--role', 'admin', '--name', 'crash']).stdout.trim();
  assert.ok(token.startsWith('cw_'));

  // What the clients know: per entity name the highest version acknowledged
  // and the highest ever sent; import and event batches acknowledged or not.
  const acked = new Map();
  const attempted = new Map();
  const imports = []; // { names, acked }
  const eventBatches = []; // { ids, acked }
  const ackedEvents = new Set();
  let eventsSupported = true;
  let totals = { puts: 0, imports: 0, events: 0, redeliveries: 0 };

  let srv = null;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      srv = await startServer({ db, publicRead: false });
      if (round === 0) {
        const probe = await srv.json('/api/v1/events', { method: 'POST', token, body: '{}', headers: { 'content-type': 'application/json' } });
        eventsSupported = probe.status !== 404 && probe.status !== 405;
      }
      const base = srv.url;
      let stop = false;
      const send = async (method, path, body, type) => {
        try {
          const res = await fetch(base + path, {
            method, body, headers: { authorization: `Bearer ${token}`, 'content-type': type },
          });
          // the status line is the acknowledgement; the body may be cut off
          res.body?.cancel().catch(() => {});
          if (res.status === 503) return 'busy';
          if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status}`);
          return 'ok';
        } catch (e) {
          if (e.message.includes(': ')) throw e; // a 4xx is a bug in this test or the server
          return 'lost';
        }
      };

      const putWriter = async (w) => {
        for (let i = 0; !stop; i++) {
          const name = `c-r${round % 3}-w${w}-${i % NAMES_PER_WRITER}`;
          const ver = (attempted.get(name) || 0) + 1;
          attempted.set(name, ver);
          const r = await send('PUT', `/api/v1/entities/component/default/${name}`, JSON.stringify(component(name, ver)), 'application/json');
          if (r === 'ok') { acked.set(name, Math.max(acked.get(name) || 0, ver)); totals.puts++; }
          if (r === 'lost') return;
        }
      };
      const importWriter = async () => {
        for (let k = 0; !stop; k++) {
          const names = [0, 1, 2].map((j) => `imp-r${round}-${k}-${j}`);
          const yaml = names.map((n) => `---\n${JSON.stringify(component(n, 1))}\n`).join('');
          const batch = { names, acked: false };
          imports.push(batch);
          const r = await send('POST', '/api/v1/import', yaml, 'application/yaml');
          if (r === 'ok') { batch.acked = true; totals.imports++; }
          if (r === 'lost') return;
        }
      };
      const eventWriter = async (size) => {
        for (let k = 0; !stop; k++) {
          const ids = Array.from({ length: size }, (_, j) => `ev-${round}-${size}-${k}-${j}`);
          const batch = { ids, acked: false };
          eventBatches.push(batch);
          const body = size === 1 ? JSON.stringify(cdevent(ids[0])) : JSON.stringify(ids.map(cdevent));
          const r = await send('POST', '/api/v1/events', body, 'application/json');
          if (r === 'ok') { batch.acked = true; ids.forEach((id) => ackedEvents.add(id)); totals.events += size; }
          if (r === 'lost') return;
          // a retried delivery of something already acknowledged must stay a single copy
          if (ackedEvents.size && k % 3 === 0) {
            const again = [...ackedEvents][Math.floor(rand() * ackedEvents.size)];
            const r2 = await send('POST', '/api/v1/events', JSON.stringify(cdevent(again)), 'application/json');
            if (r2 === 'ok') totals.redeliveries++;
            if (r2 === 'lost') return;
          }
        }
      };

      const writers = [0, 1, 2, 3].map(putWriter);
      writers.push(importWriter());
      if (eventsSupported) writers.push(eventWriter(1), eventWriter(1), eventWriter(8));
      await new Promise((r) => setTimeout(r, 150 + rand() * 600));
      const exited = new Promise((r) => srv.proc.once('exit', r));
      srv.proc.kill('SIGKILL');
      await exited;
      stop = true;
      await Promise.all(writers);

      // the killed server's files, checked by another SQLite process
      const { ic, fk } = sqliteCheck(db);
      assert.equal(ic, 'ok', `round ${round}: integrity_check: ${ic}`);
      assert.equal(fk, '', `round ${round}: foreign_key_check: ${fk}`);

      // restart and compare with what the clients were told
      srv = await startServer({ db, publicRead: false });
      const ents = await listAll(srv, token, '/api/v1/entities?kind=component');
      const byName = new Map();
      for (const e of ents) {
        assert.ok(!byName.has(e.metadata.name), `round ${round}: ${e.metadata.name} listed twice`);
        byName.set(e.metadata.name, Number(e.metadata.labels?.ver));
      }
      for (const [name, ver] of acked) {
        assert.ok(byName.has(name), `round ${round}: acknowledged ${name} (version ${ver}) is missing`);
        assert.ok(byName.get(name) >= ver, `round ${round}: ${name} is at version ${byName.get(name)}, version ${ver} was acknowledged`);
      }
      for (const [name, ver] of byName) {
        if (!name.startsWith('c-')) continue;
        assert.ok(ver <= (attempted.get(name) || 0), `round ${round}: ${name} has version ${ver} that was never sent`);
      }
      for (const b of imports) {
        const present = b.names.filter((n) => byName.has(n)).length;
        if (b.acked) assert.equal(present, 3, `round ${round}: acknowledged import ${b.names[0]}… has ${present} of 3`);
        else assert.ok(present === 0 || present === 3, `round ${round}: unacknowledged import ${b.names[0]}… is half there (${present} of 3)`);
      }
      if (eventsSupported) {
        const evs = await listAll(srv, token, '/api/v1/events');
        const seen = new Map();
        for (const e of evs) {
          const key = `${e.source} ${e.id}`;
          assert.ok(!seen.has(key), `round ${round}: event ${key} stored twice`);
          seen.set(key, true);
        }
        for (const b of eventBatches) {
          const present = b.ids.filter((id) => seen.has(`/crash/test ${id}`)).length;
          if (b.acked) assert.equal(present, b.ids.length, `round ${round}: acknowledged events ${b.ids[0]}… have ${present} of ${b.ids.length}`);
          else assert.ok(present === 0 || present === b.ids.length, `round ${round}: unacknowledged batch ${b.ids[0]}… is partly there (${present} of ${b.ids.length})`);
        }
      }
      await srv.stop({ keep: true });
      srv = null;
    }
  } finally {
    if (srv) await srv.stop({ keep: true });
  }
  // the run did exercise the server
  assert.ok(totals.puts > ROUNDS * 2, `only ${totals.puts} acknowledged entity writes`);
  assert.ok(totals.imports > ROUNDS / 4, `only ${totals.imports} acknowledged imports`);
  if (eventsSupported) {
    assert.ok(totals.events > ROUNDS * 2, `only ${totals.events} acknowledged events`);
    assert.ok(totals.redeliveries > 0, 'no re-delivery was acknowledged');
  }
  const lost = imports.filter((b) => !b.acked).length + eventBatches.filter((b) => !b.acked).length;
  console.log(`# crash: ${ROUNDS} rounds, seed ${seed}: ${totals.puts} entity writes, ${totals.imports} imports, ${totals.events} events, ${totals.redeliveries} re-deliveries acknowledged; ${lost} batches in flight at a kill`);
  rmSync(dir, { recursive: true, force: true });
});
