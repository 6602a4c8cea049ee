// report.test.mjs — the shareable report (issue #16): GET /api/v1/report
// and `conway report` give the same document; the HTML page passes the W3C
// Nu HTML Checker (vnu.jar from the npm package, run with Debian's Java),
// holds no script and no outside resource, and shows catalog text only
// escaped (an entity named <script> stays text); the Markdown escapes
// table and markup characters; bad parameters are problems naming them.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { startServer, conway, tempDir, repoRoot } from './helpers.mjs';

const require = createRequire(import.meta.url);
const H = 3600 * 1000;
const D = 24 * H;
const NOW = Math.floor(Date.now() / D) * D;
const iso = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');
const day = (ms) => new Date(ms).toISOString().slice(0, 10);
const XSS = '<script>alert(1)</script><img src=x onerror=alert(2)>';

// The path of vnu.jar (the package exports it as a String object).
function vnu() {
  try {
    const jar = String(require('vnu-jar'));
    return existsSync(jar) ? jar : null;
  } catch { return null; }
}

describe('report', () => {
  let srv, admin, reportFile;
  before(async () => {
    srv = await startServer();
    admin = srv.token('admin');
    const meta = (kind, name, extra = {}) => ({ apiVersion: 'conway.dev/v1', kind, metadata: { name, ...extra } });
    const catalog = [
      { apiVersion: 'backstage.io/v1alpha1', kind: 'Group', metadata: { name: 'payments' }, spec: { type: 'team', children: [] } },
      { apiVersion: 'backstage.io/v1alpha1', kind: 'System', metadata: { name: 'shop' }, spec: { owner: 'payments' } },
      { apiVersion: 'backstage.io/v1alpha1', kind: 'Component', metadata: { name: 'cart', annotations: { 'conway.dev/service-id': 'cart-svc' }, tags: ['mongodb'] }, spec: { type: 'service', lifecycle: 'production', owner: 'payments' } },
      { ...meta('Goal', 'conversion', { title: XSS }), spec: { owner: 'payments', stakeholders: ['payments'], statement: `Conversion up | ${XSS} *now*`, metric: { name: 'kpi_conv' }, baseline: { value: 1, date: day(NOW - 30 * D) }, target: { value: 3, direction: 'increase' }, deadline: day(NOW + 60 * D) } },
      { ...meta('Goal', 'vague'), spec: { owner: 'payments', statement: 'Be faster' } },
      { ...meta('Hypothesis', 'cache'), spec: { owner: 'payments', change: `Edge cache ${XSS}`, changeAt: iso(NOW - 20 * D), outcome: 'conversion up', metric: { name: 'kpi_conv' }, expected: { direction: 'increase', size: 0 } } },
      { ...meta('Decision', 'db', { title: `Database ${XSS}` }), spec: { owner: 'payments', status: 'accepted', options: ['postgres', 'mongodb'], chosen: 'postgres', tools: [{ name: 'mongodb', status: 'hold' }] } },
      { ...meta('Scorecard', 'basics', { title: `Basics ${XSS}` }), spec: { filter: 'kind=component', levels: ['bronze', 'silver'], checks: [
        { id: 'owned', name: 'Owned', level: 'bronze', rule: { fact: 'owner', operator: 'matches', value: '^group:' } },
        { id: 'tagged', name: 'Tagged', level: 'silver', rule: { fact: 'entity.metadata.tags[0]', operator: 'equal', value: 'java' } },
      ] } },
      { apiVersion: 'backstage.io/v1alpha1', kind: 'Component', metadata: { name: 'basket' }, spec: { type: 'service', lifecycle: 'production', owner: 'payments', system: 'shop' } },
      { ...meta('Postmortem', 'cart-outage'), spec: { owner: 'payments', incidents: ['INC-7'], summary: 'Cart down', actionItems: [
        { id: 'AI-1', title: `Canary ${XSS}`, owner: 'payments', due: day(NOW - 3 * D) },
        { id: 'AI-2', title: 'Runbook', owner: 'payments', due: day(NOW + 10 * D), status: 'in-progress' },
        { id: 'AI-3', title: 'Done already', owner: 'payments', due: day(NOW - 9 * D), status: 'done' },
      ] } },
    ];
    let res = await srv.json('/api/v1/import', { method: 'POST', token: admin, headers: { 'content-type': 'application/json' }, body: JSON.stringify(catalog) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const samples = [];
    for (let i = 0; i < 30; i++) samples.push({ name: 'kpi_conv', time: iso(NOW - (30 - i) * D + 12 * H), value: 1 + i / 25 });
    res = await srv.json('/api/v1/metrics', { method: 'POST', token: admin, headers: { 'content-type': 'application/json' }, body: JSON.stringify(samples) });
    assert.equal(res.status, 200);
    let n = 0;
    const events = [];
    for (let i = 0; i < 40; i++) {
      events.push({ context: { specversion: '0.5.1', id: `d${++n}`, source: '/report-test', type: 'dev.cdevents.service.deployed.0.3.0', timestamp: iso(NOW - (55 - i) * D + 10 * H) }, subject: { id: 'cart-svc', content: { environment: { id: 'production' }, artifactId: `pkg:oci/cart@${n}` } } });
    }
    res = await srv.json('/api/v1/events', { method: 'POST', token: admin, headers: { 'content-type': 'application/x-ndjson' }, body: events.map((e) => JSON.stringify(e)).join('\n') });
    assert.equal(res.status, 202, JSON.stringify(res.body));
  });
  after(async () => { await srv.stop(); });

  const get = (q) => srv.fetch(`/api/v1/report?${new URLSearchParams({ now: iso(NOW), ...q })}`);

  test('HTML: valid, self-contained, escaped, and the same as the CLI writes', async () => {
    const res = await get({ scope: 'group:default/payments', format: 'html' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(res.headers.get('content-security-policy'), /default-src 'none'; style-src 'unsafe-inline'/);
    const html = await res.text();
    assert.ok(!/<script/i.test(html), 'no script element');
    assert.ok(!/<[a-z][^>]*\son\w+=/i.test(html), 'no event handler attribute');
    assert.ok(!/(src|href)=["']?(https?:|\/\/)/i.test(html), 'no outside resource');
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;'));
    for (const h of ['Delivery (DORA)', 'Goals', 'Hypotheses', 'Decisions', 'Findings', 'Open items']) assert.ok(html.includes(`<h2>${h}</h2>`), h);
    assert.ok(html.includes('<svg class="chart"'), 'the deployments chart');
    assert.ok(html.includes('<svg class="spark"'), 'a goal sparkline');
    assert.match(html, /tool-on-hold/);
    assert.match(html, /goal-not-smart/);
    assert.match(html, /<span class="badge on-track">on-track<\/span>/);
    // issue 16: the findings history (the server snapshots today at start)
    // and the postmortem action items still owed, overdue first
    assert.ok(html.includes('<h2>Findings over time</h2>'));
    assert.match(html, /Findings per day from \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d \(\d+ daily snapshots?; silenced findings left out\)/);
    assert.ok(html.includes('<h2>Action items</h2>'));
    const actions = html.slice(html.indexOf('<h2>Action items</h2>'), html.indexOf('<h2>Open items</h2>'));
    assert.match(actions, /<tr><td>Canary &lt;script&gt;alert\(1\)&lt;\/script&gt;&lt;img src=x onerror=alert\(2\)&gt;<\/td><td>group:default\/payments<\/td><td>\d{4}-\d\d-\d\d<\/td><td><span class="badge overdue">overdue<\/span> \d+ days?<\/td><td>postmortem:default\/cart-outage<\/td><\/tr>/);
    assert.ok(actions.indexOf('Canary') < actions.indexOf('Runbook'), 'overdue first');
    assert.ok(!actions.includes('Done already'), 'done items are not owed');
    assert.match(html, /<li>1 postmortem action item is overdue \(see Action items\)<\/li>/);
    // scorecard levels of what the team owns: cart and basket, both owned, neither tagged java
    const cards = html.slice(html.indexOf('<h2>Scorecard levels</h2>'), html.indexOf('<h2>Action items</h2>'));
    assert.ok(cards.includes('<caption>Basics &lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;: entities at each level (at least that level)</caption>'), cards);
    assert.ok(cards.includes('<th scope="col">Scope</th><th scope="col">Entities</th><th scope="col">bronze</th><th scope="col">silver</th><th scope="col">No level</th>'), cards);
    assert.ok(cards.includes('<tr><td>group:default/payments</td><td>2</td><td>2 (100%)</td><td>0 (0%)</td><td>0</td></tr>'), cards);

    const dir = tempDir();
    const file = join(dir, 'report.html');
    const r = conway(['report', '--db', srv.db, '--scope', 'group:default/payments', '--format', 'html', '--now', iso(NOW), '--out', file]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(file, 'utf8'), html, 'the CLI writes the same page');
    reportFile = file;

  });

  test('Markdown: tables, escaped markup, same as the CLI', async () => {
    const res = await get({ scope: 'group:default/payments', format: 'md' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/markdown; charset=utf-8');
    const md = await res.text();
    assert.match(md, /^# Report: group:default\/payments\n/);
    assert.match(md, /\n## Goals\n\n\| Goal \| Owner \| Status \|/);
    assert.ok(md.includes('Conversion up \\| &lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt; \\*now\\*'), md);
    assert.match(md, /\| \*\*on-track\*\* \|/);
    assert.match(md, /[▁▂▃▄▅▆▇█]{10,}/, 'a sparkline of block characters');
    assert.match(md, /## Open items\n\n- goal:default\/vague is not S\.M\.A\.R\.T\. yet \(3 letters missing\)/);
    assert.match(md, /\n## Action items\n\n\| Action item \| Owner \| Due \| Status \| Postmortem \|/);
    assert.match(md, /\| Runbook \| group:default\/payments \| \d{4}-\d\d-\d\d \| in-progress \| postmortem:default\/cart-outage \|/);
    assert.match(md, /\n## Findings over time\n/);
    assert.match(md, /\n## Scorecard levels\n\n\*\*Basics &lt;script&gt;.*\*\*: entities at each level \(at least that level\)\n\n\| Scope \| Entities \| bronze \| silver \| No level \|\n/);
    const r = conway(['report', '--db', srv.db, '--scope', 'group:default/payments', '--format', 'md', '--now', iso(NOW)]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, md);
  });

  test('organisation, systems and bad parameters', async () => {
    let res = await get({});
    assert.equal(res.status, 200);
    const org = await res.text();
    assert.match(org, /<h1>Report: org<\/h1>/);
    // the organisation's action items are everyone's; a system has none of its own
    assert.ok(org.includes('<h2>Action items</h2>') && org.includes('Runbook'));
    // the organisation's scorecard levels are per team
    assert.ok(org.includes('<tr><td>group:default/payments</td><td>2</td><td>2 (100%)</td><td>0 (0%)</td><td>0</td></tr>'));
    res = await get({ scope: 'system:default/shop' });
    assert.equal(res.status, 200);
    const sys = await res.text();
    assert.ok(sys.includes('<h2>Findings</h2>') && !sys.includes('<h2>Action items</h2>') && !sys.includes('<h2>Findings over time</h2>'));
    const bad = async (q, status, re) => {
      const r = await srv.json(`/api/v1/report?${new URLSearchParams(q)}`);
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.match(r.body.detail, re);
    };
    await bad({ format: 'pdf' }, 400, /^query parameter 'format': 'pdf' is not html or md$/);
    await bad({ scope: 'api:default/x' }, 400, /^query parameter 'scope': must be org or a Group/);
    await bad({ scope: 'group:default/nobody' }, 404, /^query parameter 'scope': group:default\/nobody does not exist/);
    const cli = conway(['report', '--db', srv.db, '--scope', 'group:default/nobody']);
    assert.equal(cli.status, 2);
    assert.match(cli.stderr, /^conway report: scope: group:default\/nobody does not exist/);
    assert.equal(conway(['report', '--format', 'pdf']).status, 2);
    const help = conway(['report', '--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--scope REF/);
  });

  test('/metrics: DORA, findings, goals and hypotheses per team, promtool-clean', async () => {
    const scrapedAt = Date.now();
    const res = await srv.fetch('/metrics');
    const text = await res.text();
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(lint.status, 0, lint.stdout + lint.stderr);
    assert.equal((lint.stdout + lint.stderr).trim(), '', 'promtool has nothing to say');
    const value = (series) => {
      const line = text.split('\n').find((l) => l.startsWith(series + ' '));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    // deployments of cart (team payments) at 10:00 of days NOW-55 .. NOW-16
    let want = 0;
    for (let i = 0; i < 40; i++) {
      const t = NOW - (55 - i) * D + 10 * H;
      if (t >= scrapedAt - 30 * D && t < scrapedAt) want++;
    }
    assert.equal(value('conway_dora_deployments{scope="group:default/payments"}'), want);
    assert.equal(value('conway_dora_deployments{scope="org"}'), want);
    // the exposition prints 9 significant digits (14 / 30 reads 0.466666667)
    const perDay = value('conway_dora_deployment_frequency_per_day{scope="group:default/payments"}');
    assert.ok(Math.abs(perDay - want / 30) < 1e-8, `${perDay} per day, want ${want / 30}`);
    assert.equal(value('conway_findings{rule="tool-on-hold",team="group:default/payments"}'), 1);
    assert.equal(value('conway_findings{rule="goal-not-smart",team="group:default/payments"}'), 3);
    assert.equal(value('conway_goals{status="on-track",team="group:default/payments"}'), 1);
    assert.equal(value('conway_goals{status="unknown",team="group:default/payments"}'), 1);
    assert.equal(value('conway_hypotheses{verdict="supported",team="group:default/payments"}'), 1);
    // bounded label values: rules, statuses and verdicts from fixed lists
    const rules = new Set([...text.matchAll(/^conway_findings\{rule="([^"]+)"/gm)].map((m) => m[1]));
    const known = ['decision-no-counter-evidence', 'decision-not-best-scored', 'decision-single-option', 'goal-not-smart', 'tool-on-hold',
      'link-key-conflict', 'no-accountable', 'orphan-user', 'owner-is-user', 'owner-missing', 'shared-resource-owner', 'team-overload', 'team-without-members'];
    for (const r of rules) assert.ok(known.includes(r), r);
    // the Grafana dashboard asks only for metrics conway serves
    const dash = JSON.parse(readFileSync(join(repoRoot, 'docs', 'grafana-dashboard.json'), 'utf8'));
    const exprs = dash.panels.flatMap((p) => (p.targets || []).map((t) => t.expr));
    assert.ok(exprs.length >= 8);
    for (const e of exprs) {
      for (const [name] of e.matchAll(/conway_[a-z_]+/g)) assert.ok(text.includes(`# TYPE ${name} gauge`), `${name} (dashboard) is served`);
    }
  });

  // Last: the checker takes seconds, longer than the server keeps an idle
  // connection open for the next request.
  test('the HTML page passes the Nu HTML Checker', () => {
    assert.ok(reportFile, 'the HTML test wrote the page');
    const file = reportFile;
    const jar = vnu();
    assert.ok(jar, 'vnu-jar is installed (tests/package.json; scripts/deps.sh installs it)');
    const v = spawnSync('java', ['-jar', jar, '--format', 'json', '--stdout', file], { encoding: 'utf8' });
    const report = JSON.parse(v.stdout || '{"messages":[]}');
    const problems = report.messages.filter((m) => m.type === 'error' || m.subType === 'warning');
    assert.deepEqual(problems, [], 'the Nu HTML Checker finds nothing');
    assert.equal(v.status, 0, v.stderr);
  });
});
