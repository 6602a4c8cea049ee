// scale.test.mjs — with 10,000 extra components the UI still loads one page
// at a time: every entity request asks for at most 100, the tables hold at
// most one page, and the pages render. 2,000 of them are deployed within
// seconds of each other three times (two million coupled pairs): the
// coupling page asks for pages of 100 pairs and renders the one release
// train. Timings are reported as diagnostics, not asserted (speed targets
// live in bench/).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, screenshot, settled, startServer } from './server.mjs';

const N = 10000;

function bigOrg() {
  const docs = [`apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: scale-team
spec:
  type: team
  children: []
`];
  for (let i = 0; i < N; i++) {
    docs.push(`apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: scale-${String(i).padStart(5, '0')}
  description: Generated component number ${i} for the scale test.
  tags: [tag-${i % 40}]
spec:
  type: ${i % 3 ? 'service' : 'library'}
  lifecycle: ${i % 5 ? 'production' : 'experimental'}
  owner: scale-team
`);
  }
  return docs.join('---\n');
}

const COUPLED = 2000;
const ROUNDS = 3;

// Every one of the first 2,000 components deployed to production in each of
// three rounds, a day apart, a round lasting 20 seconds.
function coupledDeployments() {
  const start = Date.now() - 10 * 86400000;
  const lines = [];
  for (let k = 0; k < ROUNDS; k++) {
    for (let i = 0; i < COUPLED; i++) {
      const name = `scale-${String(i).padStart(5, '0')}`;
      lines.push(JSON.stringify({
        context: { specversion: '0.5.1', id: `scale-${k}-${i}`, source: '/scale-test', type: 'dev.cdevents.service.deployed.0.3.0', timestamp: new Date(start + k * 86400000 + i * 10).toISOString() },
        subject: { id: name, content: { environment: { id: 'production' }, artifactId: `pkg:oci/${name}@v${k}` } },
      }));
    }
  }
  return lines.join('\n') + '\n';
}

let server;
let browser;

before(async () => {
  server = await startServer({ history: false, extraYaml: { 'scale.yaml': bigOrg() } });
  const res = await fetch(`${server.url}/api/v1/events`, {
    method: 'POST', body: coupledDeployments(),
    headers: { authorization: `Bearer ${server.token('ingest')}`, 'content-type': 'application/x-ndjson' },
  });
  assert.equal(res.status, 202, await res.text());
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('pages load one page of entities at a time with 10,000 components', async (t) => {
  const page = await browser.newPage();
  const limits = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname === '/api/v1/entities') limits.push(Number(u.searchParams.get('limit')));
  });
  const timed = async (name, path, rowsSel) => {
    const t0 = Date.now();
    await page.goto(server.url + path);
    await settled(page, 20000);
    const ms = Date.now() - t0;
    t.diagnostic(`${name}: rendered in ${ms} ms`);
    assert.deepEqual(page.problems, [], `${name}: console is clean`);
    assert.equal(await page.locator('.notice-error').count(), 0, `${name}: no failed panel`);
    if (rowsSel) {
      const rows = await page.locator(rowsSel).count();
      assert.ok(rows > 0 && rows <= 100, `${name}: ${rows} rows, one page`);
    }
  };
  await timed('overview', '/', null);
  const count = await page.locator('.kind-counts li', { hasText: 'Component' }).textContent();
  assert.match(count.replace(/,/g, ''), new RegExp(`\\d{5}`), 'the overview counts the 10,000 components');
  await timed('catalog', '/catalog?kind=Component', '#entity-table tbody tr');
  assert.match(await page.textContent('#result-count'), /of 1\d,\d{3} entities/);
  await timed('catalog search', '/catalog?q=scale-0999', '#entity-table tbody tr');
  await timed('team owning 10,000', '/team/default/scale-team', '#owned-table tbody tr');
  await screenshot(page, 'team-10k');
  assert.match(await page.textContent('#owns .result-count'), /Showing 100 of 10,000 owned entities/);
  await page.click('#owns button:has-text("Show more")');
  await page.waitForFunction(() => document.querySelectorAll('#owned-table tbody tr').length === 200);
  assert.ok(limits.length > 0);
  assert.ok(limits.every((l) => l > 0 && l <= 100), `entity requests ask for at most 100: ${limits}`);
  await page.close();
});

test('release coupling of 2,000 components deployed together: pages of 100 pairs', async (t) => {
  const page = await browser.newPage();
  const asked = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname === '/api/v1/insights/coupling') asked.push(u.searchParams.get('limit'));
  });
  const t0 = Date.now();
  await page.goto(`${server.url}/insights/coupling?minTogether=3`);
  await settled(page, 20000);
  t.diagnostic(`coupling page: rendered in ${Date.now() - t0} ms`);
  assert.deepEqual(page.problems, []);
  assert.equal(await page.locator('.notice-error').count(), 0);
  assert.equal(await page.locator('#trains ol.trains > li').count(), 1);
  assert.match(await page.textContent('#trains ol.trains > li > p:first-child'), /Train 1: 2,000 services released together/);
  // the first 50 services are links, the other 1,950 come when asked for
  assert.equal(await page.locator('#trains ol.trains > li > p:nth-child(2) a').count(), 50);
  await page.click('#trains summary:has-text("and 1,950 more")');
  assert.equal(await page.locator('#trains ol.trains > li > p:nth-child(2) a').count(), 2000);
  assert.equal(await page.locator('#pairs-table tbody tr').count(), 100);
  assert.match(await page.textContent('#pairs .result-count'), /1,999,000 pairs .* 1,999,000 flagged\. Showing the first 100\./);
  const t1 = Date.now();
  await page.click('#pairs button:has-text("Show 100 more pairs")');
  await page.waitForFunction(() => document.querySelectorAll('#pairs-table tbody tr').length === 200);
  t.diagnostic(`next 100 pairs: ${Date.now() - t1} ms`);
  await screenshot(page, 'coupling-2000');
  assert.deepEqual(asked, ['100', '100'], 'every coupling request asks for one page of 100');
  await page.close();
});
