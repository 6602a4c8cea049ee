// pagination.test.mjs — one pagination shape and problem+json everywhere
// (issue 18, docs/api.md): every list route, table-driven, answers its array
// ("items", or a report's named array) with "nextCursor" (a string, or null
// on the last page) and, where it counts them, an integer "totalItems";
// accepts limit and cursor, a followed cursor gives the next items without
// repeating any, and a bad limit or cursor is a 400 problem+json naming the
// parameter. Also: events?service= takes the service id events name, type=
// takes short CDEvents types, the 412 detail names If-Match once and the
// ETag, and an import rejected whole is a problem with its errors.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, repoRoot } from './helpers.mjs';

const H = 3600 * 1000;
const NOW = Date.now();
let seq = 0;
const ev = (kind, t, subject, content) => ({
  context: { specversion: '0.5.1', id: `p-${++seq}`, source: '/pagination', type: `dev.cdevents.${kind}.0.3.0`, timestamp: new Date(t).toISOString() },
  subject: { id: subject, content },
});

let srv;
let admin;
before(async () => {
  srv = await startServer({ imports: [join(repoRoot, 'demo', 'org')] });
  admin = srv.token('admin');
  const events = [];
  for (let i = 0; i < 6; i++) {
    events.push(ev('service.deployed', NOW - (i + 1) * H, 'streamer', { environment: { id: 'production' }, artifactId: `pkg:oci/streamer@sha256%3A${i}` }));
    events.push(ev('service.deployed', NOW - (i + 1) * H, `ghost-${i}`, { environment: { id: 'production' }, artifactId: `pkg:oci/ghost@sha256%3A${i}` }));
    events.push(ev('incident.detected', NOW - (i + 1) * H, `INC-${i}`, { environment: { id: 'production' }, service: { id: 'streamer' } }));
  }
  const r = await srv.json('/api/v1/events', { method: 'POST', token: admin, headers: { 'content-type': 'application/x-ndjson' }, body: events.map((e) => JSON.stringify(e)).join('\n') });
  assert.equal(r.body.accepted, events.length, JSON.stringify(r.body));
  // audit entries: two API writes
  for (const name of ['page-a', 'page-b']) {
    const imp = await srv.json('/api/v1/import', { method: 'POST', token: admin, headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ apiVersion: 'backstage.io/v1alpha1', kind: 'Component', metadata: { name }, spec: { type: 'service', lifecycle: 'experimental', owner: 'team-playback' } }]) });
    assert.equal(imp.status, 200, JSON.stringify(imp.body));
  }
});
after(() => srv?.stop());

// [path, array key, counts totalItems, needs admin, at least this many items]
const LISTS = [
  ['/api/v1/entities?kind=Component', 'items', true, false, 3],
  ['/api/v1/events', 'items', false, false, 3],
  ['/api/v1/events/unmatched', 'items', false, false, 3],
  ['/api/v1/incidents', 'items', false, false, 3],
  ['/api/v1/heartbeats', 'items', true, false, 0],
  ['/api/v1/heartbeats/deliveries', 'items', false, true, 0],
  ['/api/v1/hooks', 'items', true, true, 0],
  ['/api/v1/locations', 'items', true, false, 3],
  ['/api/v1/metrics', 'items', true, false, 3],
  ['/api/v1/audit', 'items', false, true, 2],
  ['/api/v1/insights/ownership', 'findings', true, false, 3],
  ['/api/v1/insights/architecture', 'findings', true, false, 2],
  ['/api/v1/insights/coupling', 'pairs', false, false, 0], // totalItems: pairs before the page's filters
  ['/api/v1/insights/undeployed', 'components', true, false, 0],
  ['/api/v1/scorecards/tunewave-service-basics/results', 'items', true, false, 3],
];

const withQ = (path, q) => `${path}${path.includes('?') ? '&' : '?'}${q}`;

function assertProblem(r, status, re) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.match(r.headers.get('content-type'), /^application\/problem\+json/);
  assert.equal(r.body.status, status);
  assert.match(r.body.detail, re);
}

describe('every list has one pagination shape', () => {
  for (const [path, key, counted, needsAdmin, atLeast] of LISTS) {
    test(`${path}: ${key}, nextCursor${counted ? ', totalItems' : ''}; limit and cursor`, async () => {
      const token = needsAdmin ? admin : undefined;
      const all = await srv.json(withQ(path, 'limit=1000'), { token });
      assert.equal(all.status, 200, JSON.stringify(all.body));
      assert.ok(Array.isArray(all.body[key]), `${key} is an array`);
      assert.ok(all.body.nextCursor === null || typeof all.body.nextCursor === 'string');
      if (counted) assert.equal(all.body.totalItems, all.body[key].length);
      else if (path.includes('coupling')) assert.equal(all.body.totalItems, all.body.totalPairs);
      assert.ok(all.body[key].length >= atLeast, `${path} has ${all.body[key].length} items`);
      // page by page, two at a time
      const seen = [];
      let cursor = null;
      for (let pages = 0; pages < 50; pages++) {
        const r = await srv.json(withQ(path, `limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`), { token });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.ok(r.body[key].length <= 2);
        seen.push(...r.body[key]);
        cursor = r.body.nextCursor;
        assert.ok(cursor === null || typeof cursor === 'string');
        if (counted) assert.equal(r.body.totalItems, all.body[key].length);
        if (!cursor) break;
      }
      assert.equal(seen.length, all.body[key].length, 'the pages hold every item once');
      assert.deepEqual(seen.map((x) => JSON.stringify(x)), all.body[key].map((x) => JSON.stringify(x)));
      // bad parameters
      assertProblem(await srv.json(withQ(path, 'limit=0'), { token }), 400, /limit/);
      assertProblem(await srv.json(withQ(path, 'limit=x'), { token }), 400, /limit/);
      assertProblem(await srv.json(withQ(path, 'cursor=bm9wZQ'), { token }), 400, /cursor/);
    });
  }
});

describe('events filters', () => {
  test('service= takes the service id events name as well as the catalog ref', async () => {
    const byId = await srv.json('/api/v1/events?service=streamer&limit=100');
    const byRef = await srv.json('/api/v1/events?service=component:default/stream-delivery-service&limit=100');
    assert.equal(byId.status, 200, JSON.stringify(byId.body));
    assert.equal(byId.body.items.length, 12);
    assert.deepEqual(byId.body.items, byRef.body.items);
    assert.ok(byId.body.items.every((e) => e.link?.value === 'streamer'));
    assertProblem(await srv.json('/api/v1/events?service=no-such-service'), 404, /component:default\/no-such-service does not exist and no event .* names the service id 'no-such-service'/);
    assertProblem(await srv.json('/api/v1/events?service=component:default/nope'), 404, /service/);
  });

  test('type= takes short CDEvents types', async () => {
    const short = await srv.json('/api/v1/events?type=incident.detected&limit=100');
    const long = await srv.json('/api/v1/events?type=dev.cdevents.incident.detected&limit=100');
    assert.equal(short.body.items.length, 6);
    assert.deepEqual(short.body.items, long.body.items);
    const subject = await srv.json('/api/v1/events?type=service&limit=100');
    assert.equal(subject.body.items.length, 12);
  });
});

describe('errors', () => {
  test('a failed If-Match names the header once and the ETag', async () => {
    const cur = await srv.json('/api/v1/entities/component/default/page-a');
    assert.equal(cur.status, 200);
    const body = { apiVersion: cur.body.apiVersion, kind: cur.body.kind, metadata: { name: 'page-a' }, spec: cur.body.spec };
    const r = await srv.json('/api/v1/entities/component/default/page-a', { method: 'PUT', token: admin, headers: { 'content-type': 'application/json', 'if-match': '"stale"' }, body: JSON.stringify(body) });
    assertProblem(r, 412, /^If-Match: /);
    assert.equal(r.body.detail.split('If-Match').length, 2, r.body.detail);
    assert.match(r.body.detail, /"stale"/);
  });

  test('an import rejected whole is a problem with the per-document errors', async () => {
    const docs = [{ apiVersion: 'backstage.io/v1alpha1', kind: 'Component', metadata: { name: 'bad name' }, spec: {} },
      { apiVersion: 'backstage.io/v1alpha1', kind: 'Component', metadata: { name: 'x' }, spec: {} }];
    const r = await srv.json('/api/v1/import', { method: 'POST', token: admin, headers: { 'content-type': 'application/json' }, body: JSON.stringify(docs) });
    assertProblem(r, 422, /^no document was imported: 2 documents were rejected \(all in errors\); document 0: metadata\.name: "bad name"/);
    assert.equal(r.body.errors.length, 2);
    assert.equal(r.body.imported, 0);
    // a partial import stays a report
    docs[1].spec = { type: 'service', lifecycle: 'experimental', owner: 'team-playback' };
    const p = await srv.json('/api/v1/import', { method: 'POST', token: admin, headers: { 'content-type': 'application/json' }, body: JSON.stringify(docs) });
    assert.equal(p.status, 422);
    assert.match(p.headers.get('content-type'), /^application\/json/);
    assert.equal(p.body.imported, 1);
  });

  test('unknown routes, methods and parameters are problems', async () => {
    assertProblem(await srv.json('/api/v1/nothing'), 404, /nothing/);
    assertProblem(await srv.json('/api/v1/events', { method: 'DELETE', token: admin }), 405, /DELETE/);
    assertProblem(await srv.json('/api/v1/locations?bogus=1'), 400, /bogus/);
  });
});
