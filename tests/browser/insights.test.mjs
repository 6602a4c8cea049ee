// insights.test.mjs — the insight pages show what the API answers, with the
// demo organisation and its delivery history: ownership findings and their
// filters (in the URL), release trains and coupled pairs, undeployed work, a
// component's RACI matrix and recent events. Each test skips with a message
// when the server does not offer the endpoint yet.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, settled, startServer } from './server.mjs';

let server;
let browser;
let paths;

before(async () => {
  server = await startServer({ history: true });
  browser = await launchBrowser();
  paths = await server.apiPaths();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const needs = (t, path) => {
  if (paths.has(path)) return false;
  t.skip(`${path} does not exist on this server yet`);
  return true;
};

// "/entity/component/default/x" for a ref "component:default/x".
const pathOf = (ref) => {
  const [kind, rest] = ref.split(':');
  const [ns, name] = rest.split('/');
  return `/entity/${kind}/${ns}/${name}${name.includes('.') ? '/' : ''}`;
};

test('ownership findings: the table, the counts and the filters follow the API', async (t) => {
  if (needs(t, '/api/v1/insights/ownership')) return;
  const all = await server.getJSON('/api/v1/insights/ownership');
  assert.ok(all.findings.length > 0, 'the demo organisation has deliberate gaps');
  const page = await browser.newPage();
  await page.goto(`${server.url}/insights/ownership`);
  await settled(page);
  assert.equal(await page.locator('#findings tbody tr').count(), all.findings.length);
  const errors = all.findings.filter((f) => f.severity === 'error').length;
  assert.equal(await page.locator('#summary .severity-error').locator('xpath=..').locator('.metric-value').textContent(), String(errors));

  await page.selectOption('#f-severity', 'error');
  await page.waitForURL(/severity=error/);
  await settled(page);
  const onlyErrors = await server.getJSON('/api/v1/insights/ownership?severity=error');
  assert.equal(await page.locator('#findings tbody tr').count(), onlyErrors.findings.length);
  const sev = await page.$$eval('#findings tbody tr td:first-child', (tds) => [...new Set(tds.map((x) => x.textContent.trim()))]);
  assert.deepEqual(sev, ['✖ Error']);
  const entities = await page.$$eval('#findings tbody tr td:nth-child(3) a', (as) => as.map((a) => a.getAttribute('href')));
  assert.deepEqual(entities, onlyErrors.findings.map((f) => pathOf(f.entityRef)));
  assert.equal(await page.inputValue('#f-severity'), 'error', 'the control shows the filter from the URL');
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('release coupling: trains and flagged pairs as answered, more pages on request', async (t) => {
  if (needs(t, '/api/v1/insights/coupling')) return;
  const c = await server.getJSON('/api/v1/insights/coupling?limit=1000');
  const page = await browser.newPage();
  await page.goto(`${server.url}/insights/coupling`);
  await settled(page);
  assert.equal(await page.locator('#trains ol.trains > li').count(), c.trains.length);
  for (const [i, train] of c.trains.entries()) {
    const hrefs = await page.locator(`#trains ol.trains > li:nth-child(${i + 1}) p:nth-child(2) a`).evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    assert.deepEqual(hrefs.sort(), train.components.map(pathOf).sort());
  }
  assert.match(await page.textContent('#pairs .result-count'), new RegExp(`${c.totalPairs} pairs .* ${c.flaggedPairs} flagged`));
  // pages of 100 in the server's order, flagged first, until there are no more
  const more = page.getByRole('button', { name: /^Show 100 more pairs/ });
  while (await more.isVisible()) {
    const rows = await page.locator('#pairs-table tbody tr').count();
    await more.click();
    await page.waitForFunction((n) => document.querySelectorAll('#pairs-table tbody tr').length > n, rows);
  }
  assert.equal(await page.locator('#pairs-table tbody tr').count(), Math.min(c.totalPairs, 1000));
  assert.equal(await page.locator('#pairs-table tbody tr', { hasText: 'Yes' }).count(), c.flaggedPairs);
  const firstRow = await page.locator('#pairs-table tbody tr').first().locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  assert.deepEqual(firstRow, [pathOf(c.pairs[0].a), pathOf(c.pairs[0].b)]);
  // A stricter threshold from the form goes into the URL and the request.
  await page.fill('#f-minTogether', '1000');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(/minTogether=1000/);
  await settled(page);
  assert.equal(await page.locator('#trains ol.trains > li').count(), 0);
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('undeployed work: services ordered by the age of their oldest waiting change', async (t) => {
  if (needs(t, '/api/v1/insights/undeployed')) return;
  const u = await server.getJSON('/api/v1/insights/undeployed');
  const items = u.components || u.items;
  assert.ok(items.length > 0, 'the demo history leaves changes undeployed');
  const page = await browser.newPage();
  await page.goto(`${server.url}/insights/undeployed`);
  await settled(page);
  const hrefs = await page.$$eval('#undeployed tbody th a', (as) => as.map((a) => a.getAttribute('href')));
  const byAge = [...items].sort((a, b) => b.ageSeconds - a.ageSeconds);
  assert.deepEqual(hrefs, byAge.map((x) => pathOf(x.component)));
  const counts = await page.$$eval('#undeployed tbody tr td:nth-child(3)', (tds) => tds.map((x) => Number(x.textContent)));
  assert.deepEqual(counts, byAge.map((x) => x.count));
  // The overview shows the five oldest.
  await page.goto(`${server.url}/`);
  await settled(page);
  const top = await page.$$eval('#oldest-undeployed tbody th a', (as) => as.map((a) => a.getAttribute('href')));
  assert.deepEqual(top, byAge.slice(0, 5).map((x) => pathOf(x.component)));
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('entity page: the effective RACI matrix and the recent events of a component', async (t) => {
  if (needs(t, '/api/v1/raci/{kind}/{namespace}/{name}') || needs(t, '/api/v1/events')) return;
  const comps = await server.getJSON('/api/v1/entities?kind=Component&lifecycle=production&limit=20');
  const comp = comps.items[0];
  const ns = comp.metadata.namespace || 'default';
  const ref = `component:${ns}/${comp.metadata.name}`;
  const raci = await server.getJSON(`/api/v1/raci/component/${ns}/${comp.metadata.name}`);
  const events = await server.getJSON(`/api/v1/events?service=${encodeURIComponent(ref)}&limit=20`);
  const page = await browser.newPage();
  await page.goto(`${server.url}/entity/component/${ns}/${comp.metadata.name}`);
  await settled(page);
  const rows = await page.$$eval('#raci tbody tr', (trs) => trs.map((tr) => tr.querySelector('th').textContent));
  assert.deepEqual(rows, [...raci.activities.map((a) => a.activity), ...(raci.missing || [])]);
  const gaps = await page.locator('#raci tbody tr', { hasText: 'None (gap)' }).count();
  assert.equal(gaps, (raci.missing || []).length + raci.activities.filter((a) => !a.accountable).length);
  assert.equal(await page.locator('#events tbody tr').count(), events.items.length);
  if (events.items.length) {
    const firstType = await page.locator('#events tbody tr:first-child td:nth-child(2) span').getAttribute('title');
    assert.equal(firstType, events.items[0].type, 'newest first, full type on hover');
  }
  assert.deepEqual(page.problems, []);
  await page.close();
});
