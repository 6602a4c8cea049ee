// heartbeats.test.mjs — the ping API used exactly as healthchecks' docs use
// it (curl -fsS -m 10 --retry 5 -o /dev/null URL; /start then the end with
// ?rid=; exit codes; bodies), its answers for wrong URLs, the slug form with
// a team key, the management API (key shown once, pause/resume, problem+json
// naming the field), and the scheduler: a backup that stops pinging goes
// down by itself once its period and grace have passed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startServer, conway } from './helpers.mjs';

let srv, editor;

const group = (name) => ({
  apiVersion: 'backstage.io/v1alpha1', kind: 'Group', metadata: { name },
  spec: { type: 'team', children: [] },
});
const heartbeat = (name, spec) => ({
  apiVersion: 'conway.dev/v1', kind: 'Heartbeat', metadata: { name },
  spec: { owner: 'team-a', purpose: 'backup', target: 'resource:default/orders-db', ...spec },
});

async function put(entity, token = editor) {
  const { kind, metadata: { name } } = entity;
  return srv.json(`/api/v1/entities/${kind}/default/${name}`, {
    method: 'PUT', token, headers: { 'content-type': 'application/json' },
    body: JSON.stringify(entity),
  });
}

async function newKey(name) {
  const r = await srv.json(`/api/v1/heartbeats/default/${name}/ping-key`, { method: 'POST', token: editor });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.pingKey;
}

// curl exactly as healthchecks' documentation shows it; returns stdout.
function curl(args, input) {
  return execFileSync('curl', ['-fsS', '-m', '10', '--retry', '5', ...args], { encoding: 'utf8', input });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  srv = await startServer({ args: ['--heartbeat-min-seconds', '1'] });
  editor = srv.token('editor');
  const extra = [
    group('team-dba'),
    { apiVersion: 'backstage.io/v1alpha1', kind: 'System', metadata: { name: 'payments' }, spec: { owner: 'team-a' } },
    { apiVersion: 'backstage.io/v1alpha1', kind: 'Resource', metadata: { name: 'orders-db' },
      spec: { type: 'database', owner: 'team-a', system: 'payments', lifecycle: 'production' } },
    { apiVersion: 'backstage.io/v1alpha1', kind: 'Resource', metadata: { name: 'ledger-db' },
      spec: { type: 'database', owner: 'team-b', lifecycle: 'production' } },
    { apiVersion: 'conway.dev/v1', kind: 'Responsibilities', metadata: { name: 'payments' },
      spec: { target: 'system:default/payments', activities: { 'data-durability': { responsible: ['team-a'], accountable: 'group:default/team-dba' } } } },
  ];
  for (const e of extra) {
    const r = await put(e);
    assert.ok(r.status === 201 || r.status === 200, JSON.stringify(r.body));
  }
  for (const e of [group('team-a'), group('team-b'),
    heartbeat('orders-db-backup', { period: '1d', grace: '1h' }),
    heartbeat('nightly', { cron: '0 3 * * *', tz: 'Europe/Berlin', grace: '30m' })]) {
    const r = await put(e);
    assert.ok(r.status === 201 || r.status === 200, JSON.stringify(r.body));
  }
});
after(async () => { await srv.stop(); });

test('a ping as healthchecks documents it answers OK and makes the heartbeat up', async () => {
  const key = await newKey('orders-db-backup');
  assert.match(key, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  curl(['-o', '/dev/null', `${srv.url}/ping/${key}`]);
  assert.equal(curl([`${srv.url}/ping/${key}`]), 'OK');
  const hb = await srv.json('/api/v1/heartbeats/default/orders-db-backup');
  assert.equal(hb.status, 200);
  assert.equal(hb.body.status, 'up');
  assert.equal(hb.body.pings, 2);
  assert.equal(hb.body.hasPingKey, true);
  assert.equal(hb.body.lastPings[0].method, 'GET');
  assert.equal(hb.body.statusChanges[0].to, 'up');
  // HEAD works and is logged
  const head = await fetch(`${srv.url}/ping/${key}`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('ping-body-limit'), '102400');
  // the key is shown once: the heartbeat never shows it again
  assert.ok(!JSON.stringify(hb.body).includes(key));
});

test('start then end with the same rid measures the run; the body is kept', async () => {
  const key = await newKey('orders-db-backup');
  const rid = '3f3b6c1e-6a1b-4c3e-9b0f-2d8c5a7e9f10';
  curl(['-o', '/dev/null', `${srv.url}/ping/${key}/start?rid=${rid}`]);
  let hb = await srv.json('/api/v1/heartbeats/default/orders-db-backup');
  assert.equal(hb.body.status, 'started');
  await sleep(50);
  // the job's output as the body, as in `pg_dump ... 2>&1 | curl --data-binary @- URL`
  const out = 'pg_dump: dumping contents of table "orders"\n42 GB written\n';
  curl(['--data-binary', '@-', '-o', '/dev/null', `${srv.url}/ping/${key}?rid=${rid}`], out);
  hb = await srv.json('/api/v1/heartbeats/default/orders-db-backup?pings=2');
  assert.equal(hb.body.status, 'up');
  assert.ok(hb.body.lastDurationMs >= 50, `duration ${hb.body.lastDurationMs}`);
  const [end, start] = hb.body.lastPings;
  assert.equal(end.kind, 'success');
  assert.equal(end.body, out);
  assert.equal(end.method, 'POST');
  assert.equal(end.rid, rid);
  assert.equal(end.durationMs, hb.body.lastDurationMs);
  assert.equal(start.kind, 'start');
  // bodies beyond 100 KiB are kept up to 100 KiB, their size recorded
  const big = 'x'.repeat(150 * 1024);
  curl(['--data-binary', '@-', '-o', '/dev/null', `${srv.url}/ping/${key}/log`], big);
  hb = await srv.json('/api/v1/heartbeats/default/orders-db-backup?pings=1');
  assert.equal(hb.body.lastPings[0].kind, 'log');
  assert.equal(hb.body.lastPings[0].bodySize, 150 * 1024);
  assert.equal(hb.body.lastPings[0].body.length, 100 * 1024);
});

test('exit codes: 0 is success, 1-255 a failure (down at once), above 255 invalid', async () => {
  const key = await newKey('orders-db-backup');
  assert.equal(curl([`${srv.url}/ping/${key}/0`]), 'OK');
  assert.equal(curl([`${srv.url}/ping/${key}/3`]), 'OK');
  let hb = await srv.json('/api/v1/heartbeats/default/orders-db-backup?pings=1');
  assert.equal(hb.body.status, 'down');
  assert.equal(hb.body.lastPings[0].exitStatus, 3);
  assert.equal(hb.body.lastPings[0].kind, 'fail');
  assert.equal(hb.body.statusChanges[0].reason, 'fail');
  assert.equal(curl([`${srv.url}/ping/${key}/fail`]), 'OK');
  assert.equal(curl([`${srv.url}/ping/${key}`]), 'OK');
  hb = await srv.json('/api/v1/heartbeats/default/orders-db-backup');
  assert.equal(hb.body.status, 'up');
  let r = await fetch(`${srv.url}/ping/${key}/256`);
  assert.equal(r.status, 400);
  assert.equal(await r.text(), 'invalid url format');
  r = await fetch(`${srv.url}/ping/${key}?rid=not-a-uuid`);
  assert.equal(r.status, 400);
  assert.equal(await r.text(), 'invalid uuid format');
});

test('an unknown key is 404 "not found", never OK; no bearer token is needed', async () => {
  const r = await fetch(`${srv.url}/ping/9b2e9d36-0000-4000-8000-000000000000`);
  assert.equal(r.status, 404);
  assert.equal(await r.text(), 'not found');
  const t = await fetch(`${srv.url}/ping/9b2e9d36-0000-4000-8000-000000000000/start`);
  assert.equal(t.status, 404);
  // curl -f fails on it, so a job notices
  assert.throws(() => curl(['-o', '/dev/null', '--retry', '0', `${srv.url}/ping/not-a-key`]));
});

test('slug form: /ping/{team-key}/{slug} with the team key, shown once', async () => {
  const r = await srv.json('/api/v1/teams/default/team-a/ping-key', { method: 'POST', token: editor });
  assert.equal(r.status, 201);
  const k = r.body.pingKey;
  assert.match(k, /^[A-Za-z0-9_-]{22}$/);
  assert.equal(curl([`${srv.url}/ping/${k}/nightly/start`]), 'OK');
  assert.equal(curl([`${srv.url}/ping/${k}/nightly`]), 'OK');
  assert.equal(curl([`${srv.url}/ping/${k}/nightly/0`]), 'OK');
  const hb = await srv.json('/api/v1/heartbeats/default/nightly');
  assert.equal(hb.body.status, 'up');
  assert.equal(hb.body.pings, 3);
  assert.equal(hb.body.schedule.kind, 'cron');
  // cron: the next 03:00 in Berlin after the last ping
  assert.match(hb.body.nextExpected, /T0[12]:00:00\.000Z$/);
  let bad = await fetch(`${srv.url}/ping/${k}/Nightly`);
  assert.equal(bad.status, 400);
  assert.equal(await bad.text(), 'invalid url format');
  bad = await fetch(`${srv.url}/ping/${k}/no-such-slug`);
  assert.equal(bad.status, 404);
  // another team's key does not reach team-a's heartbeat
  const other = await srv.json('/api/v1/teams/default/team-b/ping-key', { method: 'POST', token: editor });
  bad = await fetch(`${srv.url}/ping/${other.body.pingKey}/nightly`);
  assert.equal(bad.status, 404);
});

test('management: list with filters, pause/resume, problems name the field', async () => {
  let r = await srv.json('/api/v1/heartbeats?owner=team-a');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.items.map((h) => h.entityRef).sort(),
    ['heartbeat:default/nightly', 'heartbeat:default/orders-db-backup']);
  r = await srv.json('/api/v1/heartbeats?status=sideways');
  assert.equal(r.status, 400);
  assert.match(r.body.detail, /status/);
  r = await srv.json('/api/v1/heartbeats/default/orders-db-backup/pause', { method: 'POST' });
  assert.equal(r.status, 401);
  r = await srv.json('/api/v1/heartbeats/default/orders-db-backup/pause', { method: 'POST', token: editor });
  assert.equal(r.status, 200);
  assert.equal(r.body.status, 'paused');
  r = await srv.json('/api/v1/heartbeats/default/orders-db-backup/resume', { method: 'POST', token: editor });
  assert.equal(r.body.status, 'new');
  r = await srv.json('/api/v1/heartbeats/default/orders-db-backup/resume', { method: 'POST', token: editor });
  assert.equal(r.status, 409);
  r = await srv.json('/api/v1/heartbeats/default/no-such/pause', { method: 'POST', token: editor });
  assert.equal(r.status, 404);
  // a team-scoped editor of another team may not take the key
  const other = srv.token('editor', { team: 'team-b' });
  r = await srv.json('/api/v1/heartbeats/default/orders-db-backup/ping-key', { method: 'POST', token: other });
  assert.equal(r.status, 403);
  // invalid specs answer problem+json naming each field
  r = await put(heartbeat('broken', { period: '10x', cron: 'nope', grace: '1h' }));
  assert.equal(r.status, 422);
  assert.match(r.body.detail, /spec\.period/);
  assert.match(r.body.detail, /spec\.cron/);
  r = await put(heartbeat('broken', { cron: '0 3 * *', tz: 'Mars/Base', grace: '1h', purpose: 'x' }));
  assert.equal(r.status, 422);
  for (const f of ['spec.cron', 'spec.tz', 'spec.purpose']) assert.match(r.body.detail, new RegExp(f.replace('.', '\\.')));
});

test('a backup that stops pinging goes down by itself after period + grace', async () => {
  const put1 = await put(heartbeat('fast-backup', { period: '2s', grace: '1s' }));
  assert.ok(put1.status === 201 || put1.status === 200);
  const key = await newKey('fast-backup');
  curl(['-o', '/dev/null', `${srv.url}/ping/${key}`]);
  let hb = await srv.json('/api/v1/heartbeats/default/fast-backup');
  assert.equal(hb.body.status, 'up');
  const downAt = Date.parse(hb.body.downAt);
  // no more pings: the scheduler records the transition once it is due
  let stored;
  for (let i = 0; i < 80; i++) {
    await sleep(100);
    hb = await srv.json('/api/v1/heartbeats/default/fast-backup');
    stored = hb.body.storedStatus;
    if (stored === 'down') break;
  }
  assert.equal(stored, 'down');
  assert.ok(Date.now() >= downAt);
  const change = hb.body.statusChanges[0];
  assert.equal(change.to, 'down');
  assert.equal(change.reason, 'timeout');
  assert.equal(Date.parse(change.time), downAt);
  // the finding: against the owner and the data-durability accountable
  const f = await srv.json('/api/v1/insights/ownership?rule=heartbeat-down');
  assert.equal(f.status, 200);
  const mine = f.body.findings.find((x) => x.entityRef === 'heartbeat:default/fast-backup');
  assert.ok(mine, JSON.stringify(f.body.findings));
  assert.equal(mine.severity, 'error');
  assert.equal(mine.owner, 'group:default/team-a');
  assert.deepEqual(mine.teams, ['group:default/team-dba']);
  const dba = await srv.json('/api/v1/insights/ownership?team=team-dba');
  assert.ok(dba.body.findings.some((x) => x.rule === 'heartbeat-down'));
  // a production database without any backup heartbeat, and one with a
  // backup but no restore test: untested-backup
  const u = await srv.json('/api/v1/insights/ownership?rule=untested-backup');
  const byRef = Object.fromEntries(u.body.findings.map((x) => [x.entityRef, x.detail]));
  assert.match(byRef['resource:default/ledger-db'], /no backup heartbeat/);
  assert.match(byRef['resource:default/orders-db'], /no restore test succeeded in the last 30 days/);
  {
    const down = await srv.json('/api/v1/heartbeats?status=down');
    assert.ok(down.body.items.some((h) => h.entityRef === 'heartbeat:default/fast-backup'));

  }
});

test('the untested-backup window: --restore-test-days, CONWAY_RESTORE_TEST_DAYS, refused values', async () => {
  const bad = conway(['serve', '--db', srv.db, '--restore-test-days', '0']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /restore-test-days/);
  // a second server on the same database, the window from the environment
  const other = await startServer({ db: srv.db, env: { CONWAY_RESTORE_TEST_DAYS: '7' } });
  try {
    const u = await other.json('/api/v1/insights/ownership?rule=untested-backup');
    const byRef = Object.fromEntries(u.body.findings.map((x) => [x.entityRef, x.detail]));
    assert.match(byRef['resource:default/orders-db'], /no restore test succeeded in the last 7 days/);
  } finally {
    await other.stop();
  }
  const flag = await startServer({ db: srv.db, args: ['--restore-test-days', '90'] });
  try {
    const u = await flag.json('/api/v1/insights/ownership?rule=untested-backup');
    const byRef = Object.fromEntries(u.body.findings.map((x) => [x.entityRef, x.detail]));
    assert.match(byRef['resource:default/orders-db'], /in the last 90 days/);
  } finally {
    await flag.stop();
  }
});
