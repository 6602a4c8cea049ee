// alertmanager.test.mjs — a real Prometheus Alertmanager (Debian's
// prometheus-alertmanager, scripts/deps.sh) on loopback, its webhook
// receiver pointed at a real `conway serve` with a bearer token of role
// ingest in http_config.authorization. Alerts are pushed and resolved with
// Alertmanager's own API (POST /api/v2/alerts); the test asserts that
// firing opens an incident at the alert's startsAt, resolving resolves it at
// its endsAt, firing again opens the group's next incident, and DORA's time
// to restore counts exactly what Alertmanager said.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, tempDir } from './helpers.mjs';

const AM_BIN = process.env.CONWAY_ALERTMANAGER || '/usr/bin/prometheus-alertmanager';

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Polls fn until it returns a truthy value (or fails after ms).
async function until(what, fn, ms = 30000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('a real Alertmanager', () => {
  let srv, am, amUrl, dir, amLog = '';
  const ALERT = { alertname: 'CheckoutErrors', service: 'checkout', severity: 'critical', env: 'production' };

  before(async () => {
    assert.ok(existsSync(AM_BIN), `${AM_BIN} is missing: run scripts/deps.sh (Debian package prometheus-alertmanager)`);
    srv = await startServer({ publicRead: true });
    const admin = srv.token('admin');
    const imp = await srv.json('/api/v1/import', {
      method: 'POST', token: admin, headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        { apiVersion: 'backstage.io/v1alpha1', kind: 'Group', metadata: { name: 'team-shop' }, spec: { type: 'team', children: [] } },
        { apiVersion: 'backstage.io/v1alpha1', kind: 'Component', metadata: { name: 'checkout' }, spec: { type: 'service', lifecycle: 'production', owner: 'team-shop' } },
      ]),
    });
    assert.equal(imp.status, 200, JSON.stringify(imp.body));
    const token = srv.token('ingest', { name: 'alertmanager' });
    dir = tempDir('conway-am-');
    const port = await freePort();
    amUrl = `http://127.0.0.1:${port}`;
    writeFileSync(join(dir, 'alertmanager.yml'), [
      'global:',
      '  resolve_timeout: 5m',
      'route:',
      '  receiver: conway',
      '  group_by: [alertname, service]',
      '  group_wait: 1s',
      '  group_interval: 1s',
      '  repeat_interval: 1h',
      'receivers:',
      '  - name: conway',
      '    webhook_configs:',
      `      - url: ${srv.url}/api/v1/hooks/alertmanager`,
      '        send_resolved: true',
      '        http_config:',
      '          authorization:',
      '            type: Bearer',
      `            credentials: ${token}`,
      '',
    ].join('\n'));
    am = spawn(AM_BIN, [
      `--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', '--log.level=debug',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    am.stdout.on('data', (c) => { amLog += c; });
    am.stderr.on('data', (c) => { amLog += c; });
    await until('Alertmanager to be ready', async () => {
      try { return (await fetch(`${amUrl}/-/ready`)).ok; } catch { return false; }
    }, 20000);
  });

  after(async () => {
    if (am && am.exitCode === null) {
      const exited = new Promise((r) => am.once('exit', r));
      am.kill('SIGTERM');
      await exited;
    }
    await srv?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const push = async (alerts) => {
    const r = await fetch(`${amUrl}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts) });
    assert.equal(r.status, 200, `${r.status} ${await r.text()}`);
  };
  const incidents = async () => (await srv.json('/api/v1/incidents?scope=checkout')).body.items;

  test('firing opens an incident, resolving resolves it, DORA restores it, firing again opens the next', async () => {
    // whole seconds: what Alertmanager keeps is what conway must show
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 10 * 60000;
    await push([{ labels: ALERT, annotations: { summary: 'checkout 5xx above 5%' }, startsAt: new Date(t0).toISOString(), generatorURL: 'http://prometheus.example/graph' }]);
    const open = await until('the incident to open', async () => (await incidents())[0], 30000).catch((e) => { throw new Error(`${e.message}\n${amLog}`); });
    assert.equal(open.state, 'triggered');
    assert.equal(Date.parse(open.startedAt), t0); // the alert's startsAt, not when it arrived
    assert.equal(open.component, 'component:default/checkout');
    assert.equal(open.owner, 'group:default/team-shop');
    assert.equal(open.severity, 'critical');
    assert.equal(open.title, 'checkout 5xx above 5%');
    assert.match(open.alertGroup, /alertname="CheckoutErrors"/);
    const page = await srv.json(`/api/v1/incidents/${open.id}`);
    assert.equal(page.body.alerts.length, 1);
    assert.equal(page.body.alerts[0].status, 'firing');
    assert.equal(page.body.alerts[0].labels.service, 'checkout');
    assert.match(page.body.alerts[0].fingerprint, /^[0-9a-f]{16}$/); // Alertmanager's own

    // resolved 5 minutes after it started: endsAt in the past resolves it
    await push([{ labels: ALERT, annotations: { summary: 'checkout 5xx above 5%' }, startsAt: new Date(t0).toISOString(), endsAt: new Date(t0 + 5 * 60000).toISOString() }]);
    const resolved = await until('the incident to resolve', async () => {
      const [i] = await incidents();
      return i?.state === 'resolved' && i;
    });
    assert.equal(resolved.id, open.id);
    assert.equal(Date.parse(resolved.resolvedAt), t0 + 5 * 60000);
    assert.equal(resolved.timeToRestoreSeconds, 300);
    const timeline = (await srv.json(`/api/v1/incidents/${open.id}`)).body.timeline;
    assert.deepEqual(timeline.map((e) => [e.kind, e.text]).filter(([k]) => k !== 'alert'), [
      ['event', 'incident.detected: checkout 5xx above 5%'], ['event', 'incident.resolved: checkout 5xx above 5%']]);
    assert.deepEqual(timeline.filter((e) => e.kind === 'alert').map((e) => e.text), [
      'CheckoutErrors: checkout 5xx above 5% firing', 'CheckoutErrors: checkout 5xx above 5% resolved']);

    // DORA counts Alertmanager's times
    const from = new Date(t0 - 3600000).toISOString(), to = new Date(t0 + 3600000).toISOString();
    const dora = (await srv.json(`/api/v1/insights/dora?scope=checkout&from=${from}&to=${to}`)).body;
    assert.equal(dora.timeToRestoreSeconds.count, 1);
    assert.equal(dora.timeToRestoreSeconds.p50, 300);
    assert.equal(dora.openIncidents, 0);
    assert.equal(dora.level.timeToRestore, 'elite');

    // the same alert fires again later: the group's second incident
    const t1 = Math.floor(Date.now() / 1000) * 1000 - 60000;
    await push([{ labels: ALERT, annotations: { summary: 'checkout 5xx above 5%' }, startsAt: new Date(t1).toISOString() }]);
    const next = await until('the next incident', async () => {
      const list = await incidents();
      return list.length === 2 && list[0];
    });
    assert.notEqual(next.id, open.id);
    assert.equal(next.state, 'triggered');
    assert.equal(Date.parse(next.startedAt), t1);
    assert.equal(next.ref.replace(/-\d+$/, ''), open.ref.replace(/-\d+$/, '')); // same group
    assert.match(next.ref, /-2$/);

    // every notification came with the ingest token, and is in the audit log
    const admin = srv.token('admin');
    const audit = (await srv.json('/api/v1/audit?action=alertmanager.notify', { token: admin })).body.items;
    assert.ok(audit.length >= 3, JSON.stringify(audit));
    assert.ok(audit.every((a) => a.tokenName === 'alertmanager'));
  });
});
