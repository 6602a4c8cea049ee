// inc_notify.test.mjs — incident and action item notifications end to end
// (issue 14): an Alertmanager notification posted to the webhook opens an
// incident on a Component of team-shop, and team-shop's spec.notify URL (a
// local receiver, a Node http server) gets one signed incident.opened, then
// one incident.resolved when the alert resolves; an incident that started
// days ago (imported history) notifies nobody; a Postmortem's action item
// whose due date has passed notifies its owner's team once, one due later
// or done does not. Every signature is checked here (HMAC-SHA256 of
// "t.body", t within 5 minutes); the deliveries are in the admin's list.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from './helpers.mjs';

const SECRET = 'whsec_' + crypto.randomBytes(16).toString('hex');
const H = 3600 * 1000;
const iso = (ms) => new Date(ms).toISOString();
let srv, admin, ingest, receiver, base;
const got = [];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function verify(header, body) {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header || '');
  if (!m) return false;
  if (Math.abs(Date.now() / 1000 - Number(m[1])) > 300) return false;
  const want = crypto.createHmac('sha256', SECRET).update(`${m[1]}.${body}`).digest();
  return crypto.timingSafeEqual(want, Buffer.from(m[2], 'hex'));
}

const post = (p, body, token) => srv.json(p, {
  method: 'POST', token, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
});
const entity = (kind, name, spec, apiVersion = 'backstage.io/v1alpha1') => ({ apiVersion, kind, metadata: { name }, spec });

// An Alertmanager webhook notification of group `group` about service svc.
const notification = (group, status, startsAt, endsAt) => ({
  receiver: 'conway', status, version: '4', groupKey: `{}:{alertname="${group}"}`, truncatedAlerts: 0,
  groupLabels: { alertname: group }, commonLabels: { alertname: group, service: 'checkout', severity: 'critical' },
  commonAnnotations: {}, externalURL: 'http://alertmanager.example:9093',
  alerts: [{
    status, labels: { alertname: group, service: 'checkout', severity: 'critical' },
    annotations: { summary: `${group} firing` }, startsAt: iso(startsAt),
    endsAt: endsAt ? iso(endsAt) : '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus.example/graph', fingerprint: `${group}-fp`,
  }],
});

// The payloads the receiver got of type, after waiting until it has n (or 10 s).
async function payloads(pred, n) {
  let mine = [];
  for (let i = 0; i < 100; i++) {
    mine = got.filter((g) => pred(JSON.parse(g.body)));
    if (mine.length >= n) break;
    await sleep(100);
  }
  return mine;
}

before(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      got.push({ path: req.url, headers: req.headers, body });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${receiver.address().port}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conway-inc-notify-'));
  const secretFile = path.join(dir, 'secret');
  fs.writeFileSync(secretFile, SECRET + '\n');
  srv = await startServer({ args: ['--notify-allow', `${base}/`, '--notify-secret-file', secretFile] });
  admin = srv.token('admin');
  ingest = srv.token('ingest', { name: 'alertmanager' });
  const imp = await post('/api/v1/import', [
    entity('Group', 'team-shop', { type: 'team', children: [], notify: [`${base}/shop`] }),
    entity('Group', 'team-dba', { type: 'team', children: [], notify: [`${base}/dba`] }),
    entity('Group', 'team-quiet', { type: 'team', children: [] }),
    entity('Component', 'checkout', { type: 'service', lifecycle: 'production', owner: 'team-shop' }),
  ], admin);
  assert.equal(imp.status, 200, JSON.stringify(imp.body));
});
after(async () => {
  await srv?.stop();
  receiver?.close();
});

test('an incident opened and resolved through the Alertmanager webhook notifies the owning team once each, signed', async () => {
  const t0 = Date.now() - 60000;
  let r = await post('/api/v1/hooks/alertmanager', notification('CheckoutErrors', 'firing', t0), ingest);
  assert.ok(r.status < 300, JSON.stringify(r.body));
  const opened = await payloads((p) => p.type === 'incident.opened' && p.incident.ref, 1);
  assert.equal(opened.length, 1, JSON.stringify(got.map((g) => g.body)));
  const [o] = opened;
  assert.equal(o.path, '/shop');
  assert.equal(o.headers['content-type'], 'application/json');
  assert.ok(verify(o.headers['x-conway-signature'], o.body), o.headers['x-conway-signature']);
  assert.ok(!verify(o.headers['x-conway-signature'], o.body.replace('opened', 'closed')));
  const p = JSON.parse(o.body);
  assert.equal(p.incident.component, 'component:default/checkout');
  assert.equal(p.incident.owner, 'group:default/team-shop');
  assert.equal(p.incident.severity, 'critical');
  assert.equal(p.incident.state, 'triggered');
  assert.equal(p.incident.startedAt, iso(t0));
  assert.match(p.text, /^Incident .* OPENED \(critical\).*component:default\/checkout, owned by group:default\/team-shop/);
  const inc = await srv.json(`/api/v1/incidents/${p.incident.id}`, { token: admin });
  assert.equal(inc.status, 200, JSON.stringify(inc.body));

  // the same notification again (Alertmanager repeats): no second message
  r = await post('/api/v1/hooks/alertmanager', notification('CheckoutErrors', 'firing', t0), ingest);
  assert.ok(r.status < 300, JSON.stringify(r.body));
  r = await post('/api/v1/hooks/alertmanager', notification('CheckoutErrors', 'resolved', t0, t0 + 30000), ingest);
  assert.ok(r.status < 300, JSON.stringify(r.body));
  const resolved = await payloads((q) => q.type === 'incident.resolved', 1);
  assert.equal(resolved.length, 1);
  assert.ok(verify(resolved[0].headers['x-conway-signature'], resolved[0].body));
  const q = JSON.parse(resolved[0].body);
  assert.equal(q.incident.id, p.incident.id);
  assert.equal(q.incident.resolvedAt, iso(t0 + 30000));
  assert.match(q.text, /RESOLVED/);
  await sleep(2500); // two more notifier rounds
  assert.equal(got.filter((g) => JSON.parse(g.body).type === 'incident.opened').length, 1);
  assert.equal(got.filter((g) => JSON.parse(g.body).type === 'incident.resolved').length, 1);

  // history: an incident that started three days ago is recorded, not announced
  r = await post('/api/v1/hooks/alertmanager', notification('OldNews', 'firing', Date.now() - 72 * H), ingest);
  assert.ok(r.status < 300, JSON.stringify(r.body));
  await sleep(2500);
  assert.ok(!got.some((g) => g.body.includes('OldNews')), 'old incident announced');

  // the deliveries are in the admin's list, under the incident
  const dl = await srv.json('/api/v1/heartbeats/deliveries?state=delivered', { token: admin });
  assert.equal(dl.status, 200, JSON.stringify(dl.body));
  const keys = dl.body.items.map((x) => x.heartbeat);
  assert.ok(keys.includes(`incident/${p.incident.id}/opened`), JSON.stringify(keys));
  assert.ok(keys.includes(`incident/${p.incident.id}/resolved`), JSON.stringify(keys));
});

test('an action item past its due date notifies its owner once; one due later or done does not', async () => {
  const day = (ms) => iso(ms).slice(0, 10);
  const pm = entity('Postmortem', 'checkout-outage', {
    owner: 'group:default/team-quiet', incidents: ['INC-1'], summary: 'checkout was down',
    actionItems: [
      { id: 'AI-1', title: 'Test backup restores', owner: 'group:default/team-dba', due: day(Date.now() - 3 * 24 * H), status: 'open' },
      { id: 'AI-2', title: 'Add a canary', owner: 'team-dba', due: day(Date.now() + 30 * 24 * H), status: 'open' },
      { id: 'AI-3', title: 'Fix the alert', owner: 'team-dba', due: day(Date.now() - 5 * 24 * H), status: 'done' },
    ],
  }, 'conway.dev/v1');
  const r = await post('/api/v1/import', [pm], admin);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const over = await payloads((p) => p.type === 'action-item.overdue', 1);
  assert.equal(over.length, 1, JSON.stringify(got.map((g) => g.body)));
  assert.equal(over[0].path, '/dba');
  assert.ok(verify(over[0].headers['x-conway-signature'], over[0].body));
  const p = JSON.parse(over[0].body);
  assert.deepEqual(p.actionItem, {
    postmortem: 'postmortem:default/checkout-outage', id: 'AI-1', title: 'Test backup restores',
    owner: 'group:default/team-dba', due: day(Date.now() - 3 * 24 * H), status: 'open',
  });
  assert.match(p.text, /Action item AI-1 of postmortem:default\/checkout-outage is OVERDUE/);
  // a catalog change rebuilds the index: still once
  const again = await post('/api/v1/import', [entity('Group', 'team-new', { type: 'team', children: [] })], admin);
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.equal((await srv.json('/api/v1/entities/Postmortem/default/checkout-outage', { token: admin })).status, 200);
  await sleep(2500);
  assert.equal(got.filter((g) => JSON.parse(g.body).type === 'action-item.overdue').length, 1);
});
