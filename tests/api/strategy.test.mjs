// strategy.test.mjs — Goals, Hypotheses and Decisions against a real
// `conway serve` (issue #16). The KPI series are generated here with known
// steps and seeded noise and POSTed as samples; goal status and hypothesis
// verdicts are then computed by this file's own implementation of the
// documented rules (least squares; Mann–Whitney U with the exact
// distribution from the Gaussian binomial coefficient, or the normal
// approximation with tie correction; Hodges–Lehmann) and compared with
// conway's answer. Also: each SMART letter, decisions and tools on hold,
// scopes, and every bad parameter. Runs on PostgreSQL too.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './helpers.mjs';

const H = 3600 * 1000;
const D = 24 * H;
const floorDay = (ms) => Math.floor(ms / D) * D;
const iso = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');
const day = (ms) => new Date(ms).toISOString().slice(0, 10);
// Evaluate as of the start of today (UTC); samples are at noon of past days.
const NOW = floorDay(Date.now());
const START = NOW - 50 * D;

function rng(seed) {
  let x = seed >>> 0;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >> 17; x ^= x << 5; x >>>= 0; return x / 4294967296; };
}

// ---- the rules, implemented here -------------------------------------------------------

function leastSquares(xs, ys) {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n, my = ys.reduce((a, b) => a + b, 0) / n;
  let sxx = 0, sxy = 0;
  for (let i = 0; i < n; i++) { sxx += (xs[i] - mx) ** 2; sxy += (xs[i] - mx) * (ys[i] - my); }
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

// points [{t, v}] daily, sorted; g = {baseline, baselineAt, target, increase, deadline}
function goalStatus(points, g, now) {
  const until = Math.min(now, g.deadline);
  const ps = points.filter((p) => p.t >= g.baselineAt && p.t <= until);
  const meets = (v) => (g.increase ? v >= g.target : v <= g.target);
  if (ps.length && meets(ps.at(-1).v)) return { status: 'achieved' };
  if (now >= g.deadline) return { status: 'missed' };
  if (!ps.length) return { status: 'unknown' };
  const { slope, intercept } = leastSquares(ps.map((p) => (p.t - g.baselineAt) / D), ps.map((p) => p.v));
  const projected = intercept + slope * ((g.deadline - g.baselineAt) / D);
  const progress = (projected - g.baseline) / (g.target - g.baseline);
  return { status: meets(projected) ? 'on-track' : progress >= 0.5 ? 'at-risk' : 'off-track', projected, progress, slope };
}

function normalCdf(z) {
  // Φ via the complementary error function (W. J. Cody's rational
  // approximation is overkill here: erfc from a continued fraction is
  // accurate to ~1e-15 for the |z| of these tests).
  return 0.5 * erfc(-z / Math.SQRT2);
}
function erfc(x) {
  if (x < 0) return 2 - erfc(-x);
  if (x < 3) { // series for erf
    let sum = x, term = x;
    for (let n = 1; n < 200; n++) { term *= -x * x / n; sum += term / (2 * n + 1); }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  // continued fraction (Lentz) for large x
  let f = x, C = x, Dd = 0;
  for (let i = 1; i < 200; i++) {
    const a = i / 2;
    Dd = x + a * Dd; Dd = 1 / Dd; C = x + a / C; const delta = C * Dd; f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / (f * Math.sqrt(Math.PI));
}

// The distribution of U for sizes m, n: coefficients of the Gaussian
// binomial [m+n choose m]_q = prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i).
function uDistribution(m, n) {
  let poly = [1];
  for (let i = 1; i <= m; i++) {
    const next = new Array(poly.length + n + i).fill(0);
    for (let k = 0; k < poly.length; k++) { next[k] += poly[k]; next[k + n + i] -= poly[k]; }
    // divide by (1 - q^i): c[k] = next[k] + c[k - i]
    for (let k = i; k < next.length; k++) next[k] += next[k - i];
    poly = next.slice(0, m * n + 1);
  }
  return poly;
}

function mannWhitney(a, b) {
  const all = [...a.map((v) => ({ v, a: true })), ...b.map((v) => ({ v, a: false }))].sort((x, y) => x.v - y.v);
  const N = all.length, n1 = a.length, n2 = b.length;
  let ra = 0, tieTerm = 0, ties = false;
  for (let i = 0; i < N;) {
    let j = i;
    while (j < N && all[j].v === all[i].v) j++;
    const mid = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (all[k].a) ra += mid;
    const t = j - i;
    if (t > 1) { ties = true; tieTerm += t ** 3 - t; }
    i = j;
  }
  const u = ra - n1 * (n1 + 1) / 2;
  if (!ties && n1 < 50 && n2 < 50) {
    const dist = uDistribution(n1, n2);
    const total = dist.reduce((x, y) => x + y, 0);
    let le = 0, ge = 0;
    dist.forEach((c, k) => { if (k <= u) le += c; if (k >= u) ge += c; });
    return { u, exact: true, pGreater: ge / total, pLess: le / total };
  }
  const sigma = Math.sqrt(n1 * n2 / 12 * ((N + 1) - tieTerm / (N * (N - 1))));
  const c = u - n1 * n2 / 2;
  return { u, exact: false, pGreater: 1 - normalCdf((c - 0.5) / sigma), pLess: normalCdf((c + 0.5) / sigma) };
}

const median = (v) => { const s = [...v].sort((x, y) => x - y); const n = s.length; return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };
const hodgesLehmann = (a, b) => median(a.flatMap((x) => b.map((y) => x - y)));

function verdict(before, afterV, h) {
  const sign = h.increase ? 1 : -1;
  const medB = median(before);
  const expected = h.relative ? h.size * Math.abs(medB) : h.size;
  const test = mannWhitney(afterV, before);
  const shifted = mannWhitney(afterV.map((v) => v - sign * expected), before);
  const pDir = h.increase ? test.pGreater : test.pLess;
  const pShort = h.increase ? shifted.pLess : shifted.pGreater;
  const shift = hodgesLehmann(afterV, before);
  const v = pDir < h.alpha && sign * shift >= expected ? 'supported' : pShort < h.alpha ? 'refuted' : 'inconclusive';
  return { verdict: v, test, pDir, pShort, shift };
}

const close = (got, want, what, rel = 1e-9) => assert.ok(Math.abs(got - want) <= rel * (1 + Math.abs(want)), `${what}: ${got} != ${want}`);

// ---- the organisation --------------------------------------------------------------------

const meta = (kind, name, extra = {}) => ({ apiVersion: 'conway.dev/v1', kind, metadata: { name, ...extra } });
const group = (name) => ({ apiVersion: 'backstage.io/v1alpha1', kind: 'Group', metadata: { name }, spec: { type: 'team', children: [] } });
const component = (name, owner, metadata = {}) => ({ apiVersion: 'backstage.io/v1alpha1', kind: 'Component', metadata: { name, ...metadata }, spec: { type: 'service', lifecycle: 'production', owner, system: 'shop' } });

// KPI series: value(day index) for days 0..49 before NOW
const goalSeries = {
  'on-track': { slope: 1.2, noise: 5 },
  'at-risk': { slope: 0.7, noise: 5 },
  'off-track': { slope: 0.2, noise: 5 },
  achieved: { step: 30 },
};

function seriesValues(kind, r) {
  const vals = [];
  for (let i = 0; i < 50; i++) {
    const s = goalSeries[kind];
    vals.push(s.step !== undefined ? (i < s.step ? 100 + r() : 210 + r()) : 100 + s.slope * i + s.noise * (2 * r() - 1));
  }
  return vals;
}

describe('strategy', () => {
  let srv, admin, ingest;
  const series = {}; // kind -> [{t, v}] daily points
  const hyp = {};    // name -> {before, after}
  const CHANGE = NOW - 20 * D;

  before(async () => {
    srv = await startServer();
    admin = srv.token('admin');
    ingest = srv.token('ingest');
    const r = rng(42);
    const samples = [];
    for (const kind of Object.keys(goalSeries)) {
      series[kind] = [];
      seriesValues(kind, r).forEach((v, i) => {
        const t = START + i * D;
        series[kind].push({ t, v });
        samples.push({ name: 'kpi_conversion', labels: { goal: kind }, time: iso(t + 12 * H), value: v });
      });
    }
    // hypotheses: 14 days before the change, 14 after
    const hypSeries = {
      supported: { before: () => 300 + 20 * (2 * r() - 1), after: () => 240 + 20 * (2 * r() - 1) },
      refuted: { before: () => 300 + 20 * (2 * r() - 1), after: () => 296 + 20 * (2 * r() - 1) },
      inconclusive: { before: () => 300 + 80 * (2 * r() - 1), after: () => 270 + 80 * (2 * r() - 1) },
      ties: { before: () => Math.floor(3 + 4 * r()), after: () => Math.floor(6 + 4 * r()) },
    };
    for (const [name, gen] of Object.entries(hypSeries)) {
      hyp[name] = { before: [], after: [] };
      for (let i = 0; i < 14; i++) {
        const tb = CHANGE - (14 - i) * D, ta = CHANGE + i * D;
        const vb = gen.before(), va = gen.after();
        hyp[name].before.push(vb);
        hyp[name].after.push(va);
        samples.push({ name: 'kpi_latency', labels: { case: name }, time: iso(tb + 6 * H), value: vb });
        samples.push({ name: 'kpi_latency', labels: { case: name }, time: iso(ta + 6 * H), value: va });
      }
    }
    let res = await srv.json('/api/v1/metrics', { method: 'POST', token: ingest, headers: { 'content-type': 'application/json' }, body: JSON.stringify(samples) });
    assert.equal(res.status, 200, JSON.stringify(res.body));

    const deadline = day(START + 100 * D);
    const goal = (name, kind, spec) => ({ ...meta('Goal', name), spec: { owner: 'payments', stakeholders: ['product'], statement: `Conversion to 200 (${kind})`, metric: { name: 'kpi_conversion', labels: { goal: kind } }, baseline: { value: 100, date: day(START) }, target: { value: 200, direction: 'increase' }, deadline, ...spec } });
    const h = (name, spec) => ({ ...meta('Hypothesis', name), spec: { owner: 'payments', change: 'Edge cache', changeAt: iso(CHANGE), outcome: 'latency down 10%', metric: { name: 'kpi_latency', labels: { case: name } }, expected: { direction: 'decrease', size: 0.1, unit: 'relative' }, windowBefore: '14d', windowAfter: '14d', ...spec } });
    const catalog = [
      group('payments'), group('product'), group('platform'),
      ...Object.keys(goalSeries).map((k) => goal(`goal-${k}`, k, {})),
      { ...meta('Goal', 'goal-vague'), spec: { owner: 'payments', statement: 'Be better' } },
      goal('goal-late', 'on-track', { deadline: day(NOW - 5 * D) }),
      { ...meta('Goal', 'goal-other-team'), spec: { owner: 'platform', statement: 'x', metric: { name: 'nothing_stored' }, target: { value: 1, direction: 'increase' }, deadline: day(NOW + 30 * D), stakeholders: ['product'] } },
      h('supported', {}), h('refuted', {}), h('inconclusive', {}),
      h('ties', { expected: { direction: 'increase', size: 0 } }),
      { ...meta('Decision', 'queue'), spec: { owner: 'platform', system: 'shop', status: 'accepted', options: ['rabbitmq', 'kafka'], chosen: 'kafka', criteria: [{ name: 'ops', weight: 3, scores: { rabbitmq: 4, kafka: 2 } }], evidence: [{ url: 'https://example.com/kafka', option: 'kafka', stance: 'for' }], tools: [{ name: 'kafka', status: 'adopt' }, { name: 'mongodb', status: 'hold' }] } },
      { ...meta('Decision', 'lonely'), spec: { owner: 'payments', status: 'proposed', options: ['only'] } },
      component('cart', 'payments', { tags: ['mongodb'] }),
      component('search', 'platform', { annotations: { 'conway.dev/tools': 'elastic, MongoDB' } }),
      component('web', 'payments'),
      { ...meta('KPI', 'kpi-conversion'), spec: { owner: 'payments', source: 'push', metric: 'kpi_conversion' } },
      { apiVersion: 'backstage.io/v1alpha1', kind: 'System', metadata: { name: 'shop' }, spec: { owner: 'platform' } },
    ];
    res = await srv.json('/api/v1/import', { method: 'POST', token: admin, headers: { 'content-type': 'application/json' }, body: JSON.stringify(catalog) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  });
  after(async () => { await srv.stop(); });

  const view = (scope) => srv.json(`/api/v1/strategy?${new URLSearchParams({ ...(scope ? { scope } : {}), now: iso(NOW) })}`);

  test('goal status agrees with the rules computed here', async () => {
    const res = await view('group:default/payments');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const byRef = Object.fromEntries(res.body.goals.map((g) => [g.entityRef, g]));
    for (const kind of Object.keys(goalSeries)) {
      const g = byRef[`goal:default/goal-${kind}`];
      const want = goalStatus(series[kind], { baseline: 100, baselineAt: START, target: 200, increase: true, deadline: START + 100 * D }, NOW);
      assert.equal(want.status, kind, 'the generated series has the intended status');
      assert.equal(g.status, want.status, JSON.stringify(g.projection));
      if (want.projected !== undefined) {
        close(g.projection.projectedValue, want.projected, `${kind} projection`);
        close(g.projection.progress, want.progress, `${kind} progress`);
        close(g.projection.slopePerDay, want.slope, `${kind} slope`);
        assert.equal(g.projection.points, 50);
      }
      assert.equal(g.points.length, 50);
      assert.deepEqual(g.smart, { S: true, M: true, A: true, R: true, T: true });
      assert.deepEqual(g.findings, []);
    }
    // the deadline passed: missed, and not time-bound since it was already past when created
    const late = byRef['goal:default/goal-late'];
    assert.equal(late.status, 'missed');
    assert.equal(late.smart.T, false);
    assert.equal(res.body.summary.goals['on-track'], 1);
    assert.equal(res.body.summary.goals.missed, 1);
    // another team's goal is not in this scope, but is in the organisation's
    assert.equal(byRef['goal:default/goal-other-team'], undefined);
    const org = await view();
    assert.ok(org.body.goals.some((g) => g.entityRef === 'goal:default/goal-other-team'));
  });

  test('every SMART letter is named by a goal-not-smart finding', async () => {
    const res = await view('group:default/payments');
    const vague = res.body.goals.find((g) => g.entityRef === 'goal:default/goal-vague');
    assert.deepEqual(vague.smart, { S: true, M: false, A: true, R: false, T: false });
    assert.equal(vague.status, 'unknown');
    assert.deepEqual(vague.findings.map((f) => [f.rule, f.letter, f.detail]), [
      ['goal-not-smart', 'M', 'not measurable: spec.metric is missing: name the series that measures it'],
      ['goal-not-smart', 'R', 'not relevant: spec.stakeholders is empty: who it matters to'],
      ['goal-not-smart', 'T', 'not time-bound: spec.deadline is missing'],
    ]);
    const late = res.body.goals.find((g) => g.entityRef === 'goal:default/goal-late');
    assert.match(late.findings[0].detail, /^not time-bound: the deadline \d{4}-\d\d-\d\d was not in the future when the goal was created/);
    // a metric without data: M, on the other team's goal
    const org = await view();
    const other = org.body.goals.find((g) => g.entityRef === 'goal:default/goal-other-team');
    assert.deepEqual(other.findings.map((f) => f.letter), ['M']);
    assert.equal(other.findings[0].detail, 'not measurable: the metric nothing_stored has no data');
    assert.equal(other.findings[0].owner, 'group:default/platform');
    // S and A: a goal with nothing at all (written here, validated and stored)
    const put = await srv.json('/api/v1/entities/goal/default/goal-empty', { method: 'PUT', token: admin, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...meta('Goal', 'goal-empty'), spec: {} }) });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    const one = await srv.json(`/api/v1/strategy/goals/default/goal-empty?now=${iso(NOW)}`);
    assert.equal(one.status, 200, JSON.stringify(one.body));
    assert.deepEqual(one.body.findings.map((f) => f.letter), ['S', 'M', 'A', 'R', 'T']);
    const del = await srv.fetch('/api/v1/entities/goal/default/goal-empty', { method: 'DELETE', token: admin });
    assert.equal(del.status, 204);
  });

  test('hypothesis verdicts agree with Mann–Whitney computed here', async () => {
    const res = await view('group:default/payments');
    const byName = Object.fromEntries(res.body.hypotheses.map((h) => [h.entityRef.split('/')[1], h]));
    for (const [name, data] of Object.entries(hyp)) {
      const h = byName[name];
      const spec = name === 'ties' ? { increase: true, size: 0, relative: true, alpha: 0.05 } : { increase: false, size: 0.1, relative: true, alpha: 0.05 };
      const want = verdict(data.before, data.after, spec);
      const intended = name === 'ties' ? 'supported' : name;
      assert.equal(h.verdict, intended, `the generated series gives ${intended}: ${h.detail.reason}`);
      assert.equal(h.verdict, want.verdict, h.detail.reason);
      assert.equal(h.detail.test.exact, want.test.exact);
      assert.equal(h.detail.test.exact, name !== 'ties');
      close(h.detail.test.u, want.test.u, `${name} U`);
      close(h.detail.test.pExpectedDirection, want.pDir, `${name} p`, 1e-7);
      close(h.detail.test.pShortOfExpected, want.pShort, `${name} p short`, 1e-7);
      close(h.detail.effect.shift, want.shift, `${name} shift`);
      assert.equal(h.before.length, 14);
      assert.equal(h.after.length, 14);
      assert.equal(h.changeAt, iso(CHANGE));
    }
    assert.deepEqual(res.body.summary.hypotheses, { supported: 2, refuted: 1, inconclusive: 1 });
    const one = await srv.json(`/api/v1/strategy/hypotheses/default/supported?now=${iso(NOW)}`);
    assert.equal(one.body.verdict, 'supported');
    // before the after-window ends: still collecting
    const early = await srv.json(`/api/v1/strategy/hypotheses/default/supported?now=${iso(CHANGE + 3 * D)}`);
    assert.equal(early.body.verdict, 'inconclusive');
    assert.match(early.body.detail.reason, /^collecting: the window after the change ends on /);
  });

  test('decisions, their findings and tools on hold', async () => {
    const org = await view();
    const rules = org.body.findings.filter((f) => f.rule !== 'goal-not-smart').map((f) => [f.rule, f.entityRef]);
    assert.deepEqual(rules, [
      ['decision-no-counter-evidence', 'decision:default/queue'],
      ['decision-not-best-scored', 'decision:default/queue'],
      ['decision-single-option', 'decision:default/lonely'],
      ['tool-on-hold', 'component:default/cart'],
      ['tool-on-hold', 'component:default/search'],
    ]);
    const queue = org.body.decisions.find((d) => d.entityRef === 'decision:default/queue');
    assert.equal(queue.system, 'system:default/shop');
    assert.deepEqual(queue.options, [{ name: 'rabbitmq', chosen: false, score: 4 }, { name: 'kafka', chosen: true, score: 2 }]);
    // per system (ADR browsing): the decisions of shop, and its components' tools
    const shop = await view('system:default/shop');
    assert.deepEqual(shop.body.decisions.map((d) => d.entityRef), ['decision:default/queue']);
    assert.deepEqual(shop.body.findings.map((f) => f.rule), ['decision-no-counter-evidence', 'decision-not-best-scored', 'tool-on-hold', 'tool-on-hold']);
    // per team: its own components only
    const pay = await view('group:default/payments');
    assert.deepEqual(pay.body.findings.filter((f) => f.rule === 'tool-on-hold').map((f) => f.entityRef), ['component:default/cart']);
    assert.deepEqual(pay.body.decisions.map((d) => d.entityRef), ['decision:default/lonely']);
    assert.deepEqual(pay.body.kpis.map((k) => [k.entityRef, k.metric]), [['kpi:default/kpi-conversion', 'kpi_conversion']]);
    // the entities API lists a system's decisions through the partOf relation
    const list = await srv.json('/api/v1/entities?kind=decision&system=shop');
    assert.deepEqual(list.body.items.map((e) => e.metadata.name), ['queue']);
  });

  test('bad input names what is wrong', async () => {
    const bad = async (path, status, re) => {
      const r = await srv.json(path);
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.match(r.body.detail, re);
    };
    await bad('/api/v1/strategy?scope=api:default/x', 400, /^query parameter 'scope': must be org or a Group, System, Domain or Component ref, not kind API$/);
    await bad('/api/v1/strategy?scope=group:default/nobody', 404, /^query parameter 'scope': group:default\/nobody does not exist/);
    await bad('/api/v1/strategy?now=yesterday', 400, /^query parameter 'now': 'yesterday' is not an RFC 3339 date-time/);
    await bad('/api/v1/strategy/goals/default/nothing', 404, /goal:default\/nothing does not exist/);
    await bad('/api/v1/strategy/hypotheses/default/nothing', 404, /hypothesis:default\/nothing does not exist/);
    await bad('/api/v1/strategy?other=1', 400, /other/);
    const put = await srv.json('/api/v1/entities/goal/default/broken', { method: 'PUT', token: admin, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...meta('Goal', 'broken'), spec: { target: { value: 1, direction: 'sideways' }, metric: { name: 'x', aggregate: 'median' } } }) });
    assert.equal(put.status, 422);
    assert.equal(put.body.detail, 'spec.metric.aggregate: must be one of last, avg, min, max, sum, count; spec.target.direction: required: increase or decrease');
    const dec = await srv.json('/api/v1/entities/decision/default/broken', { method: 'PUT', token: admin, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...meta('Decision', 'broken'), spec: { status: 'accepted', options: ['a', 'b'] } }) });
    assert.equal(dec.status, 422);
    assert.equal(dec.body.detail, 'spec.chosen: required when the decision is accepted');
  });
});
