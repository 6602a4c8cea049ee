// hb_notify.test.mjs — heartbeat notifications end to end: a backup job
// that stops pinging becomes the finding heartbeat-down against the team
// accountable for data durability, and a signed webhook reaches a local
// receiver (a Node http server) subscribed through spec.notify of the owning
// and the accountable Group; the receiver answers the first delivery with a
// 500, so conway retries it after its backoff; every signature is checked
// here (HMAC-SHA256 of "t.body", t within 5 minutes). A child heartbeat
// whose dependsOn parent is down sends nothing. The delivery list is for
// admins only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startServer } from './helpers.mjs';

const SECRET = 'whsec_' + crypto.randomBytes(16).toString('hex');
let srv, editor, admin, receiver, base;
const got = [];          // every request the receiver saw
let failFirst = true;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function verify(header, body) {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header || '');
  if (!m) return false;
  if (Math.abs(Date.now() / 1000 - Number(m[1])) > 300) return false;
  const want = crypto.createHmac('sha256', SECRET).update(`${m[1]}.${body}`).digest();
  return crypto.timingSafeEqual(want, Buffer.from(m[2], 'hex'));
}

async function put(entity) {
  const { kind, metadata: { name, namespace = 'default' } } = entity;
  const r = await srv.json(`/api/v1/entities/${kind}/${namespace}/${name}`, {
    method: 'PUT', token: editor, headers: { 'content-type': 'application/json' },
    body: JSON.stringify(entity),
  });
  assert.ok(r.status === 201 || r.status === 200, JSON.stringify(r.body));
}

const group = (name, notify) => ({
  apiVersion: 'backstage.io/v1alpha1', kind: 'Group', metadata: { name },
  spec: { type: 'team', children: [], ...(notify ? { notify } : {}) },
});
const heartbeat = (name, spec) => ({
  apiVersion: 'conway.dev/v1', kind: 'Heartbeat', metadata: { name },
  spec: { owner: 'team-a', purpose: 'backup', target: 'resource:default/orders-db', ...spec },
});

async function ping(name) {
  const r = await srv.json(`/api/v1/heartbeats/default/${name}/ping-key`, { method: 'POST', token: editor });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  execFileSync('curl', ['-fsS', '-m', '10', '--retry', '5', '-o', '/dev/null', `${srv.url}/ping/${r.body.pingKey}`]);
}

before(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      got.push({ path: req.url, headers: req.headers, body, at: Date.now() });
      // the first delivery about the backup gets a 500
      if (failFirst && body.includes('"ref":"heartbeat:default/orders-db-backup"')) {
        failFirst = false;
        res.writeHead(500).end('try later');
      } else {
        res.writeHead(200).end('ok');
      }
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${receiver.address().port}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conway-notify-'));
  const secretFile = path.join(dir, 'secret');
  fs.writeFileSync(secretFile, SECRET + '\n');
  srv = await startServer({
    args: ['--heartbeat-min-seconds', '1', '--notify-allow', `${base}/`, '--notify-secret-file', secretFile],
  });
  editor = srv.token('editor');
  admin = srv.token('admin');
  for (const e of [
    group('team-a', [`${base}/team-a`]),
    group('team-dba', [`${base}/dba`]),
    group('team-sre', [`${base}/sre`]),
    { ...group('team-ledger', [`${base}/ledger`]), metadata: { name: 'team-ledger', namespace: 'finance' } },
    { apiVersion: 'backstage.io/v1alpha1', kind: 'System', metadata: { name: 'payments' }, spec: { owner: 'team-a' } },
    { apiVersion: 'backstage.io/v1alpha1', kind: 'Resource', metadata: { name: 'orders-db' },
      spec: { type: 'database', owner: 'team-a', system: 'payments', lifecycle: 'production' } },
    { apiVersion: 'conway.dev/v1', kind: 'Responsibilities', metadata: { name: 'payments' },
      spec: { target: 'system:default/payments', activities: { 'data-durability': { responsible: ['team-a'], accountable: 'group:default/team-dba' } } } },
    heartbeat('orders-db-backup', { period: '2s', grace: '1s' }),
    // accountable through two levels: Resource -> System -> Domain
    { apiVersion: 'backstage.io/v1alpha1', kind: 'Domain', metadata: { name: 'commerce' }, spec: { owner: 'team-a' } },
    { apiVersion: 'backstage.io/v1alpha1', kind: 'System', metadata: { name: 'shipping' }, spec: { owner: 'team-a', domain: 'commerce' } },
    { apiVersion: 'backstage.io/v1alpha1', kind: 'Resource', metadata: { name: 'shipments-db' },
      spec: { type: 'database', owner: 'team-a', system: 'shipping', lifecycle: 'production' } },
    { apiVersion: 'conway.dev/v1', kind: 'Responsibilities', metadata: { name: 'commerce' },
      spec: { target: 'domain:default/commerce', activities: { 'data-durability': { responsible: ['team-a'], accountable: 'group:default/team-sre' } } } },
    heartbeat('shipments-db-backup', { period: '2s', grace: '1s', target: 'resource:default/shipments-db' }),
    // a target in another namespace naming its System by bare name: the System of that namespace;
    // a bare accountable there is a Group of the Responsibilities' namespace (as the RACI API reads it)
    { apiVersion: 'backstage.io/v1alpha1', kind: 'System', metadata: { name: 'billing', namespace: 'finance' }, spec: { owner: 'group:default/team-a' } },
    { apiVersion: 'backstage.io/v1alpha1', kind: 'Resource', metadata: { name: 'ledger-db', namespace: 'finance' },
      spec: { type: 'database', owner: 'group:default/team-a', system: 'billing', lifecycle: 'production' } },
    { apiVersion: 'conway.dev/v1', kind: 'Responsibilities', metadata: { name: 'billing', namespace: 'finance' },
      spec: { target: 'system:finance/billing', activities: { 'data-durability': { responsible: ['group:default/team-a'], accountable: 'team-ledger' } } } },
    heartbeat('ledger-db-backup', { period: '2s', grace: '1s', target: 'resource:finance/ledger-db' }),
    heartbeat('db-host', { purpose: 'job', period: '2s', grace: '1s' }),
    heartbeat('orders-db-export', { period: '4s', grace: '1s', dependsOn: 'heartbeat:default/db-host' }),
  ]) await put(e);
});
after(async () => {
  await srv?.stop();
  receiver?.close();
});

test('a backup that stops pinging: heartbeat-down against the accountable, a signed webhook retried after a 500', async () => {
  await ping('orders-db-backup');
  await ping('shipments-db-backup');
  await ping('ledger-db-backup');
  await ping('db-host');
  await ping('orders-db-export');
  // no more pings: down after 3 s; the first delivery fails, the retry comes 10 s later
  let backup = [];
  for (let i = 0; i < 300; i++) {
    await sleep(100);
    backup = got.filter((g) => JSON.parse(g.body).heartbeat.ref === 'heartbeat:default/orders-db-backup');
    if (backup.length >= 3) break;
  }
  assert.equal(backup.length, 3, JSON.stringify(got.map((g) => [g.path, g.body.slice(0, 80)])));
  // one POST to the owner's URL, one to the accountable's; the one that got
  // the 500 came again with the same payload
  const paths = backup.map((g) => g.path).sort();
  assert.ok(paths.includes('/team-a') && paths.includes('/dba'), JSON.stringify(paths));
  const [first, , third] = backup;
  assert.equal(third.path, first.path);
  assert.equal(third.body, first.body);
  assert.ok(third.at - first.at >= 9000, `retried after ${third.at - first.at} ms`);
  for (const g of backup) {
    assert.equal(g.headers['content-type'], 'application/json');
    assert.ok(verify(g.headers['x-conway-signature'], g.body), g.headers['x-conway-signature']);
    assert.ok(!verify(g.headers['x-conway-signature'], g.body + ' '), 'a changed body must not verify');
    const p = JSON.parse(g.body);
    assert.equal(p.type, 'heartbeat.down');
    assert.equal(p.status, 'down');
    assert.equal(p.heartbeat.purpose, 'backup');
    assert.equal(p.heartbeat.target, 'resource:default/orders-db');
    assert.deepEqual(p.accountable, ['group:default/team-dba']);
    assert.match(p.text, /orders-db-backup \(backup\) is DOWN.*accountable for data durability: group:default\/team-dba/);
  }
  // the finding names the accountable too
  const f = await srv.json('/api/v1/insights/ownership?rule=heartbeat-down');
  const down = f.body.findings.find((x) => x.entityRef === 'heartbeat:default/orders-db-backup');
  assert.ok(down, JSON.stringify(f.body));
  assert.deepEqual(down.teams, ['group:default/team-dba']);
  // the accountable declared on the target's System's Domain hears of it too
  const shipments = got.filter((g) => JSON.parse(g.body).heartbeat.ref === 'heartbeat:default/shipments-db-backup');
  assert.deepEqual(shipments.map((g) => g.path).sort(), ['/sre', '/team-a'], JSON.stringify(shipments.map((g) => g.path)));
  for (const g of shipments) assert.deepEqual(JSON.parse(g.body).accountable, ['group:default/team-sre']);
  const ledger = got.filter((g) => JSON.parse(g.body).heartbeat.ref === 'heartbeat:default/ledger-db-backup');
  assert.deepEqual(ledger.map((g) => g.path).sort(), ['/ledger', '/team-a'], JSON.stringify(ledger.map((g) => g.path)));
  for (const g of ledger) assert.deepEqual(JSON.parse(g.body).accountable, ['group:finance/team-ledger']);
  const raci = await srv.json('/api/v1/raci/system/finance/billing');
  assert.equal(raci.status, 200, JSON.stringify(raci.body));
  assert.ok(JSON.stringify(raci.body).includes('"group:finance/team-ledger"'), JSON.stringify(raci.body));
  // db-host (a job owned by team-a) went down and was notified; the export
  // that depends on it went down while it was down: suppressed
  assert.ok(got.some((g) => JSON.parse(g.body).heartbeat.ref === 'heartbeat:default/db-host'));
  assert.ok(!got.some((g) => JSON.parse(g.body).heartbeat.ref === 'heartbeat:default/orders-db-export'));
  const hb = await srv.json('/api/v1/heartbeats/default/orders-db-export');
  assert.equal(hb.body.storedStatus, 'down');

  // the delivery list: admins only; the retried one shows its two attempts
  assert.equal((await srv.json('/api/v1/heartbeats/deliveries', { token: editor })).status, 403);
  const dl = await srv.json('/api/v1/heartbeats/deliveries?state=delivered', { token: admin });
  assert.equal(dl.status, 200, JSON.stringify(dl.body));
  const mine = dl.body.items.filter((x) => x.heartbeat === 'heartbeat:default/orders-db-backup');
  assert.equal(mine.length, 2);
  assert.deepEqual(mine.map((x) => x.attempts).sort(), [1, 2]);
  assert.equal(mine.find((x) => x.attempts === 2).lastStatus, 200);
  assert.equal((await srv.json('/api/v1/heartbeats/deliveries?state=dead', { token: admin })).body.items.length, 0);
  assert.equal((await srv.json('/api/v1/heartbeats/deliveries?state=nope', { token: admin })).status, 400);
});
