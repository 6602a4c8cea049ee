// insights.test.mjs — black-box tests of the delivery insights against a real
// `conway serve`: DORA metrics on a hand-computed scenario (numbers worked out
// below from the rules in docs/dora.md), undeployed work, release coupling
// with two services in one chain, parameter validation, and the demo
// organisation's generated history loaded with `conway events import`.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, conway, repoRoot } from './helpers.mjs';

const H = 3600 * 1000;
const D = 24 * H;
const at = (s) => Date.parse(s);
const iso = (ms) => new Date(ms).toISOString();
let seq = 0;

function cdevent(kind, { t, subject, content = {}, chainId, custom, id = `ev-${++seq}` }) {
  const versions = { 'change.created': '0.4.0' };
  const context = { specversion: '0.5.1', id, source: '/insights-test', type: `dev.cdevents.${kind}.${versions[kind] || '0.3.0'}`, timestamp: iso(t) };
  if (chainId) context.chainId = chainId;
  const e = { context, subject: { id: subject, content } };
  if (custom) e.customData = custom;
  return e;
}
const deploy = (svc, t, { env = 'production', artifact, kind = 'service.deployed', changes, chainId } = {}) =>
  cdevent(kind, { t, subject: svc, chainId, content: { environment: { id: env }, artifactId: artifact || `pkg:oci/${svc}@sha256%3A${t}` }, custom: changes ? { changes } : undefined });
const rollback = (svc, t, artifact) => deploy(svc, t, { kind: 'service.rolledback', artifact });
const change = (pred, pr, repo, t) => cdevent(`change.${pred}`, { t, subject: pr, content: { repository: { id: repo, source: 'https://scm.example' } } });
const incident = (pred, inc, t, { service, artifact } = {}) => {
  const content = { environment: { id: 'production' } };
  if (service) content.service = { id: service };
  if (artifact) content.artifactId = artifact;
  if (pred === 'reported') content.ticketURI = 'https://tickets.example/1';
  return cdevent(`incident.${pred}`, { t, subject: inc, content });
};

const entity = (kind, name, spec = {}, annotations) => ({ apiVersion: 'backstage.io/v1alpha1', kind, metadata: { name, ...(annotations ? { annotations } : {}) }, spec });
const service = (name, owner, system, annotations) => entity('Component', name, { type: 'service', lifecycle: 'production', owner, ...(system ? { system } : {}) }, annotations);

async function load(srv, catalog, events) {
  const admin = srv.token('admin');
  const imp = await srv.json('/api/v1/import', { method: 'POST', token: admin, headers: { 'content-type': 'application/json' }, body: JSON.stringify(catalog) });
  assert.equal(imp.status, 200, JSON.stringify(imp.body));
  const r = await srv.json('/api/v1/events', { method: 'POST', token: admin, headers: { 'content-type': 'application/x-ndjson' }, body: events.map((e) => JSON.stringify(e)).join('\n') });
  assert.deepEqual(r.body, { accepted: events.length, duplicates: 0, conflicts: 0 });
}

function assertProblem(res, status, detailRe) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(res.headers.get('content-type'), /^application\/problem\+json/);
  if (detailRe) assert.match(res.body.detail, detailRe);
}

/*
 * The shop scenario. Window [2024-05-01, 2024-05-11), 10 days.
 *  cart (service id cart-svc, repository github.com/acme/cart), system shop, team-shop
 *   04-28 10:00 deploy cart@1 (before the window: bounds attribution)
 *   pr-a created 04-29 08:00, merged 04-30 12:00; pr-b created 05-01 09:00, merged 11:00
 *   05-01 12:00 deploy C1 cart@2, implicit: ships pr-a (52 h = 187200 s), pr-b (3 h = 10800 s)
 *   05-01 14:00 rollback              -> C1 failed (rule 1)
 *   pr-c created 05-02 06:00, merged 08:00; pr-d merged 05-02 09:00 (no created event)
 *   05-02 10:00 deploy C2 cart@3, customData.changes [pr-c]: ships pr-c (4 h = 14400 s);
 *               pr-d is left undeployed (merged before C2, not listed)
 *   INC-1 detected 05-02 11:00 (service cart-svc, no artifact), resolved 12:30
 *                                     -> C2 failed (rule 3, 1 h <= 24 h); restore 5400 s
 *   05-05 10:00 staging deploy (not production: ignored)
 *   pr-e created 05-04 15:00, merged 05-05 09:00
 *   05-05 15:00 deploy C3 cart@4, implicit: ships pr-e (24 h = 86400 s)
 *   INC-2 detected 05-08 10:00 (cart-svc, no artifact), resolved 11:00
 *                                     -> fails nothing (67 h after C3 > 24 h); restore 3600 s
 *   INC-3 reported 05-09 10:00 naming cart@4, never resolved
 *                                     -> C3 failed (rule 2); one open incident
 *   pr-g merged 05-10 12:00: undeployed
 *  checkout (by name; repository slug acme/checkout), system shop, team-shop
 *   co-f created 05-03 07:00, merged 08:00; 05-03 10:00 deploy K1: ships co-f (3 h = 10800 s)
 *  search (team-other): nothing. ghost: a production deployment matching no Component;
 *  INC-9 (service legacy) detected 05-04 00:00, resolved 02:00: org only, restore 7200 s
 *
 * system:shop: 4 deployments (05-01, 05-02, 05-03, 05-05) -> 0.4/day, 4 days;
 *   lead times sorted 10800 10800 14400 86400 187200: p50 (rank 3) 14400, p90 (rank 5) 187200;
 *   failed C1 C2 C3 = 3 -> 0.75; restore 3600 5400: p50 3600, p90 5400; 1 open.
 *   Levels: 0.4/day high; 4 h elite; 75 % low; 3600 s is not < 1 h -> high.
 */
const shopCatalog = [
  entity('Group', 'team-shop', { type: 'team', children: [] }),
  entity('Group', 'team-other', { type: 'team', children: [] }),
  entity('System', 'shop', { owner: 'team-shop' }),
  service('cart', 'team-shop', 'shop', { 'conway.dev/service-id': 'cart-svc', 'conway.dev/repository': 'github.com/acme/cart' }),
  service('checkout', 'team-shop', 'shop', { 'github.com/project-slug': 'acme/checkout' }),
  service('search', 'team-other'),
];
const cartRepo = 'github.com/acme/cart';
const shopEvents = [
  deploy('cart-svc', at('2024-04-28T10:00:00Z'), { artifact: 'cart@1' }),
  change('created', 'pr-a', cartRepo, at('2024-04-29T08:00:00Z')),
  change('merged', 'pr-a', cartRepo, at('2024-04-30T12:00:00Z')),
  change('created', 'pr-b', cartRepo, at('2024-05-01T09:00:00Z')),
  change('merged', 'pr-b', cartRepo, at('2024-05-01T11:00:00Z')),
  deploy('cart-svc', at('2024-05-01T12:00:00Z'), { artifact: 'cart@2' }),
  rollback('cart-svc', at('2024-05-01T14:00:00Z'), 'cart@1'),
  change('created', 'pr-c', cartRepo, at('2024-05-02T06:00:00Z')),
  change('merged', 'pr-c', cartRepo, at('2024-05-02T08:00:00Z')),
  change('merged', 'pr-d', cartRepo, at('2024-05-02T09:00:00Z')),
  deploy('cart-svc', at('2024-05-02T10:00:00Z'), { artifact: 'cart@3', kind: 'service.upgraded', changes: ['pr-c'] }),
  incident('detected', 'INC-1', at('2024-05-02T11:00:00Z'), { service: 'cart-svc' }),
  incident('resolved', 'INC-1', at('2024-05-02T12:30:00Z')),
  deploy('cart-svc', at('2024-05-05T10:00:00Z'), { artifact: 'cart@4', env: 'staging' }),
  change('created', 'pr-e', cartRepo, at('2024-05-04T15:00:00Z')),
  change('merged', 'pr-e', cartRepo, at('2024-05-05T09:00:00Z')),
  deploy('cart-svc', at('2024-05-05T15:00:00Z'), { artifact: 'cart@4' }),
  incident('detected', 'INC-2', at('2024-05-08T10:00:00Z'), { service: 'cart-svc' }),
  incident('resolved', 'INC-2', at('2024-05-08T11:00:00Z'), { service: 'cart-svc' }),
  incident('reported', 'INC-3', at('2024-05-09T10:00:00Z'), { service: 'cart-svc', artifact: 'cart@4' }),
  change('merged', 'pr-g', cartRepo, at('2024-05-10T12:00:00Z')),
  change('created', 'co-f', 'Acme/Checkout', at('2024-05-03T07:00:00Z')),
  change('merged', 'co-f', 'acme/checkout', at('2024-05-03T08:00:00Z')),
  deploy('checkout', at('2024-05-03T10:00:00Z')),
  deploy('ghost', at('2024-05-03T10:00:00Z')),
  incident('detected', 'INC-9', at('2024-05-04T00:00:00Z'), { service: 'legacy' }),
  incident('resolved', 'INC-9', at('2024-05-04T02:00:00Z'), { service: 'legacy' }),
];
const window = 'from=2024-05-01T00:00:00Z&to=2024-05-11T00:00:00Z';

describe('DORA and undeployed work on the shop scenario', () => {
  let srv;
  before(async () => {
    srv = await startServer();
    await load(srv, shopCatalog, shopEvents);
  });
  after(async () => { await srv.stop(); });

  test('system scope: every figure as computed by hand', async () => {
    const r = await srv.json(`/api/v1/insights/dora?scope=system:shop&${window}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const { daily, ...m } = r.body;
    assert.deepEqual(m, {
      scope: 'system:default/shop', from: '2024-05-01T00:00:00Z', to: '2024-05-11T00:00:00Z',
      deployments: 4, deploymentFrequencyPerDay: 0.4, deploymentDays: 4,
      leadTimeSeconds: { p50: 14400, p90: 187200, count: 5 },
      changeFailureRate: 0.75, failedDeployments: 3,
      timeToRestoreSeconds: { p50: 3600, p90: 5400, count: 2 }, openIncidents: 1,
      level: { deploymentFrequency: 'high', leadTime: 'elite', changeFailureRate: 'low', timeToRestore: 'high' },
    });
    assert.equal(daily.length, 10);
    assert.deepEqual(daily.slice(0, 5), [
      { date: '2024-05-01', deployments: 1, failedDeployments: 1, leadTimeP50Seconds: 10800 },
      { date: '2024-05-02', deployments: 1, failedDeployments: 1, leadTimeP50Seconds: 14400 },
      { date: '2024-05-03', deployments: 1, failedDeployments: 0, leadTimeP50Seconds: 10800 },
      { date: '2024-05-04', deployments: 0, failedDeployments: 0, leadTimeP50Seconds: null },
      { date: '2024-05-05', deployments: 1, failedDeployments: 1, leadTimeP50Seconds: 86400 },
    ]);
  });

  test('component, group and org scopes', async () => {
    // cart alone: lead times 10800 14400 86400 187200 -> p50 rank 2, p90 rank 4
    let r = await srv.json(`/api/v1/insights/dora?scope=cart&${window}`);
    assert.equal(r.body.scope, 'component:default/cart');
    assert.equal(r.body.deployments, 3);
    assert.deepEqual(r.body.leadTimeSeconds, { p50: 14400, p90: 187200, count: 4 });
    assert.equal(r.body.changeFailureRate, 1);
    r = await srv.json(`/api/v1/insights/dora?scope=group:team-shop&${window}`);
    assert.equal(r.body.deployments, 4);
    assert.equal(r.body.failedDeployments, 3);
    r = await srv.json(`/api/v1/insights/dora?scope=group:team-other&${window}`);
    assert.equal(r.body.deployments, 0);
    assert.equal(r.body.deploymentFrequencyPerDay, 0);
    assert.equal(r.body.changeFailureRate, null);
    assert.deepEqual(r.body.leadTimeSeconds, { p50: null, p90: null, count: 0 });
    assert.equal(r.body.level.changeFailureRate, null);
    // org: the unlinked incident counts for restore (3600 5400 7200), the ghost deployment nowhere
    r = await srv.json(`/api/v1/insights/dora?scope=org&${window}`);
    assert.equal(r.body.scope, 'org');
    assert.equal(r.body.deployments, 4);
    assert.deepEqual(r.body.timeToRestoreSeconds, { p50: 5400, p90: 7200, count: 3 });
    assert.equal(r.body.openIncidents, 1);
    const dflt = await srv.json(`/api/v1/insights/dora?${window}`);
    assert.deepEqual(dflt.body, r.body, 'org is the default scope');
  });

  test('failureWindowHours and the production pattern change the answer', async () => {
    // with a zero window INC-1 (one hour after C2) no longer fails C2
    let r = await srv.json(`/api/v1/insights/dora?scope=system:shop&${window}&failureWindowHours=0`);
    assert.equal(r.body.failedDeployments, 2);
    assert.equal(r.body.changeFailureRate, 0.5);
    r = await srv.json(`/api/v1/insights/dora?scope=system:shop&${window}&failureWindowHours=72`);
    assert.equal(r.body.failedDeployments, 3);
    // a narrower window: only C2 (05-02) and K1 (05-03)
    r = await srv.json('/api/v1/insights/dora?scope=system:shop&from=2024-05-02T00:00:00Z&to=2024-05-04T00:00:00Z');
    assert.equal(r.body.deployments, 2);
    assert.equal(r.body.deploymentFrequencyPerDay, 1);
    assert.equal(r.body.daily.length, 2);
    // the same database served with staging as production
    const staging = await startServer({ db: srv.db, args: ['--production-env', 'staging,qa-*'] });
    try {
      r = await staging.json(`/api/v1/insights/dora?scope=cart&${window}`);
      assert.equal(r.body.deployments, 1);
      assert.equal(r.body.daily[4].deployments, 1);
    } finally { await staging.stop({ keep: true }); }
  });

  test('undeployed work: pr-d (skipped by an explicit list) and pr-g (after the last deployment)', async () => {
    const r = await srv.json('/api/v1/insights/undeployed?scope=system:shop&now=2024-05-11T00:00:00Z');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, {
      now: '2024-05-11T00:00:00Z', totalItems: 1, nextCursor: null,
      components: [{
        component: 'component:default/cart', count: 2, oldestMergedAt: '2024-05-02T09:00:00Z', ageSeconds: 745200,
        changes: [{ id: 'pr-d', mergedAt: '2024-05-02T09:00:00Z' }, { id: 'pr-g', mergedAt: '2024-05-10T12:00:00Z' }], truncated: false,
        owner: 'group:default/team-shop', // the Team column of the UI
      }],
    });
    const capped = await srv.json('/api/v1/insights/undeployed?scope=cart&now=2024-05-11T00:00:00Z&changes=1');
    assert.equal(capped.body.components[0].count, 2);
    assert.equal(capped.body.components[0].changes.length, 1);
    assert.equal(capped.body.components[0].truncated, true);
    // limit and cursor page the components, as every list: pages of one
    // give the whole answer's components once each, in its order (the
    // cursor's form, docs/api.md: base64url of "o1:" and the offset)
    const all = await srv.json('/api/v1/insights/undeployed?now=2024-05-11T00:00:00Z');
    assert.ok(all.body.components.length >= 1, JSON.stringify(all.body));
    const past = Buffer.from(`o1:${all.body.components.length}`).toString('base64url');
    const end = await srv.json(`/api/v1/insights/undeployed?now=2024-05-11T00:00:00Z&cursor=${past}`);
    assert.deepEqual([end.body.components, end.body.nextCursor, end.body.totalItems], [[], null, all.body.components.length]);
    assert.equal(all.body.totalItems, all.body.components.length);
    assert.equal(all.body.nextCursor, null);
    const paged = [];
    let cursor = null;
    for (let i = 0; i <= all.body.components.length; i++) {
      const page = await srv.json(`/api/v1/insights/undeployed?now=2024-05-11T00:00:00Z&limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.equal(page.status, 200, JSON.stringify(page.body));
      assert.equal(page.body.components.length, 1);
      assert.equal(page.body.totalItems, all.body.components.length);
      paged.push(...page.body.components);
      cursor = page.body.nextCursor;
      if (!cursor) break;
    }
    assert.deepEqual(paged, all.body.components);
    const none = await srv.json('/api/v1/insights/undeployed?scope=checkout');
    assert.deepEqual(none.body.components, []);
    const live = await srv.json('/api/v1/insights/undeployed');
    assert.ok(Date.parse(live.body.now) > Date.parse('2025-01-01T00:00:00Z'), 'now defaults to the current time');
  });

  test('every parameter is validated by name', async () => {
    const cases = [
      ['dora', 'scope=api:default/x', /scope/], ['dora', 'scope=', /scope/], ['dora', 'from=last-week', /from/],
      ['dora', 'from=2024-05-02T00:00:00Z&to=2024-05-01T00:00:00Z', /to/], ['dora', 'from=1990-01-01T00:00:00Z&to=2024-05-01T00:00:00Z', /from/],
      ['dora', 'failureWindowHours=-1', /failureWindowHours/], ['dora', 'failureWindowHours=9000', /failureWindowHours/],
      ['dora', 'window=3', /window/],
      ['undeployed', 'now=soon', /now/], ['undeployed', 'limit=0', /limit/], ['undeployed', 'changes=0', /changes/],
      ['undeployed', 'cursor=nope', /cursor/], ['undeployed', 'scope=resource:db', /scope/],
      ['coupling', 'windowMinutes=x', /windowMinutes/], ['coupling', 'windowMinutes=20000', /windowMinutes/],
      ['coupling', 'minTogether=0', /minTogether/], ['coupling', 'minConfidence=1.5', /minConfidence/],
      ['coupling', 'minConfidence=-0.1', /minConfidence/], ['coupling', 'minConfidence=nan', /minConfidence/],
      ['coupling', 'to=2024-13-40T00:00:00Z', /to/],
    ];
    for (const [route, q, re] of cases) assertProblem(await srv.json(`/api/v1/insights/${route}?${q}`), 400, re);
    for (const route of ['dora', 'undeployed', 'coupling']) {
      assertProblem(await srv.json(`/api/v1/insights/${route}?scope=component:default/nope`), 404, /scope.*component:default\/nope/);
      assertProblem(await srv.json(`/api/v1/insights/${route}?scope=system:nope`), 404, /scope/);
    }
  });
});

/*
 * Coupling. a (team-x) and b (team-y) are deployed 5 times 5 minutes apart
 * (days 0-4 at 10:00/10:05) and once 2 hours apart but sharing a chainId (day
 * 5); b once more alone (day 6). c (team-x) at day 0 10:10 (within 15 minutes
 * of both) and alone on days 7 and 8.
 *   (a,b): together 6, deployments 6 and 7, confidence 6/6 = 1, jaccard 6/7: flagged
 *   (a,c): together 1, 6 and 3, confidence 1/3, jaccard 1/8
 *   (b,c): together 1, 7 and 3, confidence 1/3, jaccard 1/9
 */
describe('release coupling', () => {
  let srv;
  const day0 = at('2024-06-03T10:00:00Z');
  before(async () => {
    srv = await startServer();
    const events = [];
    for (let i = 0; i < 5; i++) events.push(deploy('a', day0 + i * D), deploy('b', day0 + i * D + 5 * 60000));
    events.push(deploy('a', day0 + 5 * D, { chainId: 'release-5' }), deploy('b', day0 + 5 * D + 2 * H, { chainId: 'release-5' }));
    events.push(deploy('b', day0 + 6 * D));
    events.push(deploy('c', day0 + 10 * 60000), deploy('c', day0 + 7 * D), deploy('c', day0 + 8 * D));
    events.push(deploy('a', day0 + 9 * D, { env: 'staging' }), deploy('b', day0 + 9 * D, { env: 'staging' }));
    await load(srv, [
      entity('Group', 'team-x', { type: 'team', children: [] }), entity('Group', 'team-y', { type: 'team', children: [] }),
      service('a', 'team-x'), service('b', 'group:default/team-y'), service('c', 'team-x'),
    ], events);
  });
  after(async () => { await srv.stop(); });

  const win = 'from=2024-06-03T00:00:00Z&to=2024-06-13T00:00:00Z';

  test('pairs, confidence, jaccard and the release train with its teams', async () => {
    const r = await srv.json(`/api/v1/insights/coupling?${win}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, {
      pairs: [
        { a: 'component:default/a', b: 'component:default/b', together: 6, deploymentsA: 6, deploymentsB: 7, confidence: 1, jaccard: 0.857142857143, flagged: true },
        { a: 'component:default/a', b: 'component:default/c', together: 1, deploymentsA: 6, deploymentsB: 3, confidence: 0.333333333333, jaccard: 0.125, flagged: false },
        { a: 'component:default/b', b: 'component:default/c', together: 1, deploymentsA: 7, deploymentsB: 3, confidence: 0.333333333333, jaccard: 0.111111111111, flagged: false },
      ],
      totalPairs: 3, totalItems: 3,
      flaggedPairs: 1,
      trains: [{ components: ['component:default/a', 'component:default/b'], teams: ['group:default/team-x', 'group:default/team-y'] }],
      nextCursor: null,
    });
  });

  test('pages: limit and cursor walk the pairs in order, totals and trains on every page', async () => {
    const all = (await srv.json(`/api/v1/insights/coupling?${win}`)).body;
    const seen = [];
    let cursor = null;
    let pages = 0;
    do {
      const r = await srv.json(`/api/v1/insights/coupling?${win}&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.pairs.length, 1);
      assert.equal(r.body.totalPairs, 3);
      assert.equal(r.body.flaggedPairs, 1);
      assert.deepEqual(r.body.trains, all.trains);
      seen.push(...r.body.pairs);
      cursor = r.body.nextCursor;
      pages++;
    } while (cursor);
    assert.equal(pages, 3);
    assert.deepEqual(seen, all.pairs);
    // a cursor keeps its place when its component has gone: after (a, b)
    // comes (a, c) whether or not b is still in the scope
    const first = await srv.json(`/api/v1/insights/coupling?${win}&limit=1`);
    const r = await srv.json(`/api/v1/insights/coupling?${win}&limit=5&scope=group:team-x&cursor=${first.body.nextCursor}`);
    assert.deepEqual(r.body.pairs.map((p) => [p.a, p.b]), [['component:default/a', 'component:default/c']]);
    assert.equal(r.body.nextCursor, null);
    for (const q of ['limit=0', 'limit=1001', 'limit=x', 'cursor=nonsense', `cursor=${Buffer.from('c1:1:5:4:a b').toString('base64url')}`]) {
      assertProblem(await srv.json(`/api/v1/insights/coupling?${win}&${q}`), 400, /limit|cursor/);
    }
  });

  test('thresholds, window and scope', async () => {
    let r = await srv.json(`/api/v1/insights/coupling?${win}&minTogether=7`);
    assert.equal(r.body.pairs[0].flagged, false);
    assert.deepEqual(r.body.trains, []);
    r = await srv.json(`/api/v1/insights/coupling?${win}&minConfidence=1&minTogether=1`);
    assert.deepEqual(r.body.pairs.map((p) => p.flagged), [true, false, false]);
    // without a time window only the shared chain joins a and b
    r = await srv.json(`/api/v1/insights/coupling?${win}&windowMinutes=0`);
    assert.deepEqual(r.body.pairs.map((p) => [p.b, p.together]), [['component:default/b', 1]]);
    // only deployments inside [from, to) count
    r = await srv.json('/api/v1/insights/coupling?from=2024-06-03T00:00:00Z&to=2024-06-05T00:00:00Z&minTogether=2');
    assert.deepEqual(r.body.pairs[0], { a: 'component:default/a', b: 'component:default/b', together: 2, deploymentsA: 2, deploymentsB: 2, confidence: 1, jaccard: 1, flagged: true });
    r = await srv.json(`/api/v1/insights/coupling?${win}&scope=group:team-x`);
    assert.deepEqual(r.body.pairs.map((p) => [p.a, p.b]), [['component:default/a', 'component:default/c']]);
  });
});

/*
 * Issue #10: 2,000 components deployed within seconds of each other, three
 * times, are two million coupled pairs. One request answered all of them
 * (282 MB, 10 s, 2.7 GB of RSS); now it answers a page of 100, flagged and
 * most confident first, with the totals, and the server's memory stays
 * small.
 */
describe('release coupling of 2,000 components deployed together', () => {
  const N = 2000;
  const ROUNDS = 3;
  const name = (i) => `c${String(i).padStart(4, '0')}`;
  let srv;
  before(async () => {
    // Under AddressSanitizer freed memory waits in a quarantine (256 MiB by
    // default) and would count as held; other builds ignore ASAN_OPTIONS.
    const asan = [process.env.ASAN_OPTIONS, 'quarantine_size_mb=0', 'thread_local_quarantine_size_kb=0'].filter(Boolean).join(':');
    srv = await startServer({ env: { ASAN_OPTIONS: asan } });
    const catalog = [entity('Group', 'team-all', { type: 'team', children: [] })];
    for (let i = 0; i < N; i++) catalog.push(service(name(i), 'team-all'));
    const events = [];
    for (let k = 0; k < ROUNDS; k++) {
      for (let i = 0; i < N; i++) events.push(deploy(name(i), at('2024-07-01T10:00:00Z') + k * D + i * 10));
    }
    await load(srv, catalog, events);
  });
  after(async () => { await srv.stop(); });

  test('one page of 100 pairs with the totals; the server holds no more than that', async () => {
    const win = 'from=2024-07-01T00:00:00Z&to=2024-07-10T00:00:00Z';
    // the peak from here on (loading the catalog and events is not measured)
    writeFileSync(`/proc/${srv.proc.pid}/clear_refs`, '5');
    const res = await srv.fetch(`/api/v1/insights/coupling?${win}&minTogether=3`);
    const text = await res.text();
    assert.equal(res.status, 200, text.slice(0, 300));
    assert.ok(text.length < 256 << 10, `one page, not every pair: ${text.length} bytes`);
    const body = JSON.parse(text);
    assert.equal(body.pairs.length, 100);
    assert.equal(body.totalPairs, N * (N - 1) / 2);
    assert.equal(body.flaggedPairs, N * (N - 1) / 2);
    assert.deepEqual(body.pairs[0], { a: 'component:default/c0000', b: 'component:default/c0001', together: 3, deploymentsA: 3, deploymentsB: 3, confidence: 1, jaccard: 1, flagged: true });
    assert.equal(body.trains.length, 1);
    assert.equal(body.trains[0].components.length, N);
    const next = await srv.json(`/api/v1/insights/coupling?${win}&minTogether=3&limit=1000&cursor=${body.nextCursor}`);
    assert.equal(next.body.pairs.length, 1000);
    assert.deepEqual([next.body.pairs[0].a, next.body.pairs[0].b], ['component:default/c0000', 'component:default/c0101']);
    const status = readFileSync(`/proc/${srv.proc.pid}/status`, 'utf8');
    const peakKiB = Number(/VmHWM:\s+(\d+) kB/.exec(status)[1]);
    assert.ok(peakKiB < 256 * 1024, `peak RSS ${peakKiB} KiB while answering`);
  });
});

describe('the demo organisation with its generated history', () => {
  const now = '2026-03-15T12:00:00Z';
  let srv;
  before(async () => {
    const history = execFileSync(process.execPath, [join(repoRoot, 'demo', 'generate-history.mjs'), '--now', now], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const org = ['groups', 'users', 'domains-systems', 'resources', 'apis', 'components'].map((f) => join(repoRoot, 'demo', 'org', `${f}.yaml`));
    srv = await startServer({ imports: org });
    const r = conway(['events', 'import', '--db', srv.db, '-'], { input: history });
    assert.equal(r.status, 0, r.stderr);
    const lines = history.trim().split('\n').length;
    assert.match(r.stdout, new RegExp(`imported ${lines} events \\(${lines} new, 0 duplicates\\), 0 rejected`));
    const again = conway(['events', 'import', '--db', srv.db, '-'], { input: history });
    assert.match(again.stdout, new RegExp(`\\(0 new, ${lines} duplicates\\)`));
  });
  after(async () => { await srv.stop(); });

  const last30 = `from=2026-02-13T12:00:00Z&to=${now}`;

  test('the coupled pair is the only flagged pair', async () => {
    const r = await srv.json(`/api/v1/insights/coupling?${last30}`);
    const flagged = r.body.pairs.filter((p) => p.flagged);
    assert.deepEqual(flagged.map((p) => [p.a, p.b]), [['component:default/entitlement-service', 'component:default/subscription-service']]);
    assert.ok(flagged[0].together >= 5 && flagged[0].confidence >= 0.85, JSON.stringify(flagged[0]));
    assert.deepEqual(r.body.trains, [{ components: ['component:default/entitlement-service', 'component:default/subscription-service'], teams: ['group:default/team-commerce', 'group:default/team-playback'] }]);
  });

  test('invoice-service leads the undeployed list with stale changes', async () => {
    const r = await srv.json(`/api/v1/insights/undeployed?now=${now}`);
    const [first, ...rest] = r.body.components;
    assert.equal(first.component, 'component:default/invoice-service');
    assert.equal(first.count, 7);
    assert.ok(first.ageSeconds >= 45 * 86400 && first.ageSeconds <= 51 * 86400, String(first.ageSeconds)); // README: about 48-50 days
    for (const c of rest) assert.ok(c.ageSeconds <= 21 * 86400, `${c.component} ${c.ageSeconds}`);
  });

  test('elite and low teams, one open incident, unmatched events', async () => {
    const discovery = (await srv.json(`/api/v1/insights/dora?scope=group:team-discovery&${last30}`)).body;
    assert.equal(discovery.level.deploymentFrequency, 'elite');
    assert.equal(discovery.level.leadTime, 'elite');
    assert.ok(discovery.deploymentFrequencyPerDay > 3, JSON.stringify(discovery));
    const content = (await srv.json(`/api/v1/insights/dora?scope=group:team-content&${last30}`)).body;
    assert.equal(content.level.leadTime, 'low');
    assert.ok(content.changeFailureRate > 0.3);
    const org = (await srv.json(`/api/v1/insights/dora?scope=org&${last30}`)).body;
    assert.equal(org.openIncidents, 1);
    assert.ok(org.deployments > 100);
    const stream = (await srv.json(`/api/v1/insights/dora?scope=stream-delivery-service&${last30}`)).body;
    assert.equal(stream.openIncidents, 1);
    const un = (await srv.json('/api/v1/events/unmatched')).body;
    assert.deepEqual(un.keys.map((k) => k.value).sort(), ['github.com/tunewave/monolith', 'legacy-radio', 'podcast-transcoder']);
  });
});
