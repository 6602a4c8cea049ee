// initiatives.test.mjs — initiatives (issue #15) through the real server and
// CLI: a scorecard and initiatives imported, the catalog improved day after
// day with a daily snapshot taken for each past day (`conway snapshot
// --now`), then GET /api/v1/initiatives/{name} compared with a burn-up,
// a least-squares projection and per-team counts computed here,
// independently, from what the test did. Also: a day is snapshotted once,
// initiatives that name what does not exist say so under problems, bad
// initiatives are refused on import naming the field, 404 and 400.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, conway } from './helpers.mjs';

const D = 864e5;
const TODAY = Math.floor(Date.now() / D) * D;
const day = (ms) => new Date(ms).toISOString().slice(0, 10);
const iso = (ms) => new Date(ms).toISOString();
const HOSTILE = '<img src=x onerror=alert(1)>';

const group = (name) => ({ apiVersion: 'backstage.io/v1alpha1', kind: 'Group', metadata: { name }, spec: { type: 'team', children: [] } });
// Components c0..c7: production ones owned by team-a (c0-c3) and team-b
// (c4-c6), c7 experimental (out of the initiatives' scope).
const OWNER = ['team-a', 'team-a', 'team-a', 'team-a', 'team-b', 'team-b', 'team-b', 'team-b'];
const component = (i, runbook) => ({
  apiVersion: 'backstage.io/v1alpha1', kind: 'Component',
  metadata: { name: `c${i}`, ...(runbook ? { annotations: { 'conway.dev/runbook': `https://runbooks.example/c${i}` } } : {}) },
  spec: { type: 'service', lifecycle: i === 7 ? 'experimental' : 'production', owner: OWNER[i] },
});
const scorecard = {
  apiVersion: 'conway.dev/v1', kind: 'Scorecard', metadata: { name: 'prr' },
  spec: {
    filter: 'kind=component', levels: ['bronze', 'silver', 'gold'],
    checks: [
      { id: 'has-owner', name: 'Has an owner', level: 'bronze', rule: { fact: 'entity.spec.owner', operator: 'exists', value: true } },
      { id: 'runbook', name: 'Runbook link', level: 'silver', rule: { fact: 'links.runbook[0].url', operator: 'exists', value: true } },
      { id: 'never', name: 'Unreachable', level: 'gold', rule: { fact: 'entity.spec.nothing', operator: 'exists', value: true } },
    ],
  },
};
const initiative = (name, spec, title) => ({ apiVersion: 'conway.dev/v1', kind: 'Initiative', metadata: { name, ...(title ? { title } : {}) }, spec });
const START = TODAY - 9 * D;
const DEADLINE = TODAY + 20 * D;
const dates = { start: day(START), deadline: day(DEADLINE) };

// Which production components have a runbook on day k (0 = START): one more
// every other day, never c7; today all but c3 and c6.
const RUNBOOKS = (k) => [0, 4, 1, 5, 2].slice(0, Math.min(5, Math.floor(k / 2) + 1));
const TODAY_RUNBOOKS = [0, 1, 2, 4, 5];

// progress {done, total, share}; the share as JSON carries 12 digits
function assertProgress(p, done, total) {
  assert.equal(p.done, done);
  assert.equal(p.total, total);
  assert.ok(Math.abs(p.share - (total ? done / total : 0)) < 1e-9, `share ${p.share}`);
}

// The same least squares, written from the textbook formula.
function project(points, startDay, deadlineDay, todayDay) {
  const used = points.filter((p) => p.total > 0 && p.day >= startDay && p.day <= todayDay);
  const n = used.length;
  const xs = used.map((p) => p.day - startDay), ys = used.map((p) => p.done / p.total);
  const sx = xs.reduce((a, b) => a + b, 0), sy = ys.reduce((a, b) => a + b, 0);
  const sxy = xs.reduce((a, x, i) => a + x * ys[i], 0), sxx = xs.reduce((a, x) => a + x * x, 0);
  const slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  const last = points[points.length - 1];
  const now = last.done / last.total;
  const projected = Math.max(0, Math.min(1, now + slope * (deadlineDay - todayDay)));
  return { slope, projected, n, now };
}

describe('initiatives', () => {
  let srv, admin;
  const put = async (docs) => {
    const r = await srv.json('/api/v1/import', { method: 'POST', token: admin, headers: { 'content-type': 'application/json' }, body: JSON.stringify(docs) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };
  const snapshot = (ms) => {
    const r = conway(['snapshot', '--db', srv.db, '--now', iso(ms + 12 * 3600e3)]);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };

  before(async () => {
    srv = await startServer();
    admin = srv.token('admin');
    await put([group('team-a'), group('team-b'), scorecard,
      initiative('prr-silver', { scorecard: 'prr', targetLevel: 'silver', filter: 'spec.lifecycle=production', owner: 'team-a', ...dates }, `Silver ${HOSTILE}`),
      initiative('runbooks', { scorecard: 'scorecard:default/prr', checks: ['runbook'], filter: ['spec.lifecycle=production'], ...dates }),
      initiative('ghost', { scorecard: 'nothing', targetLevel: 'platinum', ...dates }),
      initiative('no-level', { scorecard: 'prr', targetLevel: 'platinum', checks: undefined, ...dates }),
    ]);
    // nine past days: the catalog of that day, then its snapshot
    for (let k = 0; k < 9; k++) {
      const rb = RUNBOOKS(k);
      await put([0, 1, 2, 3, 4, 5, 6, 7].map((i) => component(i, rb.includes(i))));
      const out = snapshot(START + k * D);
      assert.match(out, new RegExp(`^${day(START + k * D)} scorecards: 1 stored \\(8 entity rows\\)$`, 'm'), out);
    }
    await put([0, 1, 2, 3, 4, 5, 6, 7].map((i) => component(i, TODAY_RUNBOOKS.includes(i))));
  });
  after(async () => { await srv.stop(); });

  test('a day is snapshotted once, whoever asks', () => {
    const again = snapshot(START + 3 * D);
    assert.match(again, /scorecards: 0 stored \(0 entity rows\)/);
    assert.match(again, /findings: stored before/);
  });

  test('conway snapshot refuses what it cannot use', () => {
    let r = conway(['snapshot', '--db', srv.db, '--now', 'yesterday']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^conway snapshot: --now: 'yesterday' is not an RFC 3339 date-time/);
    r = conway(['snapshot', '--db', srv.db, '--colour']);
    assert.equal(r.status, 2);
    r = conway(['snapshot', '--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^usage: conway snapshot \[--db URL\] \[--now TIME\]/);
  });

  test('progress, burn-up, pace and remaining teams equal an independent computation', async () => {
    const r = await srv.json('/api/v1/initiatives/prr-silver');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const it = r.body;
    assert.equal(it.entityRef, 'initiative:default/prr-silver');
    assert.equal(it.title, `Silver ${HOSTILE}`);
    assert.equal(it.scorecard, 'scorecard:default/prr');
    assert.deepEqual(it.target, { level: 'silver' });
    assert.equal(it.owner, 'group:default/team-a');
    assert.deepEqual(it.filter, ['spec.lifecycle=production']);
    assert.deepEqual(it.problems, []);
    // today: 5 of the 7 production components have a runbook
    assertProgress(it.progress, 5, 7);
    const want = [];
    for (let k = 0; k < 9; k++) want.push({ day: day(START + k * D), done: RUNBOOKS(k).length, total: 7 });
    want.push({ day: day(TODAY), done: 5, total: 7 });
    assert.deepEqual(it.burnup, want);
    const pr = project(want.map((p) => ({ ...p, day: Date.parse(p.day) / D })), START / D, DEADLINE / D, TODAY / D);
    assert.equal(it.pace.pointsUsed, 10);
    assert.ok(Math.abs(it.pace.sharePerDay - pr.slope) < 1e-9, `${it.pace.sharePerDay} vs ${pr.slope}`);
    assert.ok(Math.abs(it.pace.projectedShare - pr.projected) < 1e-9);
    assert.equal(it.pace.daysLeft, 20);
    assert.ok(Math.abs(it.pace.requiredSharePerDay - (1 - 5 / 7) / 20) < 1e-12);
    assert.equal(it.pace.verdict, pr.projected >= 1 - 1e-9 ? 'on-pace' : 'behind');
    assert.equal(it.pace.onPace, it.pace.verdict === 'on-pace');
    assert.match(it.pace.reason, /^71\.4% at the target; at \+[0-9.]+ points a day \(fit over 10 daily snapshots\) the projection reaches [0-9.]+% by the deadline in 20 days/);
    // remaining: c3 (team-a) and c6 (team-b), one each; c7 is out of scope
    assert.deepEqual(it.teams, [
      { team: 'group:default/team-a', remaining: 1, total: 4 },
      { team: 'group:default/team-b', remaining: 1, total: 3 },
    ]);
    assert.deepEqual(it.remaining, [
      { entityRef: 'component:default/c3', owner: 'group:default/team-a', level: 'bronze' },
      { entityRef: 'component:default/c6', owner: 'group:default/team-b', level: 'bronze' },
    ]);
    assert.equal(it.remainingTotal, 2);
  });

  test('a list of checks as the target, and what does not exist under problems', async () => {
    const r = await srv.json('/api/v1/initiatives/runbooks');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.target, { checks: ['runbook'] });
    assertProgress(r.body.progress, 5, 7);
    assert.deepEqual(r.body.burnup.map((p) => p.done), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    const ghost = await srv.json('/api/v1/initiatives/ghost');
    assert.equal(ghost.status, 200);
    assert.deepEqual(ghost.body.problems, ['spec.scorecard: nothing is not a scorecard of the catalog']);
    assert.equal(ghost.body.pace.verdict, 'unknown');
    const lvl = await srv.json('/api/v1/initiatives/no-level');
    assert.deepEqual(lvl.body.problems, ["spec.targetLevel: the scorecard has no level 'platinum'"]);
    assertProgress(lvl.body.progress, 0, 8); // no filter: the scorecard's scope, c7 too
    assert.equal(lvl.body.pace.verdict, 'behind');
  });

  test('the list holds every initiative without the long parts', async () => {
    const r = await srv.json('/api/v1/initiatives');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.items.map((i) => i.entityRef), ['initiative:default/ghost', 'initiative:default/no-level', 'initiative:default/prr-silver', 'initiative:default/runbooks']);
    const one = r.body.items.find((i) => i.name === 'prr-silver');
    assert.equal(one.burnup, undefined);
    assert.equal(one.teams, undefined);
    const full = await srv.json('/api/v1/initiatives/prr-silver');
    assert.deepEqual(one.pace, full.body.pace);
    assert.deepEqual(one.progress, full.body.progress);
  });

  test('as of another time, unknown names and bad parameters', async () => {
    // before the start: not started
    const early = await srv.json(`/api/v1/initiatives/prr-silver?now=${iso(START - 2 * D)}`);
    assert.equal(early.status, 200);
    assert.equal(early.body.pace.verdict, 'not-started');
    const late = await srv.json(`/api/v1/initiatives/prr-silver?now=${iso(DEADLINE + 3 * D)}`);
    assert.equal(late.body.pace.verdict, 'missed');
    assert.match(late.body.pace.reason, /^the deadline passed 3 days ago with 71\.4% \(5 of 7\) at the target$/);
    let r = await srv.json('/api/v1/initiatives/nobody');
    assert.equal(r.status, 404);
    assert.match(r.body.detail, /initiative default\/nobody does not exist/);
    r = await srv.json('/api/v1/initiatives/prr-silver?namespace=other');
    assert.equal(r.status, 404);
    r = await srv.json('/api/v1/initiatives/prr-silver?namespace=-bad-');
    assert.equal(r.status, 400);
    assert.match(r.body.detail, /'namespace'/);
    r = await srv.json('/api/v1/initiatives/prr-silver?now=yesterday');
    assert.equal(r.status, 400);
    assert.match(r.body.detail, /'now'/);
    r = await srv.json('/api/v1/initiatives/prr-silver?color=red');
    assert.equal(r.status, 400);
  });

  test('a bad initiative is refused on import, naming the field', async () => {
    const r = await srv.json('/api/v1/import', {
      method: 'POST', token: admin, headers: { 'content-type': 'application/json' },
      body: JSON.stringify([initiative('bad', { scorecard: 'group:default/team-a', checks: ['a', 'a'], filter: 'kind=', start: day(TODAY), deadline: day(TODAY - D) })]),
    });
    assert.equal(r.status, 422, JSON.stringify(r.body));
    const detail = r.body.errors[0].detail;
    for (const want of ['spec.scorecard: must name a Scorecard, not a Group', 'spec.checks[1]: names the same check as spec.checks[0]', 'spec.filter: ', `spec.deadline: must be after spec.start (${day(TODAY)})`]) {
      assert.ok(detail.includes(want), `${want} in ${detail}`);
    }
  });
});
