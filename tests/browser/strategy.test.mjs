// strategy.test.mjs — the strategy pages (/strategy for the organisation,
// /strategy?scope=group:… for a team, reached from the team page) in a real
// Chromium: goals with the status the API answered and a sparkline per
// goal, hypotheses with verdicts, decisions and findings; hostile names in
// goals, hypotheses and decisions stay text and run nothing. Also the
// shareable report page (GET /api/v1/report, HTML) rendered in Chromium:
// no script, charts drawn, a screenshot kept in build/screenshots/.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, screenshot, settled, startServer } from './server.mjs';

const D = 864e5;
const NOW = Math.floor(Date.now() / D) * D;
const day = (ms) => new Date(ms).toISOString().slice(0, 10);
const iso = (ms) => new Date(ms).toISOString();
const HOSTILE = `<img src=x onerror="window.__pwned='goal'">Grow <b>fast</b>`;
const y = (s) => JSON.stringify(s);

const strategyYaml = `apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-strategy}
spec: {type: team, children: []}
---
apiVersion: conway.dev/v1
kind: Goal
metadata: {name: signups-up, title: ${y(HOSTILE)}}
spec:
  owner: team-strategy
  stakeholders: [team-strategy]
  statement: ${y(HOSTILE)}
  metric: {name: ui_signups}
  baseline: {value: 100, date: ${day(NOW - 40 * D)}}
  target: {value: 200, direction: increase}
  deadline: ${day(NOW + 60 * D)}
---
apiVersion: conway.dev/v1
kind: Goal
metadata: {name: vague}
spec: {owner: team-strategy, statement: Be better}
---
apiVersion: conway.dev/v1
kind: Hypothesis
metadata: {name: onboarding}
spec:
  owner: team-strategy
  change: ${y(`<script>window.__pwned='hyp'</script>New onboarding`)}
  changeAt: ${iso(NOW - 20 * D)}
  outcome: more signups
  metric: {name: ui_signups}
  expected: {direction: increase, size: 0.1}
---
apiVersion: conway.dev/v1
kind: Decision
metadata: {name: queue, title: ${y(`<svg onload="window.__pwned='dec'"></svg>Queue`)}}
spec: {owner: team-strategy, status: proposed, options: [rabbitmq]}
---
apiVersion: conway.dev/v1
kind: KPI
metadata: {name: signups, title: ${y(`<img src=x onerror="window.__pwned='kpi'">Signups`)}}
spec: {owner: team-strategy, source: push, metric: ui_signups}
`;

let server;
let browser;

before(async () => {
  server = await startServer({ history: false, extraYaml: { 'strategy.yaml': strategyYaml } });
  browser = await launchBrowser();
  const samples = [];
  for (let i = 0; i < 40; i++) samples.push({ name: 'ui_signups', time: iso(NOW - (40 - i) * D + 36e5), value: 100 + 2 * i + (i % 3) });
  const res = await fetch(`${server.url}/api/v1/metrics`, {
    method: 'POST', body: JSON.stringify(samples),
    headers: { authorization: `Bearer ${server.token('ingest')}`, 'content-type': 'application/json' },
  });
  assert.equal(res.status, 200, await res.text());
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function inert(page, where) {
  await page.waitForTimeout(300);
  const r = await page.evaluate(() => ({
    pwned: window.__pwned,
    handlers: document.querySelectorAll('[onerror], [onload], [onmouseover], [onclick]').length,
    imgX: document.querySelectorAll('img[src="x"]').length,
    bold: document.querySelectorAll('main b').length,
  }));
  assert.deepEqual(r, { pwned: undefined, handlers: 0, imgX: 0, bold: 0 }, where);
  assert.deepEqual(page.dialogs, [], `${where}: no dialog`);
  assert.deepEqual(page.problems, [], `${where}: no console error`);
}

test('the organisation\'s strategy shows what the API answers', async () => {
  const api = await server.getJSON('/api/v1/strategy');
  const page = await browser.newPage();
  await page.goto(`${server.url}/strategy`);
  await settled(page);
  assert.equal(await page.textContent('main h1'), 'Strategy of the organisation');
  assert.equal(await page.getAttribute('.site-header nav a[href="/strategy"]', 'aria-current'), 'page');
  const rows = page.locator('#goals tbody tr');
  assert.equal(await rows.count(), api.goals.length);
  const statuses = await page.locator('#goals tbody tr .status').allTextContents();
  assert.deepEqual(statuses.map((t) => t.replace(/^\S+\s/, '')), api.goals.map((g) => g.status));
  assert.ok(api.goals.some((g) => g.status === 'on-track'), 'the rising series is on track');
  // one sparkline per goal with data, one point per day
  const goalWithData = api.goals.find((g) => g.points.length);
  const pts = await page.locator('#goals svg.sparkline polyline').first().getAttribute('points');
  assert.equal(pts.split(' ').length, goalWithData.points.length);
  // the hostile statement is shown as written
  assert.ok((await page.textContent('#goals')).includes(HOSTILE));
  assert.deepEqual(await page.locator('#hypotheses .status').allTextContents(), [`✔ ${api.hypotheses[0].verdict}`].map((t) => (api.hypotheses[0].verdict === 'supported' ? t : `? ${api.hypotheses[0].verdict}`)));
  assert.equal(await page.locator('#decisions tbody tr').count(), 1);
  assert.ok((await page.textContent('#findings')).includes('decision-single-option'));
  assert.ok((await page.textContent('#goals')).includes('not S.M.A.R.T.: M, R, T missing'));
  // KPIs: a pushed one has no fetch state (this server reads no Prometheus)
  assert.equal(await page.locator('#kpis tbody tr').count(), api.kpis.length);
  const kpiRow = await page.locator('#kpis tbody tr').first().locator('td').allTextContents();
  assert.ok(kpiRow[0].includes(`<img src=x onerror="window.__pwned='kpi'">Signups`));
  assert.deepEqual(kpiRow.slice(1), ['push', 'ui_signups', '—', '—', '—']);
  await inert(page, '/strategy');
  await screenshot(page, 'strategy-org');
});

test('a team reaches its own strategy from the team page', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/team/default/team-strategy`);
  await settled(page);
  await page.click('#team-strategy-link');
  await page.waitForURL(/\/strategy\?scope=group%3Adefault%2Fteam-strategy$/);
  await settled(page);
  assert.equal(await page.textContent('main h1'), 'Strategy of group:default/team-strategy');
  const api = await server.getJSON('/api/v1/strategy?scope=group:default/team-strategy');
  assert.equal(await page.locator('#goals tbody tr').count(), api.goals.length);
  assert.equal(api.goals.length, 2);
  await inert(page, 'team strategy');
  await screenshot(page, 'strategy-team');
});

test('a scope that does not exist says so', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/strategy?scope=group:default/nobody`);
  await settled(page);
  assert.match(await page.textContent('main'), /not found/i);
});

test('the report renders in Chromium: no script, charts drawn', async () => {
  const res = await fetch(`${server.url}/api/v1/report?scope=group:default/team-strategy&format=html`);
  assert.equal(res.status, 200);
  const html = await res.text();
  const page = await browser.newPage();
  await page.setContent(html, { waitUntil: 'load' });
  const r = await page.evaluate(() => ({
    scripts: document.scripts.length,
    sections: [...document.querySelectorAll('h2')].map((x) => x.textContent),
    sparklines: [...document.querySelectorAll('svg.spark')].map((svg) => svg.getBoundingClientRect().width),
    text: document.body.textContent,
  }));
  assert.equal(r.scripts, 0);
  assert.deepEqual(r.sections, ['Delivery (DORA)', 'Goals', 'Hypotheses', 'Decisions', 'Findings', 'Findings over time', 'Scorecard levels', 'Action items', 'Open items']);
  assert.ok(r.sparklines.length >= 1 && r.sparklines.every((w) => w > 100), 'sparklines are drawn');
  assert.ok(r.text.includes(HOSTILE), 'hostile names shown as text');
  await inert(page, 'report');
  await screenshot(page, 'report');
});
