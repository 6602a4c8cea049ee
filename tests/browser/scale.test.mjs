// scale.test.mjs — with 10,000 extra components the UI still loads one page
// at a time: every entity request asks for at most 100, the tables hold at
// most one page, and the pages render. Timings are reported as diagnostics,
// not asserted (speed targets live in bench/).

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

let server;
let browser;

before(async () => {
  server = await startServer({ history: false, extraYaml: { 'scale.yaml': bigOrg() } });
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
