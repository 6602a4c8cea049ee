// prometheus.test.mjs — KPIs read from a real Prometheus (issue #16): the
// test runs a small exporter (a Node HTTP server), starts Debian's
// prometheus on a loopback port to scrape it every second, and starts
// `conway serve --prometheus-url`. A KPI entity with spec.source
// prometheus makes conway ask Prometheus' range query API on its schedule
// and store the answer; the values conway stored must be the ones
// Prometheus itself answers for the same instants. A KPI whose query
// Prometheus refuses is logged with Prometheus' message, the others carry on.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from './helpers.mjs';

const PROMETHEUS = process.env.PROMETHEUS_BIN || '/usr/bin/prometheus';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = netServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function waitFor(what, fn, ms = 60000) {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

describe('KPIs from Prometheus', { skip: !existsSync(PROMETHEUS) && 'prometheus is not installed (scripts/deps.sh)' }, () => {
  let exporter, prom, promUrl, srv, dir, promLog = '';
  const started = Date.now();

  before(async () => {
    // The exporter: a conversion rate that moves with time, a counter, and a
    // label per team.
    exporter = createServer((req, res) => {
      const s = (Date.now() - started) / 1000;
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end([
        '# TYPE shop_conversion gauge',
        `shop_conversion{team="payments"} ${(0.02 + s / 10000).toFixed(6)}`,
        `shop_conversion{team="growth"} ${(0.05 - s / 20000).toFixed(6)}`,
        '# TYPE shop_checkouts_total counter',
        `shop_checkouts_total ${Math.floor(s * 7)}`,
        '',
      ].join('\n'));
    });
    await new Promise((r) => exporter.listen(0, '127.0.0.1', r));
    const exporterPort = exporter.address().port;

    dir = mkdtempSync(join(tmpdir(), 'conway-prom-'));
    const config = join(dir, 'prometheus.yml');
    writeFileSync(config, [
      'global:', '  scrape_interval: 1s', '  evaluation_interval: 1s',
      'scrape_configs:', '  - job_name: shop', '    static_configs:', `      - targets: ['127.0.0.1:${exporterPort}']`, '',
    ].join('\n'));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prom = spawn(PROMETHEUS, [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
    prom.stderr.on('data', (c) => { promLog += c; });
    await waitFor('Prometheus to be ready', async () => (await fetch(`${promUrl}/-/ready`)).ok, 30000)
      .catch((e) => { throw new Error(`${e.message}: ${promLog}`); });

    srv = await startServer({ args: ['--prometheus-url', `${promUrl}/`] });
    const admin = srv.token('admin');
    const kpi = (name, spec) => ({ apiVersion: 'conway.dev/v1', kind: 'KPI', metadata: { name }, spec: { owner: 'payments', source: 'prometheus', step: '1s', interval: '1s', lookback: '1m', ...spec } });
    const res = await srv.json('/api/v1/import', {
      method: 'POST', token: admin, headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        { apiVersion: 'backstage.io/v1alpha1', kind: 'Group', metadata: { name: 'payments' }, spec: { type: 'team', children: [] } },
        kpi('conversion', { query: 'shop_conversion', metric: 'shop_conversion_kpi' }),
        kpi('checkout-rate', { query: 'sum(rate(shop_checkouts_total[5s]))' }),
        kpi('broken', { query: 'sum(' }),
        { apiVersion: 'conway.dev/v1', kind: 'KPI', metadata: { name: 'pushed' }, spec: { source: 'push' } },
      ]),
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  });

  after(async () => {
    if (srv) await srv.stop();
    if (prom && prom.exitCode === null) { const done = new Promise((r) => prom.once('exit', r)); prom.kill('SIGTERM'); await done; }
    if (exporter) await new Promise((r) => exporter.close(r));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('conway stores what Prometheus answers, at the same instants', async () => {
    // whole seconds: each 1s step of the answer then holds exactly the sample
    // conway stored for that instant (its fetches are aligned to the step)
    const from = new Date(Math.floor((started - 60000) / 1000) * 1000).toISOString();
    const q = () => srv.json(`/api/v1/metrics/shop_conversion_kpi?${new URLSearchParams({ from, to: new Date(Date.now() + 60000).toISOString(), step: '1s', labels: 'team="payments"' })}`);
    const got = await waitFor('8 points of the KPI in conway', async () => {
      const r = await q();
      return r.status === 200 && r.body.series[0]?.points.length >= 8 && r.body;
    });
    assert.deepEqual(got.series[0].labels, { instance: got.series[0].labels.instance, job: 'shop', team: 'payments' });
    const pts = got.series[0].points;
    // Ask Prometheus directly for the same instants.
    const t0 = Date.parse(pts[0].time) / 1000, t1 = Date.parse(pts.at(-1).time) / 1000;
    const direct = await (await fetch(`${promUrl}/api/v1/query_range?${new URLSearchParams({ query: 'shop_conversion{team="payments"}', start: String(t0), end: String(t1), step: '1' })}`)).json();
    assert.equal(direct.status, 'success');
    const want = new Map(direct.data.result[0].values.map(([t, v]) => [t * 1000, Number(v)]));
    let compared = 0;
    for (const p of pts) {
      const t = Date.parse(p.time);
      if (!want.has(t)) continue; // Prometheus may have dropped a stale point since
      assert.ok(Math.abs(p.value - want.get(t)) <= 1e-12 * Math.abs(want.get(t)), `${p.time}: conway ${p.value}, Prometheus ${want.get(t)}`);
      compared++;
    }
    assert.ok(compared >= 8, `compared ${compared} instants`);
    // both teams' series were stored under the KPI's metric name
    const all = await srv.json(`/api/v1/metrics/shop_conversion_kpi?${new URLSearchParams({ from, step: '1m' })}`);
    assert.deepEqual(all.body.series.map((s) => s.labels.team).sort(), ['growth', 'payments']);
  });

  test('a query of an expression, under the name derived from the KPI', async () => {
    const r = await waitFor('checkout_rate points', async () => {
      const x = await srv.json(`/api/v1/metrics/checkout_rate?${new URLSearchParams({ from: new Date(started - 60000).toISOString(), step: '1s' })}`);
      return x.body.series?.[0]?.points.length >= 3 && x.body;
    });
    assert.deepEqual(r.series[0].labels, {});
    // 7 checkouts a second
    const last = r.series[0].points.at(-1).value;
    assert.ok(last > 5 && last < 9, `rate ${last}`);
  });

  test('a query Prometheus refuses is logged with its message; nothing is stored for it', async () => {
    await waitFor('the broken KPI to be reported', async () => srv.stderr.includes('"kpi fetch failed"') && srv.stderr.includes('kpi:default/broken'));
    const line = srv.stderr.split('\n').find((l) => l.includes('kpi:default/broken'));
    assert.match(JSON.parse(line).error, /^HTTP 400: Prometheus: bad_data: /);
    const names = await srv.json('/api/v1/metrics');
    assert.ok(!names.body.names.some((n) => n.name === 'broken'));
    // the pushed KPI is never fetched
    assert.ok(!srv.stderr.includes('kpi:default/pushed'));
  });

  test('each KPI\'s fetch state is in the strategy view, not only in the log', async () => {
    const kpis = await waitFor('fetch states', async () => {
      const r = await srv.json('/api/v1/strategy?scope=org');
      const byName = Object.fromEntries(r.body.kpis.map((k) => [k.entityRef, k]));
      return byName['kpi:default/broken']?.fetch?.state === 'error' && byName['kpi:default/conversion']?.fetch?.state === 'ok' && byName;
    });
    const broken = kpis['kpi:default/broken'].fetch;
    assert.match(broken.lastError, /^HTTP 400: Prometheus: bad_data: /);
    assert.ok(Date.parse(broken.lastErrorAt) >= started - 1000);
    assert.equal(broken.lastSuccessAt, undefined);
    const ok = kpis['kpi:default/conversion'].fetch;
    assert.ok(Date.parse(ok.lastSuccessAt) >= started - 1000 && Date.parse(ok.lastAttemptAt) >= Date.parse(ok.lastSuccessAt) - 1000);
    assert.ok(Number.isInteger(ok.samples) && ok.samples >= 0);
    assert.equal(ok.lastError, undefined);
    // a pushed KPI is not fetched: no state
    assert.equal(kpis['kpi:default/pushed'].fetch, undefined);
    // a team's view shows its KPIs' state too
    const team = await srv.json('/api/v1/strategy?scope=group:default/payments');
    assert.ok(team.body.kpis.some((k) => k.fetch?.state));
  });

  test('the configured URL is checked before the server starts', async () => {
    for (const url of ['ftp://127.0.0.1/', 'http://', 'http://x/?q=1', 'javascript:alert(1)']) {
      await assert.rejects(startServer({ args: ['--prometheus-url', url] }), /--prometheus-url: .* is not an http:\/\/ or https:\/\/ URL/);
    }
  });
});
