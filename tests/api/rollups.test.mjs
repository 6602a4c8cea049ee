// rollups.test.mjs — group scopes cover descendant groups (issue 18): a
// department with two teams (one named by spec.parent, one by the
// department's spec.children) and a sub-team below one of them; DORA,
// undeployed work, events, incidents and ownership findings of the
// department count its teams' components, descendants=false keeps the old
// meaning, and the team comparison lists the child groups side by side.
// Runs on PostgreSQL too (CONWAY_TEST_DB_BACKEND=postgres).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './helpers.mjs';

const H = 3600 * 1000;
const NOW = Date.now();
const iso = (ms) => new Date(ms).toISOString();
let seq = 0;
const ev = (kind, t, subject, content) => ({
  context: { specversion: '0.5.1', id: `r-${++seq}`, source: '/rollups', type: `dev.cdevents.${kind}.0.3.0`, timestamp: iso(t) },
  subject: { id: subject, content },
});
const deploy = (svc, t) => ev('service.deployed', t, svc, { environment: { id: 'production' }, artifactId: `pkg:oci/${svc}@sha256%3A${t}` });
const entity = (kind, name, spec = {}) => ({ apiVersion: 'backstage.io/v1alpha1', kind, metadata: { name }, spec });
const service = (name, owner) => entity('Component', name, { type: 'service', lifecycle: 'production', owner });

const catalog = [
  entity('Group', 'dept', { type: 'department', children: ['team-b'] }),
  entity('Group', 'team-a', { type: 'team', parent: 'dept', children: [] }),
  entity('Group', 'team-b', { type: 'team', children: [] }),
  entity('Group', 'squad-a1', { type: 'team', parent: 'team-a', children: [] }),
  entity('Group', 'other', { type: 'team', children: [] }),
  service('dept-svc', 'dept'), // the department's own component
  service('a-svc', 'team-a'),
  service('b-svc', 'team-b'),
  service('a1-svc', 'squad-a1'),
  service('o-svc', 'other'),
];
// deployments in the last 30 days: dept 1, team-a 2, team-b 3, squad-a1 4, other 5
const events = [];
[['dept-svc', 1], ['a-svc', 2], ['b-svc', 3], ['a1-svc', 4], ['o-svc', 5]].forEach(([svc, k]) => {
  for (let i = 0; i < k; i++) events.push(deploy(svc, NOW - (i + 1) * 24 * H));
});

let srv;
before(async () => {
  srv = await startServer();
  const admin = srv.token('admin');
  const imp = await srv.json('/api/v1/import', { method: 'POST', token: admin, headers: { 'content-type': 'application/json' }, body: JSON.stringify(catalog) });
  assert.equal(imp.status, 200, JSON.stringify(imp.body));
  const r = await srv.json('/api/v1/events', { method: 'POST', token: admin, headers: { 'content-type': 'application/x-ndjson' }, body: events.map((e) => JSON.stringify(e)).join('\n') });
  assert.equal(r.body.accepted, events.length, JSON.stringify(r.body));
});
after(() => srv?.stop());

const dora = async (scope, extra = '') => {
  const r = await srv.json(`/api/v1/insights/dora?scope=${encodeURIComponent(scope)}${extra}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.deployments;
};

describe('group scopes include descendant groups', () => {
  test('DORA of a department counts every team below it; descendants=false its own', async () => {
    assert.equal(await dora('group:default/dept'), 1 + 2 + 3 + 4);
    assert.equal(await dora('group:default/dept', '&descendants=false'), 1);
    assert.equal(await dora('group:default/team-a'), 2 + 4);
    assert.equal(await dora('group:default/team-a', '&descendants=true'), 2 + 4);
    assert.equal(await dora('group:default/team-b'), 3);
    assert.equal(await dora('group:default/squad-a1'), 4);
    assert.equal(await dora('org'), 15);
  });

  test('events and undeployed follow the same scope', async () => {
    const e = await srv.json('/api/v1/events?service=group:default/team-a&limit=100');
    assert.equal(e.status, 200, JSON.stringify(e.body));
    assert.equal(e.body.items.length, 6);
    const flat = await srv.json('/api/v1/events?service=group:default/team-a&descendants=false&limit=100');
    assert.equal(flat.body.items.length, 2);
    const u = await srv.json('/api/v1/insights/undeployed?scope=group:default/dept');
    assert.equal(u.status, 200, JSON.stringify(u.body));
  });

  test('descendants must be true or false', async () => {
    const r = await srv.json('/api/v1/insights/dora?scope=group:default/dept&descendants=maybe');
    assert.equal(r.status, 400);
    assert.match(r.headers.get('content-type'), /^application\/problem\+json/);
    assert.match(r.body.detail, /descendants/);
  });

  test('ownership findings of a team cover its descendant groups', async () => {
    const all = await srv.json('/api/v1/insights/ownership?team=squad-a1');
    assert.equal(all.status, 200, JSON.stringify(all.body));
    const mine = await srv.json('/api/v1/insights/ownership?team=team-a');
    const flat = await srv.json('/api/v1/insights/ownership?team=team-a&descendants=false');
    const refs = (r) => new Set(r.body.findings.map((f) => JSON.stringify(f)));
    for (const f of refs(all)) assert.ok(refs(mine).has(f), `team-a lacks squad-a1's finding ${f}`);
    for (const f of refs(flat)) assert.ok(refs(mine).has(f));
    assert.ok(refs(all).size > 0, 'squad-a1 has findings (no members)');
    assert.ok(refs(mine).size >= refs(flat).size + refs(all).size - [...refs(all)].filter((f) => refs(flat).has(f)).length);
  });
});

describe('team comparison', () => {
  test('lists the child groups side by side, each rolled up', async () => {
    const r = await srv.json('/api/v1/teams/default/dept/comparison');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.group.entityRef, 'group:default/dept');
    assert.equal(r.body.group.dora.deployments, 10);
    assert.equal(r.body.group.groups, 4);
    const rows = Object.fromEntries(r.body.items.map((i) => [i.entityRef, i]));
    assert.deepEqual(Object.keys(rows).sort(), ['group:default/team-a', 'group:default/team-b']);
    assert.equal(rows['group:default/team-a'].dora.deployments, 6);
    assert.equal(rows['group:default/team-a'].groups, 2);
    assert.equal(rows['group:default/team-b'].dora.deployments, 3);
    assert.equal(rows['group:default/team-b'].type, 'team');
    assert.equal(r.body.totalItems, 2);
    assert.equal(r.body.nextCursor, null);
    for (const row of r.body.items) {
      assert.equal(typeof row.dora.deploymentFrequencyPerDay, 'number');
      assert.equal(typeof row.findings, 'number');
    }
  });

  test('a team without children compares nothing; an unknown group is a 404', async () => {
    const r = await srv.json('/api/v1/teams/default/team-b/comparison');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.items, []);
    const nf = await srv.json('/api/v1/teams/default/nope/comparison');
    assert.equal(nf.status, 404);
    assert.match(nf.headers.get('content-type'), /^application\/problem\+json/);
    const bad = await srv.json('/api/v1/teams/default/dept/comparison?from=yesterday');
    assert.equal(bad.status, 400);
  });
});
