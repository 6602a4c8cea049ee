// scorecards.test.mjs — Scorecards (issue #15) against a real `conway serve`
// loaded with the demo organisation, its delivery history, its own
// Scorecard (demo/org/scorecards.yaml) and the three built-in ones
// (src/ui/scorecards/). A reference evaluator written here, independently of
// src/catalog/rule.c and scorecard.c, reads each entity's facts document
// (GET .../facts) and must agree with GET /api/v1/scorecards/{name}/results
// per entity, per check (state and deciding values) and per level, and on
// which entities are in scope. Also: roll-ups, pagination, the CI gate
// `conway check scorecard`, validation errors naming the field, and
// problem+json answers to bad parameters.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, conway, repoRoot } from './helpers.mjs';

const NOW = '2026-12-01T12:00:00Z';
const orgDir = join(repoRoot, 'demo', 'org');
const orgFiles = ['groups', 'users', 'domains-systems', 'components', 'apis', 'resources', 'responsibilities', 'scorecards']
  .map((f) => join(orgDir, `${f}.yaml`));
const builtinDir = join(repoRoot, 'src', 'ui', 'scorecards');
const builtins = readdirSync(builtinDir).filter((f) => f.endsWith('.json')).map((f) => join(builtinDir, f));

// ---- the reference evaluator ------------------------------------------------
// Written from docs/scorecards.md, not from the C code.

function factPath(path) {
  const segs = [];
  let i = 0;
  while (i < path.length) {
    if (path[i] === '.') { i++; continue; }
    if (path[i] === '[') {
      if (path[i + 1] === '"') {
        const end = path.indexOf('"]', i + 2);
        segs.push({ key: path.slice(i + 2, end) });
        i = end + 2;
      } else {
        const end = path.indexOf(']', i);
        segs.push({ index: Number(path.slice(i + 1, end)) });
        i = end + 1;
      }
      continue;
    }
    let j = i;
    while (j < path.length && path[j] !== '.' && path[j] !== '[') j++;
    const key = path.slice(i, j);
    segs.push(/^\d{1,9}$/.test(key) ? { key, index: Number(key) } : { key });
    i = j;
  }
  return segs;
}

function lookup(doc, path) {
  let v = doc;
  for (const s of factPath(path)) {
    if (v === undefined || v === null) return undefined;
    if (Array.isArray(v)) {
      if (s.index === undefined) return undefined;
      v = v[s.index];
    } else if (typeof v === 'object' && s.key !== undefined) {
      v = Object.prototype.hasOwnProperty.call(v, s.key) ? v[s.key] : undefined;
    } else {
      return undefined;
    }
  }
  return v;
}

function same(a, b) {
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, k) => same(x, b[k]));
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a), kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => k in b && same(a[k], b[k]));
  }
  return a === b;
}

function evalCond(c, facts) {
  const f = lookup(facts, c.fact);
  const present = f !== undefined && f !== null;
  if (c.operator === 'exists') return present === c.value;
  if (!present) return false;
  switch (c.operator) {
    case 'equal': return same(f, c.value);
    case 'notEqual': return !same(f, c.value);
    case 'lessThan': return typeof f === 'number' && f < c.value;
    case 'greaterThan': return typeof f === 'number' && f > c.value;
    case 'lessThanInclusive': return typeof f === 'number' && f <= c.value;
    case 'greaterThanInclusive': return typeof f === 'number' && f >= c.value;
    case 'in': return c.value.some((x) => same(x, f));
    case 'notIn': return !c.value.some((x) => same(x, f));
    case 'contains':
      if (Array.isArray(f)) return f.some((x) => same(x, c.value));
      return typeof f === 'string' && typeof c.value === 'string' && f.includes(c.value);
    case 'matches': return typeof f === 'string' && new RegExp(c.value).test(f);
    default: throw new Error(`operator ${c.operator}`);
  }
}

function evalRule(r, facts) {
  if (r.all) return r.all.every((x) => evalRule(x, facts));
  if (r.any) return r.any.some((x) => evalRule(x, facts));
  if (r.not) return !evalRule(r.not, facts);
  return evalCond(r, facts);
}

function factsOf(r, out = {}) {
  for (const k of ['all', 'any']) if (r[k]) for (const x of r[k]) factsOf(x, out);
  if (r.not) factsOf(r.not, out);
  if (r.fact) out[r.fact] = true;
  return out;
}

function exemption(entity, id, now) {
  const text = entity.metadata?.annotations?.[`conway.dev/exempt-${id}`];
  if (text === undefined) return null;
  const m = /^(\d{4}-\d{2}-\d{2}):\s*(\S.*)$/s.exec(text);
  if (!m || Number.isNaN(Date.parse(`${m[1]}T00:00:00Z`))) return { state: 'invalid' };
  const endOfDay = Date.parse(`${m[1]}T00:00:00Z`) + 86400000;
  return { state: now < endOfDay ? 'active' : 'expired', until: m[1], reason: m[2].trim() };
}

function evaluate(card, facts, now) {
  const levels = card.spec.levels.map((l) => (typeof l === 'string' ? l : l.name));
  const checks = card.spec.checks.map((c) => {
    const passed = evalRule(c.rule, facts);
    const ex = exemption(facts.entity, c.id, now);
    const state = passed ? 'pass' : ex?.state === 'active' ? 'exempt' : 'fail';
    const values = {};
    for (const f of Object.keys(factsOf(c.rule))) {
      const v = lookup(facts, f);
      values[f] = v === undefined ? null : v;
    }
    return { id: c.id, level: c.level, state, values, exemption: ex };
  });
  // OpsLevel: the highest level whose checks and every lower level's pass
  let level = -1;
  for (let k = 0; k < levels.length; k++) {
    if (checks.some((c) => levels.indexOf(c.level) === k && c.state === 'fail')) break;
    level = k;
  }
  return { level, levelName: level >= 0 ? levels[level] : null, checks };
}

// Backstage filter, the subset Scorecards here use: key=value pairs, ANDed.
function inScope(card, entity) {
  const f = card.spec.filter;
  if (!f) return true;
  const clauses = Array.isArray(f) ? f : [f];
  return clauses.some((cl) => cl.split(',').every((cond) => {
    const [k, v] = cond.split('=').map((x) => x.trim().toLowerCase());
    const got = k === 'kind' ? entity.kind : lookup(entity, k);
    return typeof got === 'string' && got.toLowerCase() === v;
  }));
}

// ---- the tests --------------------------------------------------------------

describe('scorecards over the demo organisation', () => {
  let srv, admin, cards, entities;
  before(async () => {
    srv = await startServer({ imports: [...orgFiles, ...builtins] });
    admin = srv.token('admin', { name: 'admin' });
    const h = spawnSync(process.execPath, [join(repoRoot, 'demo', 'generate-history.mjs'), '--now', NOW],
      { encoding: 'utf8', maxBuffer: 256 << 20 });
    assert.equal(h.status, 0, h.stderr);
    const res = await srv.json('/api/v1/events', { method: 'POST', token: admin, headers: { 'content-type': 'application/x-ndjson' }, body: h.stdout });
    assert.ok(res.status === 200 || res.status === 202, JSON.stringify(res.body));
    entities = [];
    for (let cursor = null; ;) {
      const r = await srv.json(`/api/v1/entities?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.equal(r.status, 200);
      entities.push(...r.body.items);
      if (!r.body.nextCursor) break;
      cursor = r.body.nextCursor;
    }
    cards = entities.filter((e) => e.kind === 'Scorecard');
  });
  after(async () => { await srv?.stop(); });

  test('GET /api/v1/scorecards lists the four cards with summaries', async () => {
    const r = await srv.json(`/api/v1/scorecards?now=${NOW}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.items.map((c) => c.name).sort(),
      ['architecture-principles', 'dickerson-hierarchy', 'production-readiness', 'tunewave-service-basics']);
    for (const c of r.body.items) {
      assert.equal(c.summary.levels.length, c.levels.length);
      assert.ok(c.summary.entities > 0, c.name);
    }
    assert.equal(cards.length, 4);
  });

  const factsCache = new Map();
  async function facts(ref) {
    if (!factsCache.has(ref)) {
      const [, kind, ns, name] = /^([^:]+):([^/]+)\/(.+)$/.exec(ref);
      const r = await srv.json(`/api/v1/entities/${kind}/${ns}/${name}/facts?now=${NOW}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      factsCache.set(ref, r.body);
    }
    return factsCache.get(ref);
  }

  async function allResults(name, extra = '') {
    const items = [];
    let body;
    for (let cursor = null; ;) {
      const r = await srv.json(`/api/v1/scorecards/${name}/results?now=${NOW}&limit=7${extra}${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      body = r.body;
      items.push(...r.body.items);
      if (!r.body.nextCursor) break;
      cursor = r.body.nextCursor;
    }
    assert.equal(items.length, body.totalItems);
    return { items, body };
  }

  test('the reference evaluator agrees per entity, per check, per value and per level', async () => {
    const now = Date.parse(NOW);
    const seenLevels = new Map();
    for (const card of cards) {
      const { items } = await allResults(card.metadata.name);
      // scope: the same entities, in key order
      const want = entities.filter((e) => e.kind !== 'Scorecard' && inScope(card, e))
        .map((e) => `${e.kind.toLowerCase()}:${e.metadata.namespace}/${e.metadata.name}`).sort();
      assert.deepEqual(items.map((i) => i.entityRef).sort(), want, card.metadata.name);
      const levels = new Set();
      for (const row of items) {
        const f = await facts(row.entityRef);
        const ref = evaluate(card, f, now);
        const where = `${card.metadata.name} ${row.entityRef}`;
        assert.equal(row.levelIndex, ref.level, `${where}: level`);
        assert.equal(row.level, ref.levelName, `${where}: level name`);
        assert.equal(row.checks.length, ref.checks.length);
        for (let k = 0; k < ref.checks.length; k++) {
          const got = row.checks[k], exp = ref.checks[k];
          assert.equal(got.id, exp.id);
          assert.equal(got.state, exp.state, `${where} ${exp.id}: state`);
          assert.ok(same(got.values, exp.values), `${where} ${exp.id}: values ${JSON.stringify(got.values)} vs ${JSON.stringify(exp.values)}`);
          assert.equal(got.exemption?.state ?? null, exp.exemption?.state ?? null, `${where} ${exp.id}: exemption`);
        }
        assert.equal(row.passed + row.failed + row.exempt, ref.checks.length);
        levels.add(ref.level);
      }
      seenLevels.set(card.metadata.name, levels);
    }
    // the demo shows varied levels: at least three different levels per card
    for (const [name, levels] of seenLevels) assert.ok(levels.size >= 3, `${name}: ${[...levels]}`);
  });

  test('facts: DORA of an entity\'s own scope equals GET /api/v1/insights/dora of that scope', async () => {
    const from = new Date(Date.parse(NOW) - 30 * 86400000).toISOString();
    const scopes = ['component:default/playback-service', 'component:default/entitlement-service',
      'system:default/playback', 'group:default/team-playback', 'group:default/team-commerce'];
    let deployed = 0;
    for (const scope of scopes) {
      const f = await facts(scope);
      const r = await srv.json(`/api/v1/insights/dora?scope=${scope}&from=${from}&to=${NOW}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      for (const k of ['deployments', 'deploymentDays', 'changeFailureRate', 'failedDeployments', 'leadTimeSeconds', 'timeToRestoreSeconds', 'level']) {
        assert.deepEqual(f.dora[k], r.body[k], `${scope} ${k}`);
      }
      deployed += f.dora.deployments;
    }
    assert.ok(deployed > 0, 'the history deploys these');
    // undeployed work and findings come from the insights too
    const u = await srv.json(`/api/v1/insights/undeployed?scope=org&now=${NOW}&limit=1000`);
    for (const c of u.body.components) {
      const f = await facts(c.component.toLowerCase());
      assert.equal(f.undeployed.count, c.count, c.component);
    }
    const arch = await srv.json('/api/v1/insights/architecture');
    for (const fd of arch.body.findings) {
      if (!/^component:/.test(fd.entityRef)) continue;
      const f = await facts(fd.entityRef);
      assert.ok(f.findings.rules.includes(fd.rule), `${fd.entityRef} ${fd.rule}`);
    }
  });

  test('exemptions: active counts as passed, expired does not', async () => {
    const { items } = await allResults('tunewave-service-basics');
    const row = (n) => items.find((i) => i.entityRef === `component:default/${n}`);
    const check = (n) => row(n).checks.find((c) => c.id === 'tw-no-findings');
    const sub = await facts('component:default/subscription-service');
    const ref = await facts('component:default/referral-service');
    assert.ok(sub.findings.count > 0 && ref.findings.count > 0, 'both are named by findings');
    assert.equal(check('subscription-service').state, 'exempt');
    assert.deepEqual(check('subscription-service').exemption,
      { state: 'active', until: '2099-12-31', reason: 'the legacy-users-db split is planned with the platform team' });
    assert.equal(check('referral-service').state, 'fail');
    assert.equal(check('referral-service').exemption.state, 'expired');
  });

  test('roll-ups per team, system and domain match the rows', async () => {
    const { items, body } = await allResults('production-readiness');
    const card = cards.find((c) => c.metadata.name === 'production-readiness');
    const n = card.spec.levels.length;
    const summary = (rows) => ({
      entities: rows.length,
      none: rows.filter((r) => r.levelIndex < 0).length,
      counts: [...Array(n).keys()].map((k) => rows.filter((r) => r.levelIndex >= k).length),
      avg: rows.reduce((a, r) => a + r.levelIndex + 1, 0) / rows.length,
    });
    const s = summary(items);
    assert.equal(body.summary.entities, s.entities);
    assert.equal(body.summary.none, s.none);
    assert.deepEqual(body.summary.levels.map((l) => l.count), s.counts);
    assert.ok(Math.abs(body.summary.averageLevel - s.avg) < 1e-9);
    assert.deepEqual(body.summary.checks, card.spec.checks.map((c, k) => ({
      id: c.id, pass: items.filter((r) => r.checks[k].state === 'pass').length,
      fail: items.filter((r) => r.checks[k].state === 'fail').length,
      exempt: items.filter((r) => r.checks[k].state === 'exempt').length,
    })));
    for (const [kind, field] of [['teams', 'owner'], ['systems', 'system'], ['domains', 'domain']]) {
      const groups = new Map();
      for (const r of items) if (r[field]) groups.set(r[field], [...(groups.get(r[field]) || []), r]);
      assert.deepEqual(body.rollups[kind].map((g) => g.ref), [...groups.keys()].sort(), kind);
      for (const g of body.rollups[kind]) {
        const rows = groups.get(g.ref);
        const e = summary(rows);
        assert.equal(g.entities, e.entities);
        assert.deepEqual(g.levels.map((l) => l.count), e.counts);
        assert.ok(Math.abs(g.averageLevel - e.avg) < 1e-9);
        const worst = [...rows].sort((a, b) => a.levelIndex - b.levelIndex || (a.entityRef < b.entityRef ? -1 : 1))
          .slice(0, 5).map((r) => r.entityRef);
        assert.deepEqual(g.worst, worst);
      }
    }
  });

  test('scope= and level= narrow the items; the summary follows the scope', async () => {
    const { items } = await allResults('production-readiness');
    const { items: team, body } = await allResults('production-readiness', '&scope=group:default/team-playback');
    assert.deepEqual(team, items.filter((r) => r.owner === 'group:default/team-playback'));
    assert.equal(body.summary.entities, team.length);
    const { items: below } = await allResults('production-readiness', '&level=gold');
    assert.deepEqual(below, items.filter((r) => r.levelIndex < 2));
    assert.ok(below.length > 0 && below.length < items.length);
  });

  test('conway check scorecard is a CI gate', async () => {
    const { items } = await allResults('tunewave-service-basics');
    const run = (...a) => conway(['check', 'scorecard', 'tunewave-service-basics', '--db', srv.db, '--now', NOW, ...a]);
    const gold = run('--level', 'gold');
    assert.equal(gold.status, 1, gold.stderr);
    const lines = gold.stdout.trim().split('\n').map((l) => l.split('\t')[0]);
    assert.deepEqual(lines, items.filter((r) => r.levelIndex < 2).map((r) => r.entityRef));
    assert.match(gold.stderr, new RegExp(`^${lines.length} of ${items.length} entities below gold`, 'm'));
    // a team whose components all reach bronze passes
    const okTeam = items.find((r) => r.owner && items.filter((x) => x.owner === r.owner).every((x) => x.levelIndex >= 0)).owner;
    const pass = run('--level', 'bronze', '--scope', okTeam);
    assert.equal(pass.status, 0, pass.stdout + pass.stderr);
    assert.equal(pass.stdout, '');
    assert.equal(run('--level', 'platinum').status, 2);
    assert.equal(conway(['check', 'scorecard', 'nope', '--db', srv.db]).status, 2);
    const list = conway(['check', 'scorecard', '--builtin']);
    assert.deepEqual(list.stdout.trim().split('\n'), ['architecture-principles', 'dickerson-hierarchy', 'production-readiness']);
    const one = conway(['check', 'scorecard', '--builtin', 'production-readiness']);
    assert.equal(JSON.parse(one.stdout).kind, 'Scorecard');
  });

  test('bad input is a problem naming what is wrong', async () => {
    const problem = async (path, status, re) => {
      const r = await srv.json(path);
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.match(r.headers.get('content-type'), /^application\/problem\+json/);
      assert.match(r.body.detail, re);
    };
    await problem('/api/v1/scorecards/nope/results', 404, /no Scorecard named 'nope'/);
    await problem('/api/v1/scorecards/production-readiness/results?level=platinum', 400, /'level'/);
    await problem('/api/v1/scorecards/production-readiness/results?cursor=abc', 400, /'cursor'/);
    await problem('/api/v1/scorecards/production-readiness/results?limit=0', 400, /'limit'/);
    await problem('/api/v1/scorecards/production-readiness/results?scope=group:default/', 400, /'scope'/);
    await problem('/api/v1/scorecards/production-readiness/results?bogus=1', 400, /unknown query parameter/);
    await problem('/api/v1/entities/component/default/nope/facts', 404, /no entity/);
    // a Scorecard with a bad rule is refused on write, naming the field
    const card = {
      apiVersion: 'conway.dev/v1', kind: 'Scorecard', metadata: { name: 'broken' },
      spec: { levels: ['a'], checks: [{ id: 'x', level: 'a', rule: { all: [{ fact: 'a', operator: 'exists', value: true }, { fact: 'b', operator: 'bigger', value: 1 }] } }] },
    };
    const put = await srv.json('/api/v1/entities/scorecard/default/broken', {
      method: 'PUT', token: admin, headers: { 'content-type': 'application/json' }, body: JSON.stringify(card),
    });
    assert.equal(put.status, 422, JSON.stringify(put.body));
    assert.match(put.body.detail, /spec\.checks\[0\]\.rule\.all\[1\]\.operator/);
    card.spec.checks[0].rule = { fact: 'a', operator: 'matches', value: '(a+)+\\1' };
    const put2 = await srv.json('/api/v1/entities/scorecard/default/broken', {
      method: 'PUT', token: admin, headers: { 'content-type': 'application/json' }, body: JSON.stringify(card),
    });
    assert.equal(put2.status, 422);
    assert.match(put2.body.detail, /spec\.checks\[0\]\.rule\.value/);
  });
});
