// architecture.test.mjs — the architecture findings, the dependency graph
// (JSON, DOT and server-drawn SVG) and `conway check architecture` against
// a real `conway serve` loaded with the demo organisation and its delivery
// history (whose deliberate smells demo/README.md lists), plus catalogs
// built here for silencing, severities and the drawing limit.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, conway, tempDir, repoRoot, pgBaseUrl, pgCreateDb, pgAdmin } from './helpers.mjs';

const orgDir = join(repoRoot, 'demo', 'org');
const orgFiles = ['groups', 'users', 'domains-systems', 'components', 'apis', 'resources', 'responsibilities']
  .map((f) => join(orgDir, `${f}.yaml`));
const JSON_CT = { 'content-type': 'application/json' };

function assertProblem(res, status, detailRe) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(res.headers.get('content-type'), /^application\/problem\+json/);
  if (detailRe) assert.match(res.body.detail, detailRe);
}

// The architecture findings demo/README.md promises, as "rule entityRef severity".
const EXPECTED = [
  'cross-team-dependency group:default/team-growth warning',
  'cross-team-dependency group:default/team-playback warning',
  'cross-team-dependency group:default/team-recommendations warning',
  'cross-team-release-train component:default/entitlement-service warning',
  'dependency-cycle component:default/listening-history-service error',
  'deprecated-dependency component:default/payout-exporter warning',
  'shared-datastore resource:default/legacy-users-db error',
  'team-spread group:default/team-growth warning',
];

export async function postHistory(srv, token) {
  const r = spawnSync(process.execPath, [join(repoRoot, 'demo', 'generate-history.mjs')], { encoding: 'utf8', maxBuffer: 256 << 20 });
  assert.equal(r.status, 0, r.stderr);
  const res = await srv.json('/api/v1/events', { method: 'POST', token, headers: { 'content-type': 'application/x-ndjson' }, body: r.stdout });
  assert.ok(res.status === 200 || res.status === 202, JSON.stringify(res.body));
}

describe('the demo organisation', () => {
  let srv, admin, editor;
  before(async () => {
    srv = await startServer({ imports: orgFiles });
    admin = srv.token('admin', { name: 'admin' });
    editor = srv.token('editor', { name: 'editor' });
    await postHistory(srv, admin);
  });
  after(async () => { await srv.stop(); });

  test('architecture findings are exactly the deliberate smells', async () => {
    const r = await srv.json('/api/v1/insights/architecture');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.findings.map((f) => `${f.rule} ${f.entityRef} ${f.severity}`), EXPECTED);
    for (const f of r.body.findings) {
      assert.deepEqual(Object.keys(f).slice(0, 7), ['rule', 'severity', 'entityRef', 'entities', 'teams', 'detail', 'numbers']);
      assert.equal(f.entities[0], f.entityRef);
      assert.ok(f.teams.length >= 1);
    }
    const byRule = Object.fromEntries(r.body.findings.map((f) => [f.rule, f]));
    assert.deepEqual(byRule['dependency-cycle'].cycle, ['component:default/listening-history-service', 'component:default/playlist-service', 'component:default/recommendation-service']);
    assert.deepEqual(byRule['dependency-cycle'].teams, ['group:default/team-discovery', 'group:default/team-recommendations']);
    assert.deepEqual(byRule['shared-datastore'].writers, ['component:default/referral-service', 'component:default/subscription-service']);
    assert.deepEqual(byRule['shared-datastore'].numbers, { teams: 3, components: 3, writers: 2, writerTeams: 2 });
    assert.deepEqual(byRule['team-spread'].numbers, { systems: 4, domains: 3, components: 4, max: 3 });
    assert.deepEqual(byRule['cross-team-release-train'].entities, ['component:default/entitlement-service', 'component:default/subscription-service']);
    assert.deepEqual(byRule['cross-team-release-train'].teams, ['group:default/team-commerce', 'group:default/team-playback']);
    assert.deepEqual(r.body.summary, {
      error: 2, warning: 6, silenced: 0, total: 8,
      byRule: { 'cross-team-dependency': 3, 'cross-team-release-train': 1, 'dependency-cycle': 1, 'deprecated-dependency': 1, 'shared-datastore': 1, 'team-spread': 1 },
    });
    assert.equal(r.body.congruence.edges, 35);
    assert.equal(r.body.congruence.crossTeamEdges, 16);
    assert.ok(Math.abs(r.body.congruence.congruence - 19 / 35) < 1e-9);
    assert.equal(r.body.components, 43);
    assert.equal(r.body.cycles, 1);
    assert.deepEqual(r.body.thresholds.datastoreTypes, ['database']);
    assert.equal(r.body.thresholds.crossTeamThreshold, 0.5);
  });

  test('filters by rule, severity and team; bad filters are 400 naming the parameter', async () => {
    let r = await srv.json('/api/v1/insights/architecture?severity=error');
    assert.deepEqual(r.body.findings.map((f) => f.rule), ['dependency-cycle', 'shared-datastore']);
    r = await srv.json('/api/v1/insights/architecture?team=team-growth');
    assert.deepEqual(r.body.findings.map((f) => `${f.rule} ${f.entityRef}`), ['cross-team-dependency group:default/team-growth', 'shared-datastore resource:default/legacy-users-db', 'team-spread group:default/team-growth']);
    r = await srv.json('/api/v1/insights/architecture?rule=dependency-cycle&team=group:default/team-recommendations');
    assert.equal(r.body.findings.length, 1);
    assertProblem(await srv.json('/api/v1/insights/architecture?rule=cycles'), 400, /^rule: unknown rule "cycles"; known rules: cross-team-dependency/);
    assertProblem(await srv.json('/api/v1/insights/architecture?severity=fatal'), 400, /^severity:/);
    assertProblem(await srv.json('/api/v1/insights/architecture?team=group:'), 400, /^team:/);
    assertProblem(await srv.json('/api/v1/insights/architecture?scope=org'), 400, /scope/);
  });

  test('the graph of a system as JSON: nodes, typed edges, findings highlighted', async () => {
    const r = await srv.json('/api/v1/graph?scope=system:discovery&depth=0');
    assert.equal(r.status, 200);
    assert.equal(r.body.scope, 'system:default/discovery');
    assert.equal(r.body.depth, 0);
    const nodes = Object.fromEntries(r.body.nodes.map((n) => [n.ref, n]));
    const pl = nodes['component:default/playlist-service'];
    assert.deepEqual({ kind: pl.kind, owner: pl.owner, system: pl.system, domain: pl.domain, lifecycle: pl.lifecycle, scope: pl.scope, finding: pl.finding },
      { kind: 'Component', owner: 'group:default/team-discovery', system: 'system:default/discovery', domain: 'domain:default/listening', lifecycle: 'production', scope: true, finding: 'error' });
    assert.ok(r.body.nodes.every((n) => n.system === 'system:default/discovery'), 'depth 0 keeps the system only');
    const cycleEdges = [...new Set(r.body.edges.filter((e) => e.cycle).map((e) => `${e.from} ${e.to}`))].sort();
    assert.deepEqual(cycleEdges, [
      'component:default/listening-history-service component:default/playlist-service',
      'component:default/playlist-service component:default/recommendation-service',
      'component:default/recommendation-service component:default/listening-history-service',
    ]);
    assert.ok(r.body.edges.some((e) => e.type === 'consumesApi' && e.api === 'api:default/recommendations-api' && e.from === 'component:default/playlist-service' && e.to === 'component:default/recommendation-service'));
    assert.ok(r.body.edges.some((e) => e.type === 'providesApi'));
    assert.ok(r.body.findings.some((f) => f.rule === 'dependency-cycle'));
    // depth 1 reaches across the system boundary
    const r1 = await srv.json('/api/v1/graph?scope=system:discovery');
    assert.equal(r1.body.depth, 1);
    assert.ok(r1.body.nodes.length > r.body.nodes.length);
    assert.ok(r1.body.nodes.some((n) => n.ref === 'component:default/stream-delivery-service' && !n.scope));
    // a team: what it owns, with the shared database written by two teams
    const t = await srv.json('/api/v1/graph?scope=group:team-commerce&depth=1');
    const lu = t.body.nodes.find((n) => n.ref === 'resource:default/legacy-users-db');
    assert.equal(lu.finding, 'error');
    assert.ok(t.body.edges.some((e) => e.to === 'resource:default/legacy-users-db' && e.writes === true && e.from === 'component:default/subscription-service'));
    // a component; the org
    const c = await srv.json('/api/v1/graph?scope=payout-exporter&depth=1');
    assert.deepEqual(c.body.nodes.filter((n) => n.scope).map((n) => n.ref), ['component:default/payout-exporter']);
    const org = await srv.json('/api/v1/graph?depth=0');
    assert.equal(org.body.scope, 'org');
    assert.ok(org.body.nodes.length >= 43 + 12 + 19);
  });

  test('DOT and SVG: the same graph, links on every node, classes for findings', async () => {
    const dot = await srv.fetch('/api/v1/graph?scope=system:discovery&depth=0&format=dot');
    assert.equal(dot.status, 200);
    assert.match(dot.headers.get('content-type'), /^text\/vnd\.graphviz/);
    const text = await dot.text();
    assert.match(text, /^digraph conway \{/);
    assert.match(text, /URL="\/entity\/component\/default\/playlist-service"/);
    const svg = await srv.fetch('/api/v1/graph?scope=system:discovery&depth=0&format=svg');
    assert.equal(svg.status, 200);
    assert.equal(svg.headers.get('content-type'), 'image/svg+xml');
    const s = await svg.text();
    assert.match(s, /<svg /);
    assert.match(s, /xlink:href="\/entity\/component\/default\/playlist-service"/);
    assert.match(s, /class="node node&#45;component scope finding&#45;error"/);
    assert.match(s, /class="edge edge&#45;dependsOn cycle"/);
    assert.doesNotMatch(s, /<script|javascript:|\son\w+=/i);
    const json = await srv.json('/api/v1/graph?scope=system:discovery&depth=0');
    const linked = [...s.matchAll(/xlink:href="(\/entity\/[^"]+)"/g)].map((m) => m[1]);
    for (const n of json.body.nodes) {
      const [kind, rest] = n.ref.split(':');
      assert.ok(linked.includes(`/entity/${kind}/${rest}`), `${n.ref} has a link`);
    }
  });

  test('SVG is drawn in a worker process; a worker that dies is replaced', async (t) => {
    // children of any of the server's threads (the one that spawned it)
    const children = () => {
      try {
        return readdirSync(`/proc/${srv.proc.pid}/task`).flatMap((tid) =>
          readFileSync(`/proc/${srv.proc.pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
      } catch { return null; }
    };
    if (children() === null) { t.skip('no /proc/PID/task/PID/children here'); return; }
    const draw = async () => {
      const r = await srv.fetch('/api/v1/graph?scope=system:playback&depth=0&format=svg');
      assert.equal(r.status, 200);
      assert.match(await r.text(), /<\/svg>/);
    };
    await draw();
    const workers = children().filter((pid) => /graph-worker/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8')));
    assert.equal(workers.length, 1, 'one worker');
    // the worker holds nothing of the server but its pipes and /dev/null
    assert.deepEqual(readdirSync(`/proc/${workers[0]}/fd`).sort(), ['0', '1', '2']);
    process.kill(workers[0], 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    await draw(); // a fresh worker answers
    const after = children().filter((pid) => /graph-worker/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8')));
    assert.equal(after.length, 1);
    assert.notEqual(after[0], workers[0]);
  });

  test('bad graph parameters are 4xx naming the parameter', async () => {
    assertProblem(await srv.json('/api/v1/graph?depth=11'), 400, /'depth'/);
    assertProblem(await srv.json('/api/v1/graph?depth=-1'), 400, /'depth'/);
    assertProblem(await srv.json('/api/v1/graph?format=png'), 400, /'format'/);
    assertProblem(await srv.json('/api/v1/graph?scope=component:nope'), 404, /'scope': component:default\/nope names nothing/);
    assertProblem(await srv.json('/api/v1/graph?scope=user:'), 400, /'scope'/);
    assertProblem(await srv.json('/api/v1/graph?scope='), 400, /'scope'/);
    assertProblem(await srv.json('/api/v1/graph?kind=x'), 400, /kind/);
  });

  test('silencing with an annotation: listed with the reason, no longer an error', async () => {
    const get = await srv.json('/api/v1/entities/resource/default/legacy-users-db');
    const e = get.body;
    e.metadata.annotations = { ...(e.metadata.annotations || {}), 'conway.dev/silence-shared-datastore': 'migrating to the accounts API, see DEC-12' };
    delete e.relations;
    const put = await srv.json('/api/v1/entities/resource/default/legacy-users-db', { method: 'PUT', token: editor, headers: JSON_CT, body: JSON.stringify(e) });
    assert.ok(put.status === 200 || put.status === 201, JSON.stringify(put.body));
    const r = await srv.json('/api/v1/insights/architecture?rule=shared-datastore');
    assert.deepEqual(r.body.findings[0].silenced, { reason: 'migrating to the accounts API, see DEC-12', by: 'resource:default/legacy-users-db' });
    assert.equal(r.body.summary.silenced, 1);
    assert.equal(r.body.summary.error, 0);
    const g = await srv.json('/api/v1/graph?scope=resource:legacy-users-db&depth=0');
    assert.equal(g.body.nodes[0].finding, undefined, 'silenced findings are not highlighted');
    // the CLI agrees and prints the reason
    const cli = conway(['check', 'architecture', '--db', srv.db, '--rule', 'shared-datastore']);
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /^silenced shared-datastore resource:default\/legacy-users-db: .* \(silenced: migrating to the accounts API, see DEC-12\)$/m);
  });

  test('conway check architecture: exit 1 on errors, 0 without, 2 on usage errors', () => {
    let r = conway(['check', 'architecture', '--db', srv.db]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /^error dependency-cycle component:default\/listening-history-service: 3 entities depend on each other/m);
    assert.match(r.stdout, /^warning cross-team-release-train component:default\/entitlement-service: /m);
    assert.match(r.stderr, /1 error, 6 warnings, 1 silenced in 43 components \(Conway congruence 0\.54\)/);
    r = conway(['check', 'architecture', '--db', srv.db, '--architecture-severity', 'dependency-cycle=warning']);
    assert.equal(r.status, 0, r.stderr);
    r = conway(['check', 'architecture', '--db', srv.db, '--json', '--rule', 'team-spread', '--team-spread', '4']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).findings, []);
    r = conway(['check', 'architecture', '--db', srv.db, '--json', '--datastore-types', 'database,queue']);
    const shared = JSON.parse(r.stdout).findings.filter((f) => f.rule === 'shared-datastore').map((f) => f.entityRef);
    assert.ok(shared.includes('resource:default/play-events-queue'), shared.join());
    for (const [args, re] of [
      [['--architecture-severity', 'cycles=off'], /--architecture-severity: unknown rule "cycles"/],
      [['--cross-team-threshold', '1.5'], /--cross-team-threshold: '1.5' is not a number between 0 and 1/],
      [['--datastore-types', 'a b'], /--datastore-types: type "a b"/],
      [['--rule', 'nope'], /--rule: unknown rule "nope"/],
      [['--fan-floor', 'x'], /--fan-floor: 'x'/],
    ]) {
      r = conway(['check', 'architecture', '--db', srv.db, ...args]);
      assert.equal(r.status, 2, args.join(' '));
      assert.match(r.stderr, re);
    }
  });
});

describe('server options and limits', () => {
  let srv, dir;
  before(async () => {
    dir = tempDir();
    // one system of 450 components in a chain: too many to draw
    const docs = [
      { apiVersion: 'backstage.io/v1alpha1', kind: 'System', metadata: { name: 'big' }, spec: { owner: 'team-a' } },
    ];
    for (let i = 0; i < 450; i++) {
      docs.push({ apiVersion: 'backstage.io/v1alpha1', kind: 'Component', metadata: { name: `c${i}` }, spec: { type: 'service', lifecycle: 'production', owner: i % 2 ? 'team-a' : 'team-b', system: 'big', dependsOn: i ? [`component:c${i - 1}`] : ['component:c449'] } });
    }
    const file = join(dir, 'big.json');
    writeFileSync(file, JSON.stringify(docs));
    srv = await startServer({ imports: [file], args: ['--architecture-severity', 'dependency-cycle=warning,cross-team-dependency=off', '--fan-floor', '1'] });
  });
  after(async () => { await srv.stop(); });

  test('--architecture-severity applies to the API', async () => {
    const r = await srv.json('/api/v1/insights/architecture');
    assert.deepEqual(r.body.findings.map((f) => `${f.rule} ${f.severity}`), ['dependency-cycle warning']);
    assert.equal(r.body.findings[0].numbers.cycleLength, 450);
    assert.equal(r.body.thresholds.severities['cross-team-dependency'], 'off');
    assert.equal(r.body.thresholds.fanFloor, 1);
  });

  test('SVG is refused beyond 400 nodes, JSON and DOT are not', async () => {
    assertProblem(await srv.json('/api/v1/graph?scope=system:big&format=svg'), 413, /450 nodes, more than the 400 that are drawn/);
    const dot = await srv.fetch('/api/v1/graph?scope=system:big&format=dot');
    assert.equal(dot.status, 200);
    await dot.text();
    const j = await srv.json('/api/v1/graph?scope=c10&depth=2');
    assert.deepEqual(j.body.nodes.map((n) => n.ref).sort(), ['component:default/c10', 'component:default/c11', 'component:default/c12', 'component:default/c8', 'component:default/c9']);
    const svg = await srv.fetch('/api/v1/graph?scope=c10&depth=2&format=svg');
    assert.equal(svg.status, 200);
    await svg.text();
  });

  test('bad server options stop conway serve with exit 2', () => {
    for (const [args, re] of [
      [['--datastore-types', ''], /--datastore-types: empty type/],
      [['--team-spread', '-1'], /--team-spread/],
      [['--architecture-severity', 'fan-in'], /--architecture-severity: "fan-in": expected rule=severity/],
    ]) {
      const r = conway(['serve', '--db', join(dir, 'x.db'), '--listen', '127.0.0.1:0', ...args]);
      assert.equal(r.status, 2, args.join(' '));
      assert.match(r.stderr, re);
    }
  });
});

// ---- the history of findings ---------------------------------------------------

const today = () => new Date().toISOString().slice(0, 10);

async function waitFor(what, fn, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the history of findings', () => {
  let srv;
  before(async () => { srv = await startServer({ imports: orgFiles }); });
  after(async () => { await srv.stop(); });

  test('today is snapshotted at start: counts per rule and severity, for the org and a team', async () => {
    const r = await waitFor('the snapshot', async () => {
      const h = await srv.json('/api/v1/insights/history');
      return h.body.days.length ? h : null;
    });
    assert.equal(r.status, 200);
    assert.equal(r.body.scope, 'org');
    assert.equal(r.body.to, today());
    const day = r.body.days.at(-1);
    assert.equal(day.day, today());
    // the demo without its history: no release train
    assert.deepEqual(day.byRule['dependency-cycle'], { error: 1 });
    assert.deepEqual(day.byRule['shared-datastore'], { error: 1 });
    assert.deepEqual(day.byRule['no-accountable'], { error: 8 });
    assert.equal(day.error, 1 + 1 + 8 + 1); /* cycle, shared db, no-accountable, owner-missing */
    assert.equal(day.total, day.error + day.warning);
    const own = await srv.json('/api/v1/insights/ownership');
    const arch = await srv.json('/api/v1/insights/architecture');
    assert.equal(day.total, own.body.summary.total + arch.body.summary.error + arch.body.summary.warning);
    const t = await srv.json('/api/v1/insights/history?scope=team-growth&rule=team-spread');
    assert.equal(t.body.scope, 'group:default/team-growth');
    assert.deepEqual(t.body.days.at(-1).byRule, { 'team-spread': { warning: 1 } });
    const none = await srv.json(`/api/v1/insights/history?scope=group:nobody&from=${today()}&to=${today()}`);
    assert.deepEqual(none.body.days, [{ day: today(), error: 0, warning: 0, silenced: 0, total: 0, byRule: {} }]);
    const past = await srv.json('/api/v1/insights/history?from=2020-01-01&to=2020-12-31');
    assert.deepEqual(past.body.days, []);
  });

  test('bad history parameters are 400 naming the parameter', async () => {
    assertProblem(await srv.json('/api/v1/insights/history?rule=cycles'), 400, /'rule'/);
    assertProblem(await srv.json('/api/v1/insights/history?from=2026-02-30'), 400, /'from': '2026-02-30' is not a date/);
    assertProblem(await srv.json('/api/v1/insights/history?to=yesterday'), 400, /'to'/);
    assertProblem(await srv.json('/api/v1/insights/history?from=2026-03-02&to=2026-03-01'), 400, /'to': must not be before 'from'/);
    assertProblem(await srv.json('/api/v1/insights/history?from=2000-01-01&to=2026-01-01'), 400, /longer than 3660 days/);
    assertProblem(await srv.json('/api/v1/insights/history?scope=group:'), 400, /'scope'/);
  });
});

describe('several instances on one database', () => {
  for (const backend of ['sqlite', 'postgres']) {
    test(`two servers on one ${backend} database store today's snapshot once`, async (t) => {
      if (backend === 'postgres' && !pgBaseUrl) { t.skip('CONWAY_TEST_PG_URL is not set'); return; }
      const dir = tempDir();
      const pg = backend === 'postgres' ? pgCreateDb('conway_hist') : null;
      const db = pg ? pg.url : join(dir, 'shared.db');
      const imp = conway(['import', '--db', db, '--quiet', ...orgFiles]);
      assert.ok(imp.status === 0 || imp.status === 1, imp.stderr);
      const servers = await Promise.all([0, 1].map(() => startServer({ db, args: ['--log-level', 'debug'] })));
      try {
        const logs = () => servers.map((s) => s.stderr).join('\n');
        await waitFor('both instances to check the day', () => (logs().match(/"findings snapshot (taken|present)"/g) || []).length >= 2);
        assert.equal((logs().match(/"findings snapshot taken"/g) || []).length, 1, logs());
        assert.equal((logs().match(/"findings snapshot present"/g) || []).length, 1);
        const a = await servers[0].json('/api/v1/insights/history');
        const b = await servers[1].json('/api/v1/insights/history');
        assert.deepEqual(a.body, b.body);
        assert.equal(a.body.days.length, 1);
        if (pg) {
          assert.equal(pgAdmin('SELECT count(*) FROM finding_snapshots', db), '1');
          const rows = Number(pgAdmin('SELECT count(*) FROM finding_counts', db));
          assert.equal(Number(pgAdmin("SELECT count(DISTINCT (kind, rule, severity, scope)) FROM finding_counts", db)), rows);
        }
      } finally {
        for (const s of servers) await s.stop({ keep: true });
        if (pg) pg.drop();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
