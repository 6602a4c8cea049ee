// postgres.test.mjs — several conway instances on one PostgreSQL database
// (scripts/services.sh starts a throwaway server and exports
// CONWAY_TEST_PG_URL): a write through one instance is what the next read
// through another sees (entities, lists, deletes, tokens), and the same
// CDEvent delivered to two instances at once is stored once. Skipped (with
// a message) when no PostgreSQL is configured.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startServer, pgBaseUrl, pgCreateDb, pgAdmin } from './helpers.mjs';

const skip = pgBaseUrl ? false : 'CONWAY_TEST_PG_URL is not set: start PostgreSQL with `eval "$(scripts/services.sh start pg)"`';
if (skip) console.log(`# postgres tests skipped: ${skip}`);

const component = (name, type = 'service', owner = 'team-a') => ({
  apiVersion: 'backstage.io/v1alpha1', kind: 'Component',
  metadata: { name }, spec: { type, lifecycle: 'production', owner },
});

const cdevent = (id) => ({
  context: {
    specversion: '0.5.1', id, source: '/conway/tests/pg', type: 'dev.cdevents.service.deployed.0.3.0',
    timestamp: new Date(Date.UTC(2024, 0, 1) + Math.floor(Math.random() * 1e9)).toISOString(),
  },
  subject: { id: 'svc', content: { environment: { id: 'prod' }, artifactId: 'pkg:oci/svc@sha256%3A00' } },
});

describe('two instances on one PostgreSQL database', { skip }, () => {
  let db, a, b, editor, ingest;
  before(async () => {
    db = pgCreateDb('conway_two');
    a = await startServer({ db: db.url, publicRead: true });
    b = await startServer({ db: db.url, publicRead: true });
    editor = a.token('editor');
    ingest = b.token('ingest');
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    db?.drop();
  });

  test('both report the PostgreSQL backend as ready', async () => {
    for (const s of [a, b]) {
      const r = await s.json('/readyz');
      assert.equal(r.status, 200);
      assert.equal(r.body.checks.database.backend, 'postgres');
    }
  });

  test('a write through A is what the next read through B sees', async () => {
    const path = '/api/v1/entities/component/default/shared-svc';
    // B reads first, so it would have a cached copy to go stale
    assert.equal((await b.json(path)).status, 404);
    let r = await a.json(path, { method: 'PUT', token: editor, headers: { 'content-type': 'application/json' }, body: JSON.stringify(component('shared-svc')) });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    for (const type of ['website', 'library', 'service']) {
      const got = await b.json(path);
      assert.equal(got.status, 200);
      const before = got.body.spec.type;
      r = await a.json(path, { method: 'PUT', token: editor, headers: { 'content-type': 'application/json' }, body: JSON.stringify(component('shared-svc', type)) });
      assert.ok([200, 201].includes(r.status), JSON.stringify(r.body));
      const after = await b.json(path);
      assert.equal(after.body.spec.type, type, `B still served ${before}`);
      assert.equal(after.headers.get('etag'), r.headers.get('etag'));
      // lists and the Backstage API follow too
      const list = await b.json('/api/v1/entities?q=shared-svc');
      assert.equal(list.body.items[0].spec.type, type);
      const bs = await b.json('/api/catalog/entities/by-name/component/default/shared-svc');
      assert.equal(bs.body.spec.type, type);
    }
    // relations computed by A appear on B's rendering of the other end
    r = await a.json('/api/v1/entities/group/default/team-a', {
      method: 'PUT', token: editor, headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'backstage.io/v1alpha1', kind: 'Group', metadata: { name: 'team-a' }, spec: { type: 'team', children: [] } }),
    });
    assert.equal(r.status, 201);
    const g = await b.json('/api/v1/entities/group/default/team-a');
    assert.ok(g.body.relations.some((x) => x.type === 'ownerOf' && x.targetRef === 'component:default/shared-svc'));
    // a delete through B is seen by A at once
    assert.equal((await a.json(path)).status, 200);
    r = await b.json(path, { method: 'DELETE', token: b.token('editor') });
    assert.equal(r.status, 204);
    assert.equal((await a.json(path)).status, 404);
  });

  test('a token revoked through one instance stops working on the other', async () => {
    const t = a.token('viewer', { name: 'pg-shared' });
    const closed = await startServer({ db: db.url, publicRead: false });
    try {
      assert.equal((await closed.json('/api/v1/entities', { token: t })).status, 200);
      const id = pgAdmin(`SELECT id FROM tokens WHERE name = 'pg-shared'`, db.url);
      const revoke = await import('./helpers.mjs').then((h) => h.conway(['token', 'revoke', '--db', db.url, id]));
      assert.equal(revoke.status, 0, revoke.stderr);
      assert.equal((await closed.json('/api/v1/entities', { token: t })).status, 401);
    } finally { await closed.stop(); }
  });

  test('the same event delivered to both at once is stored once', async () => {
    const ids = Array.from({ length: 60 }, () => randomUUID());
    const post = (srv, ev) => srv.json('/api/v1/events', {
      method: 'POST', token: ingest, headers: { 'content-type': 'application/json' }, body: JSON.stringify(ev),
    });
    // each event to A and B simultaneously, all events in flight together
    const results = await Promise.all(ids.flatMap((id) => {
      const ev = cdevent(id);
      return [post(a, ev), post(b, ev)];
    }));
    for (const r of results) assert.equal(r.status, 202, JSON.stringify(r.body));
    const accepted = results.reduce((n, r) => n + r.body.accepted, 0);
    const duplicates = results.reduce((n, r) => n + r.body.duplicates, 0);
    assert.equal(accepted, ids.length, 'each event accepted by exactly one instance');
    assert.equal(duplicates, ids.length);
    const count = Number(pgAdmin(`SELECT count(*) FROM events e JOIN event_sources s ON s.id = e.source_id WHERE s.name = '/conway/tests/pg'`, db.url));
    assert.equal(count, ids.length);
    // both list them all
    for (const s of [a, b]) {
      const l = await s.json('/api/v1/events?limit=1000');
      assert.equal(l.body.items.filter((e) => e.source === '/conway/tests/pg').length, ids.length);
    }
  });
});
