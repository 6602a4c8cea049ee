// entities.test.mjs — black-box tests of the native catalog API, auth,
// import, meta routes and durability against a real `conway serve`.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, testData, conway, tempDir } from './helpers.mjs';

const component = (name, extra = {}) => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name, description: `the ${name} service`, tags: ['java'], ...(extra.metadata || {}) },
  spec: { type: 'service', lifecycle: 'production', owner: 'team-a', ...(extra.spec || {}) },
});

function assertProblem(res, status, detailRe) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(res.headers.get('content-type'), /^application\/problem\+json/);
  assert.equal(res.body.status, status);
  assert.equal(typeof res.body.title, 'string');
  if (detailRe) assert.match(res.body.detail, detailRe);
}

describe('catalog API (token required)', () => {
  let srv, admin, editor, viewer, ingest;
  before(async () => {
    srv = await startServer({ publicRead: false });
    admin = srv.token('admin', { name: 'admin' });
    editor = srv.token('editor', { name: 'ed' });
    viewer = srv.token('viewer');
    ingest = srv.token('ingest');
  });
  after(async () => { await srv.stop(); });

  const put = (name, body, token, headers = {}) => srv.json(`/api/v1/entities/component/default/${name}`, {
    method: 'PUT', token, body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers },
  });

  test('health, readiness and metrics need no token', async () => {
    assert.equal((await srv.json('/healthz')).status, 200);
    const ready = await srv.json('/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.checks.database.status, 'up');
    const m = await srv.fetch('/metrics');
    assert.equal(m.status, 200);
    assert.match(m.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
    const text = await m.text();
    assert.match(text, /# TYPE conway_http_requests_total counter/);
    assert.match(text, /conway_http_request_duration_seconds_bucket\{route="\/readyz",le="\+Inf"\} \d+/);
    assert.match(text, /conway_database_size_bytes \d+/);
  });

  test('reads need a token; bad tokens are 401', async () => {
    assertProblem(await srv.json('/api/v1/entities'), 401, /bearer token/);
    assertProblem(await srv.json('/api/v1/entities', { token: 'cw_nope' }), 401, /unknown or revoked/);
    assertProblem(await srv.json('/api/v1/entities', { headers: { authorization: 'Basic abc' } }), 401, /Bearer/);
    assert.equal((await srv.json('/api/v1/entities', { token: viewer })).status, 200);
  });

  test('writes need editor or admin', async () => {
    assertProblem(await put('w1', component('w1')), 401);
    assertProblem(await put('w1', component('w1'), viewer), 403, /viewer/);
    assertProblem(await put('w1', component('w1'), ingest), 403, /ingest/);
    assert.equal((await put('w1', component('w1'), editor)).status, 201);
    assert.equal((await put('w1', component('w1'), admin)).status, 200);
  });

  test('PUT creates, reports unchanged, updates, honours If-Match; GET carries ETag', async () => {
    const created = await put('checkout', component('checkout'), editor);
    assert.equal(created.status, 201);
    const etag = created.headers.get('etag');
    assert.match(etag, /^"[0-9a-f]+"$/);
    assert.equal(created.body.metadata.namespace, 'default');
    assert.match(created.body.metadata.uid, /^[0-9a-f-]{36}$/);
    const uid = created.body.metadata.uid;

    const again = await put('checkout', component('checkout'), editor);
    assert.equal(again.status, 200);
    assert.equal(again.headers.get('etag'), etag);

    const stale = await put('checkout', component('checkout', { spec: { lifecycle: 'deprecated' } }), editor, { 'if-match': '"0000"' });
    assertProblem(stale, 412, /If-Match/);

    const updated = await put('checkout', component('checkout', { spec: { lifecycle: 'deprecated' } }), editor, { 'if-match': etag });
    assert.equal(updated.status, 200);
    assert.notEqual(updated.headers.get('etag'), etag);
    assert.equal(updated.body.metadata.uid, uid, 'uid survives updates');

    const got = await srv.json('/api/v1/entities/Component/default/CHECKOUT', { token: viewer });
    assert.equal(got.status, 200);
    assert.equal(got.body.spec.lifecycle, 'deprecated');
    assert.equal(got.headers.get('etag'), updated.headers.get('etag'));
    const cond = await srv.fetch('/api/v1/entities/component/default/checkout', { token: viewer, headers: { 'if-none-match': got.headers.get('etag') } });
    assert.equal(cond.status, 304);
  });

  test('names are unique ignoring case', async () => {
    assert.equal((await put('Billing', component('Billing'), editor)).status, 201);
    const second = await put('billing', component('billing', { spec: { lifecycle: 'experimental' } }), editor);
    assert.equal(second.status, 200);
    const list = await srv.json('/api/v1/entities?kind=component&q=billing', { token: viewer });
    assert.equal(list.body.totalItems, 1);
  });

  test('invalid entities are rejected naming the field and rule', async () => {
    const bad = component('x y');
    const r1 = await srv.json('/api/v1/entities/component/default/x%20y', { method: 'PUT', token: editor, body: JSON.stringify(bad) });
    assertProblem(r1, 422, /metadata\.name/);
    const noOwner = component('no-owner');
    delete noOwner.spec.owner;
    assertProblem(await put('no-owner', noOwner, editor), 422, /spec\.owner/);
    assertProblem(await put('mismatch', component('other'), editor), 400, /not the one in the URL/);
    const r4 = await srv.json('/api/v1/entities/component/default/broken', { method: 'PUT', token: editor, body: '{"kind": ' });
    assertProblem(r4, 400, /invalid JSON at line 1/);
  });

  test('DELETE removes; a missing entity is a 404 problem', async () => {
    assert.equal((await put('temp', component('temp'), editor)).status, 201);
    assert.equal((await srv.fetch('/api/v1/entities/component/default/temp', { method: 'DELETE', token: editor })).status, 204);
    assertProblem(await srv.json('/api/v1/entities/component/default/temp', { token: viewer }), 404, /does not exist/);
    assertProblem(await srv.json('/api/v1/entities/component/default/temp', { method: 'DELETE', token: editor }), 404);
  });

  test('relations are computed both ways and dangling ones resolve later', async () => {
    await put('orders', component('orders', { spec: { owner: 'group:default/team-orders', system: 'shop', dependsOn: ['component:checkout'] } }), editor);
    const orders = await srv.json('/api/v1/entities/component/default/orders', { token: viewer });
    const rel = (e, type) => e.relations.filter((r) => r.type === type).map((r) => r.targetRef);
    assert.deepEqual(rel(orders.body, 'ownedBy'), ['group:default/team-orders']);
    assert.deepEqual(rel(orders.body, 'partOf'), ['system:default/shop']);
    assert.deepEqual(rel(orders.body, 'dependsOn'), ['component:default/checkout']);
    const checkout = await srv.json('/api/v1/entities/component/default/checkout', { token: viewer });
    assert.deepEqual(rel(checkout.body, 'dependencyOf'), ['component:default/orders']);
    // The group arrives after the component that names it.
    const group = { apiVersion: 'backstage.io/v1alpha1', kind: 'Group', metadata: { name: 'team-orders' }, spec: { type: 'team', children: [] } };
    const g = await srv.json('/api/v1/entities/group/default/team-orders', { method: 'PUT', token: editor, body: JSON.stringify(group) });
    assert.equal(g.status, 201);
    assert.deepEqual(rel(g.body, 'ownerOf'), ['component:default/orders']);
  });

  test('import: multi-document YAML with one invalid document', async () => {
    const yaml = [
      'apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: imp-a\n  tags: [go]\nspec:\n  type: website\n  lifecycle: experimental\n  owner: team-b\n',
      'apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: "bad name"\nspec:\n  type: service\n  lifecycle: production\n  owner: team-b\n',
      'apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata:\n  name: imp-sys\nspec:\n  owner: team-b\n',
    ].join('---\n');
    const r = await srv.json('/api/v1/import', { method: 'POST', token: editor, body: yaml, headers: { 'content-type': 'application/yaml' } });
    assert.equal(r.status, 422);
    assert.equal(r.body.imported, 2);
    assert.equal(r.body.errors.length, 1);
    assert.equal(r.body.errors[0].document, 1);
    assert.match(r.body.errors[0].detail, /metadata\.name/);
    const again = await srv.json('/api/v1/import', { method: 'POST', token: editor, body: JSON.stringify([component('imp-json')]) });
    assert.equal(again.status, 200);
    assert.deepEqual({ imported: again.body.imported, unchanged: again.body.unchanged, errors: again.body.errors }, { imported: 1, unchanged: 0, errors: [] });
    const syntax = await srv.json('/api/v1/import', { method: 'POST', token: editor, body: 'a: [1, 2\nb: {' });
    assertProblem(syntax, 400, /line/);
  });

  test('list filters, text search and cursor paging', async () => {
    for (let i = 0; i < 25; i++) {
      await put(`page-${String(i).padStart(2, '0')}`, component(`page-${String(i).padStart(2, '0')}`, { spec: { type: i % 2 ? 'library' : 'service', owner: 'team-pages' }, metadata: { tags: i % 5 === 0 ? ['five'] : ['other'] } }), editor);
    }
    const byOwner = await srv.json('/api/v1/entities?owner=team-pages&limit=10', { token: viewer });
    assert.equal(byOwner.status, 200);
    assert.equal(byOwner.body.totalItems, 25);
    assert.equal(byOwner.body.items.length, 10);
    const seen = new Set(byOwner.body.items.map((e) => e.metadata.name));
    let cursor = byOwner.body.nextCursor;
    while (cursor) {
      const next = await srv.json(`/api/v1/entities?owner=team-pages&limit=10&cursor=${encodeURIComponent(cursor)}`, { token: viewer });
      assert.equal(next.status, 200);
      for (const e of next.body.items) { assert.ok(!seen.has(e.metadata.name), 'no duplicates across pages'); seen.add(e.metadata.name); }
      cursor = next.body.nextCursor;
    }
    assert.equal(seen.size, 25);
    const libs = await srv.json('/api/v1/entities?owner=group:default/team-pages&type=library', { token: viewer });
    assert.equal(libs.body.totalItems, 12);
    const five = await srv.json('/api/v1/entities?tag=five&kind=Component', { token: viewer });
    assert.equal(five.body.totalItems, 5);
    const q = await srv.json('/api/v1/entities?q=PAGE-1', { token: viewer });
    assert.equal(q.body.totalItems, 10);
    const pct = await srv.json('/api/v1/entities?q=%25', { token: viewer });
    assert.equal(pct.body.totalItems, 0, '% is a literal, not a wildcard');
  });

  test('bad query parameters are 400 problems naming them', async () => {
    assertProblem(await srv.json('/api/v1/entities?limit=0', { token: viewer }), 400, /limit/);
    assertProblem(await srv.json('/api/v1/entities?limit=abc', { token: viewer }), 400, /limit/);
    assertProblem(await srv.json('/api/v1/entities?limit=1001', { token: viewer }), 400, /limit/);
    assertProblem(await srv.json('/api/v1/entities?cursor=garbage', { token: viewer }), 400, /cursor/);
    assertProblem(await srv.json('/api/v1/entities?colour=red', { token: viewer }), 400, /colour/);
    assertProblem(await srv.json('/api/v1/entities?owner=%3Ax', { token: viewer }), 400, /owner/);
    assertProblem(await srv.json('/api/v1/nothing-here', { token: viewer }), 404);
    assertProblem(await srv.json('/api/v1/entities', { method: 'PATCH', token: editor }), 405);
  });

  test('bodies over the limit get 413', async () => {
    const big = 'x'.repeat(17 * 1024 * 1024);
    const r = await srv.fetch('/api/v1/import', { method: 'POST', token: editor, body: big }).catch((e) => e);
    if (r instanceof Error) return; // the server may close before the client finished sending
    assert.equal(r.status, 413);
  });

  test('team-scoped editor tokens write only their team\'s entities', async () => {
    const payments = srv.token('editor', { team: 'group:default/payments', name: 'payments-ci' });
    assert.equal((await put('pay-api', component('pay-api', { spec: { owner: 'payments' } }), payments)).status, 201);
    assertProblem(await put('not-ours', component('not-ours', { spec: { owner: 'team-a' } }), payments), 403, /scoped to group:default\/payments/);
    assertProblem(await put('pay-api', component('pay-api', { spec: { owner: 'team-a' } }), payments), 403, /payments/);
    assertProblem(await put('checkout', component('checkout', { spec: { owner: 'payments' } }), payments), 403, /belongs to/);
  });

  test('revoked tokens stop working at once; the database holds no secret', async () => {
    const t = srv.token('viewer', { name: 'short-lived' });
    assert.equal((await srv.json('/api/v1/entities', { token: t })).status, 200);
    const list = conway(['token', 'list', '--db', srv.db]);
    const line = list.stdout.split('\n').find((l) => l.includes('short-lived'));
    assert.ok(line, list.stdout);
    const id = line.trim().split(/\s+/)[0];
    assert.equal(conway(['token', 'revoke', '--db', srv.db, id]).status, 0);
    assertProblem(await srv.json('/api/v1/entities', { token: t }), 401);
    const raw = srv.rawDatabase();
    for (const secret of [admin, editor, viewer, ingest, t]) {
      assert.equal(raw.indexOf(secret), -1, 'secret must not be stored');
    }
  });
});

describe('public read, examples and durability', () => {
  test('every Backstage example file imports; the invalid one is rejected by field', async () => {
    const dir = join(testData, 'backstage');
    const srv = await startServer();
    try {
      const r = conway(['import', '--db', srv.db, dir]);
      assert.equal(r.status, 1, 'exit 1 because invalid-component.yaml is rejected');
      assert.match(r.stderr, /invalid-component\.yaml:0: .*metadata\.name/);
      assert.match(r.stdout, /imported \d+ entities/);
      const list = await srv.json('/api/v1/entities?limit=1000');
      assert.equal(list.status, 200);
      const names = list.body.items.map((e) => `${e.kind}:${e.metadata.namespace}/${e.metadata.name}`);
      assert.ok(names.includes('Component:default/artist-lookup'), names.join(','));
      assert.ok(names.some((n) => n.startsWith('Component:') && !n.includes(':default/')), 'the other-namespace entity is kept in its namespace');
      for (const f of readdirSync(dir).filter((f) => f !== 'invalid-component.yaml')) {
        assert.doesNotMatch(r.stderr, new RegExp(`${f}:\\d+:`), `${f} has no rejected document`);
      }
    } finally { await srv.stop(); }
  });

  test('an acknowledged write survives kill -9', async () => {
    const dir = tempDir();
    const db = join(dir, 'k.db');
    let srv = await startServer({ db, publicRead: false });
    const tok = srv.token('editor');
    for (let i = 0; i < 20; i++) {
      const r = await srv.json(`/api/v1/entities/component/default/durable-${i}`, { method: 'PUT', token: tok, body: JSON.stringify(component(`durable-${i}`)) });
      assert.equal(r.status, 201);
    }
    await srv.stop({ keep: true, signal: 'SIGKILL' });
    srv = await startServer({ db, publicRead: true });
    try {
      const list = await srv.json('/api/v1/entities?q=durable-');
      assert.equal(list.body.totalItems, 20);
    } finally { await srv.stop(); }
  });

  test('SIGTERM shuts down cleanly with exit status 0', async () => {
    const srv = await startServer();
    const exited = new Promise((r) => srv.proc.once('exit', (code) => r(code)));
    srv.proc.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.match(srv.stderr, /shutting down/);
    await srv.stop();
  });

  test('the OpenAPI document is served and lists the catalog routes', async () => {
    const srv = await startServer();
    try {
      const r = await srv.json('/api/v1/openapi.json');
      assert.equal(r.status, 200);
      assert.match(r.body.openapi, /^3\.1\./);
      assert.ok(r.body.paths['/api/v1/entities']);
      assert.ok(r.body.paths['/api/v1/entities/{kind}/{namespace}/{name}'].put);
    } finally { await srv.stop(); }
  });
});
