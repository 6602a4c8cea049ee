// metrics.test.mjs — KPIs as metric series against a real `conway serve`
// (issue #16): samples POSTed as JSON, Prometheus text and OpenMetrics with
// an ingest token; points per step checked against a computation of this
// file over the same samples; the built-in DORA series checked against the
// deployments the test sent; every bad input answered with a problem naming
// what is wrong. Runs on PostgreSQL too (CONWAY_TEST_DB_BACKEND=postgres).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, testData } from './helpers.mjs';

const H = 3600 * 1000;
const D = 24 * H;
const T0 = Date.parse('2025-01-01T00:00:00Z');
const iso = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');

function assertProblem(res, status, detailRe) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(res.headers.get('content-type'), /^application\/problem\+json/);
  if (detailRe) assert.match(res.body.detail, detailRe);
}

// A small deterministic generator (xorshift32), so failures reproduce.
function rng(seed) {
  let x = seed >>> 0;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >> 17; x ^= x << 5; x >>>= 0; return x / 4294967296; };
}

// Points per step [t, t+step) of samples [{t, v}], as the API documents.
function expected(samples, from, to, step, agg) {
  const buckets = new Map();
  for (const s of samples) {
    if (s.t < from || s.t >= to) continue;
    const b = Math.floor((s.t - from) / step);
    if (!buckets.has(b)) buckets.set(b, []);
    buckets.get(b).push(s);
  }
  return [...buckets.keys()].sort((a, b) => a - b).map((b) => {
    const xs = buckets.get(b);
    const vs = xs.map((s) => s.v);
    const value = agg === 'avg' ? vs.reduce((a, c) => a + c, 0) / vs.length
      : agg === 'sum' ? vs.reduce((a, c) => a + c, 0)
        : agg === 'min' ? Math.min(...vs)
          : agg === 'max' ? Math.max(...vs)
            : agg === 'count' ? vs.length
              : xs.reduce((a, c) => (c.t > a.t ? c : a)).v;
    return { time: iso(from + b * step), value };
  });
}

describe('metrics API', () => {
  let srv, ingest, viewer;
  before(async () => {
    srv = await startServer({ publicRead: false });
    ingest = srv.token('ingest');
    viewer = srv.token('viewer');
  });
  after(async () => { await srv.stop(); });

  const post = (body, type, token = ingest) => srv.json('/api/v1/metrics', { method: 'POST', token, headers: type ? { 'content-type': type } : {}, body });

  test('JSON samples are stored and answered per step, as computed here', async () => {
    const r = rng(7);
    const samples = [];
    for (let i = 0; i < 400; i++) {
      const t = T0 - 6 * H + Math.floor(r() * 10 * D);
      samples.push({ t, v: Math.round(r() * 100000) / 1000 - 20 });
    }
    // a time drawn twice: the later sample of the request wins
    const dedup = new Map();
    for (const s of samples) dedup.set(s.t, s);
    const body = samples.map((s) => ({ name: 'checkout_conversion', labels: { team: 'payments', env: 'prod' }, time: iso(s.t), value: s.v }));
    body.push({ name: 'checkout_conversion', labels: { team: 'growth', env: 'prod' }, time: T0 + H, value: 1 });
    const res = await post(JSON.stringify(body), 'application/json');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.accepted, dedup.size + 1);
    assert.equal(res.body.series, 2);
    assert.equal(res.body.newSeries, 2);
    assert.equal(res.body.replaced, samples.length - dedup.size);

    for (const [step, stepText] of [[H, '1h'], [6 * H, '6h'], [D, '1d']]) {
      for (const agg of ['last', 'avg', 'min', 'max', 'sum', 'count']) {
        const from = T0, to = T0 + 9 * D;
        const q = new URLSearchParams({ labels: 'team="payments"', from: iso(from), to: iso(to), step: stepText, agg });
        const got = await srv.json(`/api/v1/metrics/checkout_conversion?${q}`, { token: viewer });
        assert.equal(got.status, 200, JSON.stringify(got.body));
        assert.equal(got.body.seriesTotal, 1);
        assert.deepEqual(got.body.series[0].labels, { env: 'prod', team: 'payments' });
        const want = expected([...dedup.values()], from, to, step, agg);
        assert.equal(got.body.series[0].points.length, want.length, `${stepText} ${agg}`);
        got.body.series[0].points.forEach((p, i) => {
          assert.equal(p.time, want[i].time);
          assert.ok(Math.abs(p.value - want[i].value) <= 1e-9 * (1 + Math.abs(want[i].value)), `${stepText} ${agg} ${p.time}: ${p.value} != ${want[i].value}`);
        });
      }
    }
    // both series without a matcher, by labels
    const all = await srv.json(`/api/v1/metrics/checkout_conversion?from=${iso(T0)}&to=${iso(T0 + D)}&step=1d`, { token: viewer });
    assert.deepEqual(all.body.series.map((s) => s.labels.team), ['growth', 'payments']);
    const one = await srv.json(`/api/v1/metrics/checkout_conversion?from=${iso(T0)}&to=${iso(T0 + D)}&step=1d&limit=1`, { token: viewer });
    assert.equal(one.body.series.length, 1);
    assert.equal(one.body.seriesTotal, 2);
  });

  test('Prometheus text and OpenMetrics, by Content-Type', async () => {
    const text = 'signups_total{plan="pro"} 12 1735689600000\nsignups_total{plan="free"} 40 1735689600000\n';
    let res = await post(text, 'text/plain; version=0.0.4');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.accepted, 2);
    res = await post('# TYPE signups counter\nsignups_total{plan="pro"} 15 1735693200.5 # {trace_id="a"} 1\n# EOF\n', 'application/openmetrics-text; version=1.0.0');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const got = await srv.json(`/api/v1/metrics/signups_total?labels=${encodeURIComponent('{plan="pro"}')}&from=2025-01-01T00:00:00Z&to=2025-01-01T03:00:00Z&step=1h`, { token: viewer });
    assert.deepEqual(got.body.series[0].points, [{ time: '2025-01-01T00:00:00Z', value: 12 }, { time: '2025-01-01T01:00:00Z', value: 15 }]);
    // the documentation's example, once its value-less line is mended
    const example = readFileSync(join(testData, 'prometheus', 'exposition_formats_example.txt'), 'utf8');
    res = await post(example, 'text/plain');
    assertProblem(res, 400, /^line 10, column 50: missing value$/);
    res = await post(example.replace('"Not Found"}', '"Not Found"} 1'), 'text/plain');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.accepted, 20);
    assert.equal(res.body.nonFinite, 1);
    const names = await srv.json('/api/v1/metrics', { token: viewer });
    const byName = Object.fromEntries(names.body.names.map((n) => [n.name, n]));
    assert.equal(byName['my.dotted.metric'].series, 1);
    assert.equal(byName.conway_dora_deployments_per_day.builtin, true);
    assert.equal(byName.signups_total.series, 2);
    assert.equal(byName.signups_total.firstSample, '2025-01-01T00:00:00Z');
    assert.equal(byName.signups_total.lastSample, '2025-01-01T01:00:00.500Z');
  });

  test('bad input gets a problem naming it', async () => {
    assertProblem(await post(Buffer.from('[]'), undefined), 415, /^Content-Type: required/);
    assertProblem(await post('a,b', 'text/csv'), 415, /'text\/csv' is not accepted/);
    assertProblem(await post('[{"name":"x","value":1,"lables":{}}]', 'application/json'), 400, /^\[0\]\.lables: unknown member/);
    assertProblem(await post('x{a="1" 2', 'text/plain'), 400, /^line 1, column 9: expected ',' or '}'$/);
    assertProblem(await post('[{"name":"conway_dora_deployments_per_day","value":1}]', 'application/json'), 400, /names starting with conway_ are conway's own/);
    assertProblem(await post('[{"name":"x","value":1}]', 'application/json', viewer), 403);
    assertProblem(await srv.json('/api/v1/metrics/x?labels=team%3Dpay', { token: viewer }), 400, /^query parameter 'labels': labels: column 6: expected a quoted value/);
    assertProblem(await srv.json('/api/v1/metrics/x?step=fast', { token: viewer }), 400, /^query parameter 'step': 'fast' is not a duration/);
    assertProblem(await srv.json('/api/v1/metrics/x?step=1s&from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:00Z', { token: viewer }), 400, /^query parameter 'step': 2678400 steps/);
    assertProblem(await srv.json('/api/v1/metrics/x?agg=median', { token: viewer }), 400, /^query parameter 'agg': 'median' is not one of/);
    assertProblem(await srv.json('/api/v1/metrics/x?to=2025-01-01T00:00:00Z&from=2025-02-01T00:00:00Z', { token: viewer }), 400, /'to': must be later than 'from'/);
    assertProblem(await srv.json('/api/v1/metrics/conway_dora_deployments_per_day?step=1h', { token: viewer }), 400, /^query parameter 'step': DORA series are daily/);
    assertProblem(await srv.json('/api/v1/metrics/conway_dora_deployments_per_day?labels=scope%3D%22group%3Adefault%2Fnobody%22', { token: viewer }), 404, /nobody/);
    assertProblem(await srv.json('/api/v1/metrics/x?bogus=1', { token: viewer }), 400, /bogus/);
    // too many label sets for one name: nothing of the request is stored
    const wide = [];
    for (let i = 0; i < 1001; i++) wide.push({ name: 'wide', labels: { user: `u${i}` }, time: T0, value: i });
    assertProblem(await post(JSON.stringify(wide), 'application/json'), 422, /^metric 'wide': more than 1000 label sets/);
    const none = await srv.json(`/api/v1/metrics/wide?from=${iso(T0)}&to=${iso(T0 + H)}`, { token: viewer });
    assert.equal(none.body.seriesTotal, 0);
  });

  test('every ingest is in the audit log', async () => {
    const admin = srv.token('admin');
    const r = await srv.json('/api/v1/audit?action=metrics.ingest', { token: admin });
    assert.equal(r.status, 200);
    assert.ok(r.body.items.length >= 3);
    assert.ok(r.body.items.every((x) => x.detail && Number.isInteger(x.detail.samples)));
  });
});

describe('built-in DORA series', () => {
  let srv;
  // Deployments of cart (team-shop) on 2025-03-03 (2), 03-04 (0), 03-05 (3), one
  // rolled back; checkout (team-other) 03-03 (1).
  const plan = [
    ['cart-svc', '2025-03-03T09:00:00Z'], ['cart-svc', '2025-03-03T15:00:00Z'],
    ['cart-svc', '2025-03-05T08:00:00Z'], ['cart-svc', '2025-03-05T10:00:00Z'], ['cart-svc', '2025-03-05T12:00:00Z'],
    ['checkout', '2025-03-03T11:00:00Z'],
  ];
  before(async () => {
    srv = await startServer();
    const admin = srv.token('admin');
    const comp = (name, owner, svc) => ({ apiVersion: 'backstage.io/v1alpha1', kind: 'Component', metadata: { name, annotations: svc ? { 'conway.dev/service-id': svc } : {} }, spec: { type: 'service', lifecycle: 'production', owner } });
    const group = (name) => ({ apiVersion: 'backstage.io/v1alpha1', kind: 'Group', metadata: { name }, spec: { type: 'team', children: [] } });
    let res = await srv.json('/api/v1/import', { method: 'POST', token: admin, headers: { 'content-type': 'application/json' }, body: JSON.stringify([group('team-shop'), group('team-other'), comp('cart', 'team-shop', 'cart-svc'), comp('checkout', 'team-other')]) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    let n = 0;
    const ev = (type, svc, t) => ({ context: { specversion: '0.5.1', id: `e${++n}`, source: '/metrics-test', type, timestamp: t }, subject: { id: svc, content: { environment: { id: 'production' }, artifactId: `pkg:oci/${svc}@sha256%3A${n}` } } });
    const events = plan.map(([svc, t]) => ev('dev.cdevents.service.deployed.0.3.0', svc, t));
    events.push(ev('dev.cdevents.service.rolledback.0.3.0', 'cart-svc', '2025-03-05T12:30:00Z'));
    res = await srv.json('/api/v1/events', { method: 'POST', token: admin, headers: { 'content-type': 'application/x-ndjson' }, body: events.map((e) => JSON.stringify(e)).join('\n') });
    assert.equal(res.status, 202, JSON.stringify(res.body));
  });
  after(async () => { await srv.stop(); });

  test('deployments and failures per day and scope', async () => {
    const q = (name, params) => srv.json(`/api/v1/metrics/${name}?${new URLSearchParams({ from: '2025-03-02T00:00:00Z', to: '2025-03-07T00:00:00Z', ...params })}`);
    let r = await q('conway_dora_deployments_per_day', { labels: 'scope="group:default/team-shop"', step: '1d' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.series[0].labels, { scope: 'group:default/team-shop' });
    assert.deepEqual(r.body.series[0].points.map((p) => p.value), [0, 2, 0, 3, 0]);
    assert.equal(r.body.series[0].points[1].time, '2025-03-03T00:00:00Z');
    r = await q('conway_dora_deployments_per_day', { step: '1d' });
    assert.deepEqual(r.body.series[0].labels, { scope: 'org' });
    assert.deepEqual(r.body.series[0].points.map((p) => p.value), [0, 3, 0, 3, 0]);
    r = await q('conway_dora_failed_deployments_per_day', { labels: 'scope="group:default/team-shop"', step: '1d' });
    assert.deepEqual(r.body.series[0].points.map((p) => p.value), [0, 0, 0, 1, 0]);
    r = await q('conway_dora_change_failure_rate', { labels: 'scope="group:default/team-shop"', step: '1d' });
    // values are answered with 12 significant digits
    assert.deepEqual(r.body.series[0].points.map((p) => [p.time, p.value.toPrecision(12)]), [['2025-03-03T00:00:00Z', '0.00000000000'], ['2025-03-05T00:00:00Z', (1 / 3).toPrecision(12)]]);
    // a week: deployments summed, and the default aggregate (avg) a rate per day
    r = await q('conway_dora_deployments_per_day', { labels: 'scope="group:default/team-shop"', step: '7d', agg: 'sum' });
    assert.deepEqual(r.body.series[0].points, [{ time: '2025-03-02T00:00:00Z', value: 5 }]);
    r = await q('conway_dora_deployments_per_day', { labels: 'scope="group:default/team-shop"', step: '5d' });
    assert.equal(r.body.agg, 'avg');
    assert.deepEqual(r.body.series[0].points, [{ time: '2025-03-02T00:00:00Z', value: 1 }]);
    // the series agrees with the DORA insight's daily figures
    const dora = await srv.json('/api/v1/insights/dora?scope=group:default/team-shop&from=2025-03-02T00:00:00Z&to=2025-03-07T00:00:00Z');
    assert.deepEqual(dora.body.daily.map((x) => x.deployments), [0, 2, 0, 3, 0]);
    // another label matches nothing
    r = await q('conway_dora_deployments_per_day', { labels: 'team="shop"', step: '1d' });
    assert.equal(r.body.seriesTotal, 0);
  });
});
