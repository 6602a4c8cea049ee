// charts.test.mjs — the DORA charts draw the numbers the API answered: one
// bar per day with deployments, hover titles with the values, axis titles,
// the failed share shown with a pattern and a legend, lead time points, and a
// data table alternative. Runs on the overview (whole organisation), a team
// and a component with the demo delivery history loaded.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, screenshot, settled, startServer } from './server.mjs';

let server;
let browser;
let doraAvailable = false;

before(async () => {
  server = await startServer({ history: true });
  browser = await launchBrowser();
  doraAvailable = (await server.apiPaths()).has('/api/v1/insights/dora');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

// The UI shows the last 90 days; pick examples over the same window.
const since90 = () => `${new Date(Date.now() - 90 * 864e5).toISOString().slice(0, 19)}Z`;

const SKIP = 'the DORA endpoint /api/v1/insights/dora does not exist on this server yet';

// Opens path, captures the DORA answer the page received, checks its charts.
async function checkCharts(path, panel, shotName) {
  const page = await browser.newPage();
  const answer = page.waitForResponse((r) => r.url().includes('/api/v1/insights/dora'));
  await page.goto(server.url + path);
  const dora = await (await answer).json();
  await settled(page);
  assert.ok(server.historyLoaded, 'the demo delivery history was loaded');
  assert.ok(dora.deployments > 0, `${path}: the API reports deployments for ${dora.scope}`);

  const root = page.locator(panel);
  const figures = root.locator('figure.chart-figure');
  assert.equal(await figures.count(), 4, 'four charts');
  const captions = await figures.locator('figcaption').allTextContents();
  assert.deepEqual(captions, ['Deployments per day', 'Lead time for changes', 'Change failure rate per week', 'Time to restore service']);

  // Deployments: one data point per day with deployments, summing to the total.
  const deploy = figures.nth(0);
  const points = await deploy.locator('svg [data-point]').evaluateAll((gs) => gs.map((g) => ({
    date: g.getAttribute('data-date'), value: Number(g.getAttribute('data-value')), title: g.querySelector('title').textContent,
  })));
  const days = dora.daily.filter((d) => d.deployments > 0);
  assert.equal(points.length, days.length, 'one bar per day with deployments');
  assert.equal(points.reduce((a, p) => a + p.value, 0), dora.deployments, 'bars add up to the deployments');
  for (const p of points) {
    const d = days.find((x) => x.date === p.date);
    assert.ok(d, `bar for ${p.date} is a day of the answer`);
    assert.match(p.title, new RegExp(`^${p.date}: ${d.deployments} deployments?`), 'hover title carries the value');
  }
  const axisTitles = await deploy.locator('svg .axis-title').allTextContents();
  assert.deepEqual(axisTitles.sort(), ['Day (UTC)', 'Deployments']);
  if (dora.failedDeployments > 0) {
    assert.ok(await deploy.locator('svg rect.bar-failed').count() > 0, 'failed deployments are drawn');
    assert.match(await deploy.locator('svg rect.bar-failed').first().getAttribute('fill'), /^url\(#hatch-\d+\)$/, 'with a pattern, not colour alone');
    assert.match(await deploy.locator('.legend').textContent(), /Failed deployment \(hatched\)/);
  }

  // Lead time: a point per day with a median.
  const withLead = dora.daily.filter((d) => d.leadTimeP50Seconds !== null && d.leadTimeP50Seconds !== undefined);
  const leadPoints = await figures.nth(1).locator('svg [data-point]').count();
  assert.equal(leadPoints, withLead.length, 'one lead time point per day with a median');

  // Change failure rate: bars per week with percentage labels.
  if (dora.deployments > 0) {
    const labels = await figures.nth(2).locator('svg .value-label').allTextContents();
    assert.ok(labels.some((l) => /^\d+%$/.test(l)), 'weekly rates are labelled in %');
  }

  // Time to restore: a value for p50/p90 or per day when restores happened.
  if (dora.timeToRestoreSeconds?.count > 0) {
    assert.ok(await figures.nth(3).locator('svg [data-point]').count() > 0, 'restore times are drawn');
  }

  // Each chart with data has a data table alternative; one without data in
  // the window shown (e.g. no incident resolved) says so instead.
  const empty = await root.locator('figure.chart-figure .notice-empty').count();
  assert.ok(empty < 4, 'some chart has data');
  assert.equal(await root.locator('details.chart-data table').count(), 4 - empty);

  // The four headline figures with their DORA level in words.
  const levels = await root.locator('.metric .level').allTextContents();
  assert.equal(levels.length, 4);
  for (const l of levels) assert.match(l, /^(Elite|High|Medium|Low) performer$|^No level$/);
  await screenshot(page, shotName);
  assert.deepEqual(page.problems, []);
  await page.close();
  return dora;
}

test('overview: organisation DORA charts render with data points', async (t) => {
  if (!doraAvailable) return t.skip(SKIP);
  const dora = await checkCharts('/', '#org-delivery', 'overview-charts');
  assert.equal(dora.scope, 'org');
});

test('team page: the team\'s DORA charts render with data points', async (t) => {
  if (!doraAvailable) return t.skip(SKIP);
  // The team that deploys most in the demo history.
  const teams = await server.getJSON('/api/v1/entities?kind=Group&type=team&limit=100');
  let best = null;
  for (const g of teams.items) {
    const ref = `group:${g.metadata.namespace || 'default'}/${g.metadata.name}`;
    const d = await server.getJSON(`/api/v1/insights/dora?scope=${encodeURIComponent(ref)}&from=${since90()}`);
    if (!best || d.deployments > best.n) best = { g, n: d.deployments };
  }
  assert.ok(best && best.n > 0, 'some team deployed in the last 90 days');
  await checkCharts(`/team/${best.g.metadata.namespace || 'default'}/${best.g.metadata.name}`, '#delivery', 'team-charts');
});

test('entity page: a component\'s DORA charts render with data points', async (t) => {
  if (!doraAvailable) return t.skip(SKIP);
  const comps = await server.getJSON('/api/v1/entities?kind=Component&limit=100');
  let best = null;
  for (const c of comps.items.slice(0, 40)) {
    const ref = `component:${c.metadata.namespace || 'default'}/${c.metadata.name}`;
    const d = await server.getJSON(`/api/v1/insights/dora?scope=${encodeURIComponent(ref)}&from=${since90()}`);
    if (!best || d.deployments > best.n) best = { c, n: d.deployments };
    if (best.n > 10) break;
  }
  assert.ok(best && best.n > 0, 'some component deployed in the last 90 days');
  await checkCharts(`/entity/component/${best.c.metadata.namespace || 'default'}/${best.c.metadata.name}`, '#delivery', 'entity-charts');
});
