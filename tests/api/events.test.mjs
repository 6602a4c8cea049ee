// events.test.mjs — black-box tests of CDEvents intake and listing against a
// real `conway serve`: every CDEvents conformance example through every HTTP
// mode, idempotent re-delivery, all-or-nothing requests, media types, size
// limits, roles, list filters and paging, and unmatched events.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { startServer, testData, conway, tempDir } from './helpers.mjs';

const dir = join(testData, 'cdevents');
const examples = readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
  .map((f) => ({ file: f, event: JSON.parse(readFileSync(join(dir, f), 'utf8')) }));
const keyOf = (e) => `${e.context.source}\u0000${e.context.id}`;
const distinct = new Set(examples.map((x) => keyOf(x.event))).size;
// Issue #10: an example under a (source, id) already taken by another
// example with a different body is a conflict, not a duplicate (the
// examples of the spec share one id across event types).
const canonical = (v) => JSON.stringify(v, (k, x) => (x && typeof x === 'object' && !Array.isArray(x)
  ? Object.fromEntries(Object.keys(x).sort().map((key) => [key, x[key]])) : x));
const firstOf = new Map();
for (const x of examples) if (!firstOf.has(keyOf(x.event))) firstOf.set(keyOf(x.event), canonical(x.event));
const conflicting = examples.filter((x) => canonical(x.event) !== firstOf.get(keyOf(x.event))).length;

const structured = (e) => ({
  specversion: '1.0', id: e.context.id, source: e.context.source, type: e.context.type,
  datacontenttype: 'application/json', data: e,
});

// Sends raw request bytes and resolves with what the server answers until it
// has sent a whole response (or closes).
function rawRequest(port, text) {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1', () => sock.write(text));
    let got = '';
    const done = () => { sock.destroy(); resolve(got); };
    sock.on('data', (b) => {
      got += b;
      const head = got.indexOf('\r\n\r\n');
      const len = /content-length: *(\d+)/i.exec(got);
      if (head >= 0 && len && got.length >= head + 4 + Number(len[1])) done();
    });
    sock.on('end', done);
    sock.on('error', reject);
    sock.setTimeout(5000, () => { sock.destroy(); reject(new Error(`no answer: ${got}`)); });
  });
}

function assertProblem(res, status, detailRe) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(res.headers.get('content-type'), /^application\/problem\+json/);
  assert.equal(res.body.status, status);
  if (detailRe) assert.match(res.body.detail, detailRe);
}

const T0 = Date.parse('2024-05-01T00:00:00Z');
const iso = (ms) => new Date(ms).toISOString();
let seq = 0;
function cdevent(kind, { id = `ev-${++seq}`, source = '/test', t = T0, subject = 'svc', content = {}, chainId, custom, version } = {}) {
  const versions = { 'change.created': '0.4.0', 'incident.reported': '0.3.0' };
  const context = { specversion: '0.5.1', id, source, type: `dev.cdevents.${kind}.${version || versions[kind] || '0.3.0'}`, timestamp: iso(t) };
  if (chainId) context.chainId = chainId;
  const e = { context, subject: { id: subject, content } };
  if (custom) e.customData = custom;
  return e;
}
const deployed = (svc, env, opts = {}) => cdevent(opts.kind || 'service.deployed', { subject: svc, content: { environment: { id: env }, artifactId: opts.artifact || `pkg:oci/${svc}@sha256%3Aabc` }, ...opts });
const merged = (pr, repo, opts = {}) => cdevent('change.merged', { subject: pr, content: { repository: { id: repo, source: 'https://scm.example' } }, ...opts });

describe('intake modes: every CDEvents conformance example', () => {
  const send = {
    plain: async (srv, token) => {
      let accepted = 0, duplicates = 0, conflicts = 0;
      for (const { file, event } of examples) {
        const r = await srv.json('/api/v1/events', { method: 'POST', token, headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });
        assert.equal(r.status, 202, `${file}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.accepted + r.body.duplicates + r.body.conflicts, 1, file);
        accepted += r.body.accepted; duplicates += r.body.duplicates; conflicts += r.body.conflicts;
      }
      return { accepted, duplicates, conflicts };
    },
    binary: async (srv, token) => {
      let accepted = 0, duplicates = 0, conflicts = 0;
      for (const { file, event } of examples) {
        const c = event.context;
        const r = await srv.json('/api/v1/events', {
          method: 'POST', token, body: JSON.stringify(event),
          headers: { 'content-type': 'application/json; charset=utf-8', 'ce-specversion': '1.0', 'ce-id': c.id, 'ce-source': c.source, 'ce-type': c.type, 'ce-time': c.timestamp },
        });
        assert.equal(r.status, 202, `${file}: ${JSON.stringify(r.body)}`);
        accepted += r.body.accepted; duplicates += r.body.duplicates; conflicts += r.body.conflicts;
      }
      return { accepted, duplicates, conflicts };
    },
    structured: async (srv, token) => {
      let accepted = 0, duplicates = 0, conflicts = 0;
      for (const { file, event } of examples) {
        const r = await srv.json('/api/v1/events', { method: 'POST', token, headers: { 'content-type': 'application/cloudevents+json' }, body: JSON.stringify(structured(event)) });
        assert.equal(r.status, 202, `${file}: ${JSON.stringify(r.body)}`);
        accepted += r.body.accepted; duplicates += r.body.duplicates; conflicts += r.body.conflicts;
      }
      return { accepted, duplicates, conflicts };
    },
    batch: async (srv, token) => (await srv.json('/api/v1/events', { method: 'POST', token, headers: { 'content-type': 'application/cloudevents-batch+json' }, body: JSON.stringify(examples.map((x) => structured(x.event))) })).body,
    array: async (srv, token) => (await srv.json('/api/v1/events', { method: 'POST', token, headers: { 'content-type': 'application/json' }, body: JSON.stringify(examples.map((x) => x.event)) })).body,
    ndjson: async (srv, token) => (await srv.json('/api/v1/events', { method: 'POST', token, headers: { 'content-type': 'application/x-ndjson' }, body: examples.map((x) => JSON.stringify(x.event)).join('\n') + '\n' })).body,
  };

  test('the examples share (source, id) pairs', () => {
    assert.ok(examples.length >= 40);
    assert.ok(distinct < examples.length, 'several examples are re-deliveries of one event');
  });

  for (const [mode, fn] of Object.entries(send)) {
    test(`${mode} mode stores each distinct (source, id) once`, async () => {
      const srv = await startServer();
      try {
        const token = srv.token('ingest');
        const r = await fn(srv, token);
        assert.equal(r.accepted + r.duplicates + r.conflicts, examples.length, JSON.stringify(r));
        assert.equal(r.accepted, distinct);
        assert.equal(r.conflicts, conflicting, JSON.stringify(r));
        const list = await srv.json('/api/v1/events?limit=1000');
        assert.equal(list.status, 200);
        assert.equal(list.body.items.length, distinct);
        // a re-delivery of everything stores nothing: the same bodies are
        // duplicates, the others still conflict
        const again = await fn(srv, token);
        assert.deepEqual({ accepted: again.accepted, duplicates: again.duplicates, conflicts: again.conflicts },
          { accepted: 0, duplicates: examples.length - conflicting, conflicts: conflicting });
        assert.equal((await srv.json('/api/v1/events?limit=1000')).body.items.length, distinct);
      } finally { await srv.stop(); }
    });
  }
});

describe('intake rules', () => {
  let srv, ingest, editor, admin, viewer;
  before(async () => {
    srv = await startServer({ publicRead: false, args: ['--max-body', '4000000'] });
    ingest = srv.token('ingest');
    editor = srv.token('editor');
    admin = srv.token('admin');
    viewer = srv.token('viewer');
  });
  after(async () => { await srv.stop(); });

  const post = (body, { token = ingest, type = 'application/json', headers = {} } = {}) => srv.json('/api/v1/events', {
    method: 'POST', token, headers: { ...(type ? { 'content-type': type } : {}), ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const count = async () => (await srv.json('/api/v1/events?limit=1000', { token: viewer })).body.items.length;

  test('roles: ingest, editor and admin may send; viewer and anonymous may not', async () => {
    assertProblem(await post(deployed('svc', 'prod'), { token: null }), 401);
    assertProblem(await post(deployed('svc', 'prod'), { token: viewer }), 403, /ingest/);
    for (const token of [ingest, editor, admin]) assert.equal((await post(deployed('svc', 'prod'), { token })).status, 202);
    const r = await srv.json('/api/v1/events', { token: viewer });
    assert.equal(r.status, 200);
    assertProblem(await srv.json('/api/v1/events'), 401);
  });

  test('202 answers count new events and duplicates', async () => {
    const a = deployed('svc', 'prod'), b = merged('pr-1', 'org/svc');
    let r = await post([a, b]);
    assert.equal(r.status, 202);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    assert.deepEqual(r.body, { accepted: 2, duplicates: 0, conflicts: 0 });
    r = await post([a, b, merged('pr-2', 'org/svc')]);
    assert.deepEqual(r.body, { accepted: 1, duplicates: 2, conflicts: 0 });
    // the same id from another source is another event
    r = await post({ ...a, context: { ...a.context, source: '/elsewhere' } });
    assert.deepEqual(r.body, { accepted: 1, duplicates: 0, conflicts: 0 });
    assert.deepEqual((await post([])).body, { accepted: 0, duplicates: 0, conflicts: 0 });
  });

  test('one invalid event rejects the whole request, naming its index and field', async () => {
    const before_ = await count();
    const bad = merged('pr-x', 'org/svc');
    delete bad.context.timestamp;
    let r = await post([merged('pr-ok-1', 'org/svc'), merged('pr-ok-2', 'org/svc'), bad]);
    assertProblem(r, 400, /events\[2\]\.context\.timestamp/);
    r = await post([merged('pr-ok-3', 'org/svc'), { ...merged('pr-y', 'org/svc'), subject: { content: {} } }]);
    assertProblem(r, 400, /events\[1\]\.subject\.id/);
    r = await post([merged('pr-ok-4', 'org/svc'), '', merged('pr-ok-5', 'org/svc')].map((e) => e === '' ? '{"context": 1}' : JSON.stringify(e)).join('\n'), { type: 'application/x-ndjson' });
    assertProblem(r, 400, /line 2/);
    const bs = structured(merged('pr-z', 'org/svc'));
    r = await post([structured(merged('pr-ok-6', 'org/svc')), { ...bs, id: 'different' }], { type: 'application/cloudevents-batch+json' });
    assertProblem(r, 400, /events\[1\]\.id/);
    r = await post('{"context": ', {});
    assertProblem(r, 400, /body/);
    const e = merged('pr-ok-7', 'org/svc');
    r = await post(e, { headers: { 'ce-specversion': '1.0', 'ce-id': 'not-the-id', 'ce-source': e.context.source, 'ce-type': e.context.type } });
    assertProblem(r, 400, /ce-id/);
    assert.equal(await count(), before_, 'nothing of a rejected request is stored');
  });

  test('unsupported media types are 415', async () => {
    assertProblem(await post(deployed('svc', 'prod'), { type: 'text/plain' }), 415);
    assertProblem(await post(deployed('svc', 'prod'), { type: 'application/json; charset=latin1' }), 415);
    assertProblem(await post(deployed('svc', 'prod'), { type: 'application/xml' }), 415);
    const r = await srv.json('/api/v1/events', { method: 'POST', token: ingest, body: new Blob([JSON.stringify(deployed('svc', 'prod'))]) });
    assertProblem(r, 415, /Content-Type/);
  });

  test('bodies over the limit and requests with too many events are 413', async () => {
    // announce a body over the limit: the answer comes before any of it is sent
    const raw = await rawRequest(srv.port, `POST /api/v1/events HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${ingest}\r\nContent-Type: application/json\r\nContent-Length: 4100000\r\n\r\n`);
    assert.match(raw, /^HTTP\/1\.1 413 /);
    assert.match(raw, /exceeds the limit of 4000000 bytes/);
    const lines = [];
    for (let i = 0; i < 10001; i++) lines.push(JSON.stringify(merged(`pr-many-${i}`, 'r')));
    const r = await post(lines.join('\n'), { type: 'application/x-ndjson' });
    assertProblem(r, 413, /10000/);
    // the server keeps serving
    assert.equal((await post(deployed('svc', 'prod'))).status, 202);
  });

  test('custom and newer event types are stored and listed', async () => {
    const custom = cdevent('x', { subject: 'thing' });
    custom.context.type = 'dev.cdeventsx.mytool-widget.spun.0.1.0';
    const newer = deployed('svc', 'prod', { version: '0.9.0' });
    assert.deepEqual((await post([custom, newer])).body, { accepted: 2, duplicates: 0, conflicts: 0 });
    const r = await srv.json('/api/v1/events?type=dev.cdeventsx.', { token: viewer });
    assert.equal(r.body.items.length, 1);
    assert.deepEqual(r.body.items[0].cdevent, custom);
  });
});

describe('listing', () => {
  let srv, ingest, admin;
  const all = [];
  before(async () => {
    srv = await startServer();
    ingest = srv.token('ingest');
    admin = srv.token('admin');
    const catalog = [
      { apiVersion: 'backstage.io/v1alpha1', kind: 'Group', metadata: { name: 'team-a' }, spec: { type: 'team', children: [] } },
      { apiVersion: 'backstage.io/v1alpha1', kind: 'System', metadata: { name: 'shop' }, spec: { owner: 'team-a' } },
      { apiVersion: 'backstage.io/v1alpha1', kind: 'Component', metadata: { name: 'cart', annotations: { 'conway.dev/repository': 'github.com/acme/cart' } }, spec: { type: 'service', lifecycle: 'production', owner: 'team-a', system: 'shop' } },
      { apiVersion: 'backstage.io/v1alpha1', kind: 'Component', metadata: { name: 'billing', annotations: { 'conway.dev/service-id': 'bill' } }, spec: { type: 'service', lifecycle: 'production', owner: 'team-b' } },
    ];
    const imp = await srv.json('/api/v1/import', { method: 'POST', token: admin, headers: { 'content-type': 'application/json' }, body: JSON.stringify(catalog) });
    assert.equal(imp.status, 200, JSON.stringify(imp.body));
    for (let i = 0; i < 12; i++) {
      all.push(deployed(i % 2 ? 'cart' : 'bill', i % 3 ? 'production' : 'staging', { id: `d${i}`, t: T0 + i * 3600000, chainId: `chain-${i}` }));
      all.push(merged(`pr-${i}`, i % 2 ? 'GitHub.com/acme/cart' : 'github.com/acme/monolith', { id: `c${i}`, t: T0 + i * 3600000 + 60000 }));
    }
    all.push(deployed('ghost', 'production', { id: 'g1', t: T0 }));
    const r = await srv.json('/api/v1/events', { method: 'POST', token: ingest, headers: { 'content-type': 'application/x-ndjson' }, body: all.map((e) => JSON.stringify(e)).join('\n') });
    assert.deepEqual(r.body, { accepted: all.length, duplicates: 0, conflicts: 0 });
  });
  after(async () => { await srv.stop(); });

  const ids = async (q) => {
    const r = await srv.json(`/api/v1/events?limit=1000${q ? '&' + q : ''}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.items.map((e) => e.id);
  };

  test('items are newest first and describe the event and its link', async () => {
    const r = await srv.json('/api/v1/events?limit=3');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.items.map((e) => e.id), ['c11', 'd11', 'c10']);
    const d11 = r.body.items[1];
    assert.equal(d11.source, '/test');
    assert.equal(d11.type, 'dev.cdevents.service.deployed.0.3.0');
    assert.equal(d11.timestamp, '2024-05-01T11:00:00Z');
    assert.equal(d11.subjectId, 'cart');
    assert.equal(d11.chainId, 'chain-11');
    assert.equal(d11.environment, 'production');
    assert.equal(d11.artifactId, 'pkg:oci/cart@sha256%3Aabc');
    assert.deepEqual(d11.link, { kind: 'service', value: 'cart' });
    assert.equal(d11.component, 'component:default/cart');
    assert.deepEqual(d11.cdevent, all.find((e) => e.context.id === 'd11'));
    assert.ok(Date.parse(d11.receivedAt) > 0);
    assert.equal(r.body.items[0].component, 'component:default/cart', 'repository ids compare ignoring case');
    assert.equal(typeof r.body.nextCursor, 'string');
  });

  test('cursor paging walks every event once', async () => {
    const full = await ids('');
    assert.equal(full.length, all.length);
    const seen = [];
    let cursor = null;
    for (let pages = 0; pages < 20; pages++) {
      const r = await srv.json(`/api/v1/events?limit=5${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`);
      assert.equal(r.status, 200);
      seen.push(...r.body.items.map((e) => e.id));
      cursor = r.body.nextCursor;
      if (!cursor) break;
    }
    assert.deepEqual(seen, full);
  });

  test('filters: type prefix, service, environment, time window', async () => {
    assert.equal((await ids('type=dev.cdevents.service')).length, 13);
    assert.equal((await ids('type=dev.cdevents.change.merged.')).length, 12);
    assert.deepEqual(await ids('type=dev.cdevents.service&service=cart&environment=production'), ['d11', 'd7', 'd5', 'd1']);
    assert.deepEqual((await ids('service=component:default/billing')).length, 6);
    assert.equal((await ids('service=system:shop')).length, 12, 'deployments and changes of cart');
    assert.equal((await ids('service=group:team-a')).length, 12);
    assert.deepEqual(await ids('environment=staging'), ['d9', 'd6', 'd3', 'd0']);
    assert.deepEqual(await ids('from=2024-05-01T02:00:00Z&to=2024-05-01T03:00:00Z'), ['c2', 'd2']);
    assert.deepEqual(await ids('from=2024-05-01T10:00:00%2B01:00&to=2024-05-01T09:59:59.999Z'), ['c9', 'd9']);
  });

  test('bad parameters are 400 naming them; an unknown service is 404', async () => {
    const cases = [
      ['limit=0', /limit/], ['limit=1001', /limit/], ['limit=x', /limit/], ['cursor=abc', /cursor/],
      ['from=yesterday', /from/], ['to=2024-13-01T00:00:00Z', /to/],
      ['from=2024-05-02T00:00:00Z&to=2024-05-01T00:00:00Z', /to/], ['type=', /type/],
      ['service=api:default/x', /service/], ['service=a:b:c', /service/], ['color=red', /color/],
    ];
    for (const [q, re] of cases) assertProblem(await srv.json(`/api/v1/events?${q}`), 400, re);
    assertProblem(await srv.json('/api/v1/events?service=nothing-here'), 404, /service.*component:default\/nothing-here/);
  });

  test('unmatched events are listed with their ids, and match once the catalog names them', async () => {
    let r = await srv.json('/api/v1/events/unmatched?limit=100');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.keys.map((k) => [k.kind, k.value, k.events]), [['repository', 'github.com/acme/monolith', 6], ['service', 'ghost', 1]]);
    assert.equal(r.body.keys[0].lastSeen, '2024-05-01T10:01:00Z');
    assert.equal(r.body.items.length, 7);
    assert.ok(r.body.items.every((e) => e.component === null && e.link));
    assertProblem(await srv.json('/api/v1/events/unmatched?service=x'), 400, /service/);
    // fixing the catalog: the next read links them
    const ghost = { apiVersion: 'backstage.io/v1alpha1', kind: 'Component', metadata: { name: 'ghost-svc', annotations: { 'conway.dev/service-id': 'ghost' } }, spec: { type: 'service', lifecycle: 'production', owner: 'team-a' } };
    const put = await srv.json('/api/v1/entities/component/default/ghost-svc', { method: 'PUT', token: admin, headers: { 'content-type': 'application/json' }, body: JSON.stringify(ghost) });
    assert.equal(put.status, 201);
    r = await srv.json('/api/v1/events/unmatched');
    assert.deepEqual(r.body.keys.map((k) => k.value), ['github.com/acme/monolith']);
    assert.deepEqual(await ids('service=ghost-svc'), ['g1']);
  });
});

describe('conway events import', () => {
  test('NDJSON, JSON arrays, single events and stdin; rejects named by line or index; exit status', async () => {
    const dir = tempDir();
    const db = join(dir, 'conway.db');
    const good = [merged('pr-1', 'org/r', { id: 'cli-1' }), merged('pr-2', 'org/r', { id: 'cli-2' }), deployed('svc', 'prod', { id: 'cli-3' })];
    const bad = merged('cli-bad', 'org/r');
    delete bad.context.id;
    writeFileSync(join(dir, 'a.ndjson'), `${JSON.stringify(good[0])}\n\n{oops\n${JSON.stringify(bad)}\n${JSON.stringify(good[1])}\n`);
    writeFileSync(join(dir, 'b.json'), JSON.stringify([good[1], structured(good[2])], null, 2));
    writeFileSync(join(dir, 'c.json'), JSON.stringify(good[0], null, 2));
    let r = conway(['events', 'import', '--db', db, join(dir, 'a.ndjson'), join(dir, 'b.json'), join(dir, 'c.json')]);
    assert.equal(r.status, 1, 'rejects make the exit status 1');
    assert.match(r.stderr, /a\.ndjson:3: invalid JSON/);
    assert.match(r.stderr, /a\.ndjson:4: context\.id: required/);
    assert.match(r.stdout, /imported 5 events \(3 new, 2 duplicates\), 2 rejected, from 3 files/);
    r = conway(['events', 'import', '--db', db, '-'], { input: good.map((e) => JSON.stringify(e)).join('\n') });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /imported 3 events \(0 new, 3 duplicates\), 0 rejected, from 1 file\b/);
    assert.equal(conway(['events', 'import', '--db', db, join(dir, 'missing.json')]).status, 1);
    assert.equal(conway(['events', 'import', '--db', db]).status, 2);
    assert.equal(conway(['events', '--help']).status, 0);
    const srv = await startServer({ db });
    try {
      const list = await srv.json('/api/v1/events');
      assert.deepEqual(list.body.items.map((e) => e.id).sort(), ['cli-1', 'cli-2', 'cli-3']);
    } finally { await srv.stop(); }
  });
});
