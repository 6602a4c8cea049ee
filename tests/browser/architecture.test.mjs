// architecture.test.mjs — the architecture feedback in the web UI, with the
// demo organisation and its delivery history: the graph pages of a system, a
// team and a component (the server's SVG in the page, a link on every node
// that opens the entity, findings highlighted on the drawing), the
// architecture findings page and its filters, the overview's architecture
// panel and findings trend. And a hostile catalog: names and titles with
// markup and a dependency on a ref full of it, drawn without running or
// creating anything (tests/browser/security.test.mjs shows the pattern).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, screenshot, settled, startServer } from './server.mjs';

let browser;

before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

const needs = async (t, server, path) => {
  const paths = await server.apiPaths();
  if (paths.has(path)) return false;
  t.skip(`${path} does not exist on this server yet`);
  return true;
};

describe('the demo organisation', () => {
  let server;
  before(async () => { server = await startServer({ history: true }); });
  after(async () => { await server?.stop(); });

  test('the graph of a system: a drawing with a link on every node, findings highlighted', async (t) => {
    if (await needs(t, server, '/api/v1/graph')) return;
    const json = await server.getJSON('/api/v1/graph?scope=system:default/discovery&depth=1');
    const page = await browser.newPage();
    await page.goto(`${server.url}/graph/system/default/discovery`);
    await settled(page, 30000);
    assert.match(await page.locator('h1').textContent(), /Dependency graph: discovery/);
    const svg = page.locator('#graph svg.dep-graph');
    await svg.waitFor();
    // every node of the JSON answer is a node of the drawing, with a link
    const refs = await svg.locator('g.node').evaluateAll((gs) => gs.map((g) => g.dataset.ref));
    assert.equal(refs.length, json.nodes.length);
    for (const n of json.nodes) assert.ok(refs.includes(n.ref.toLowerCase()), `${n.ref} is drawn`);
    const hrefs = await svg.locator('a[href]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    assert.ok(hrefs.includes('/entity/component/default/playlist-service'));
    assert.ok(hrefs.every((h) => h.startsWith('/entity/')), hrefs.join(' '));
    // the cycle is drawn red, its nodes carry the error class
    assert.equal(await svg.locator('g.edge.cycle').count(), json.edges.filter((e) => e.cycle).length);
    assert.ok(await svg.locator('g.node.finding-error[data-ref="component:default/playlist-service"]').count() === 1);
    // the findings naming nodes of the graph, each can be shown on the drawing
    const rows = page.locator('#graph-findings-table tbody tr');
    assert.equal(await rows.count(), json.findings.length);
    const cycleRow = rows.filter({ hasText: 'dependency-cycle' });
    await cycleRow.getByRole('button', { name: 'Show on the graph' }).click();
    assert.equal(await cycleRow.getByRole('button').getAttribute('aria-pressed'), 'true');
    const lit = await svg.locator('g.node.highlighted').evaluateAll((gs) => gs.map((g) => g.dataset.ref).sort());
    assert.deepEqual(lit, ['component:default/listening-history-service', 'component:default/playlist-service',
      'component:default/recommendation-service']);
    assert.ok(await svg.evaluate((el) => el.classList.contains('has-highlight')));
    await screenshot(page, 'graph-system');
    // a node is a link into the app: the entity page opens without a reload
    await page.evaluate(() => { window.__stayed = true; });
    await svg.locator('a[href="/entity/component/default/playlist-service"]').first().click();
    await page.waitForURL(/\/entity\/component\/default\/playlist-service$/);
    await settled(page);
    assert.equal(await page.evaluate(() => window.__stayed), true, 'navigated inside the app');
    assert.match(await page.locator('h1').textContent(), /playlist-service/);
    // and the entity page links back to its graph
    await page.getByRole('link', { name: 'Dependency graph' }).click();
    await page.waitForURL(/\/graph\/component\/default\/playlist-service\?depth=1$/);
    await settled(page, 30000);
    await page.locator('#graph svg.dep-graph').waitFor();
    assert.deepEqual(page.problems, []);
    await page.close();
  });

  test('the graph of a team and the depth control; a table of nodes for readers without the drawing', async (t) => {
    if (await needs(t, server, '/api/v1/graph')) return;
    const page = await browser.newPage();
    await page.goto(`${server.url}/team/default/team-growth`);
    await settled(page);
    await page.getByRole('link', { name: 'Dependency graph of what it owns' }).click();
    await page.waitForURL(/\/graph\/group\/default\/team-growth\?depth=1$/);
    await settled(page, 30000);
    const d1 = await page.locator('#graph svg g.node').count();
    await page.selectOption('#graph-depth', '0');
    await page.waitForURL(/depth=0$/);
    await settled(page, 30000);
    await page.locator('#graph svg.dep-graph').waitFor();
    const d0 = await page.locator('#graph svg g.node').count();
    const json = await server.getJSON('/api/v1/graph?scope=group:default/team-growth&depth=0');
    assert.equal(d0, json.nodes.length);
    assert.ok(d1 > d0, `depth 1 (${d1}) shows more than depth 0 (${d0})`);
    await page.getByText('Nodes as a table').click();
    assert.equal(await page.locator('#graph-nodes tbody tr').count(), json.nodes.length);
    // team-spread and the shared database written by two teams are listed
    const rules = await page.locator('#graph-findings-table tbody tr td:nth-child(2)').allTextContents();
    assert.ok(rules.includes('team-spread') && rules.includes('shared-datastore'), rules.join());
    await screenshot(page, 'graph-team');
    assert.deepEqual(page.problems, []);
    await page.close();
  });

  test('architecture findings: table, counts, congruence, filters in the URL, links to graphs', async (t) => {
    if (await needs(t, server, '/api/v1/insights/architecture')) return;
    const all = await server.getJSON('/api/v1/insights/architecture');
    const page = await browser.newPage();
    await page.goto(`${server.url}/insights/architecture`);
    await settled(page);
    assert.equal(await page.locator('#arch-findings tbody tr').count(), all.findings.length);
    assert.match(await page.locator('.congruence').textContent(), /Conway congruence: .*16 of 35 dependencies/);
    assert.equal(await page.locator('#arch-teams tbody tr').count(), all.congruence.teams.length);
    await page.selectOption('#af-severity', 'error');
    await page.waitForURL(/severity=error/);
    await settled(page);
    const errors = all.findings.filter((f) => f.severity === 'error');
    assert.equal(await page.locator('#arch-findings tbody tr').count(), errors.length);
    // the shared database's graph: its subject is the scope
    await page.locator('#arch-findings tbody tr', { hasText: 'shared-datastore' }).getByRole('link', { name: 'Graph of resource:default/legacy-users-db' }).click();
    await page.waitForURL(/\/graph\/resource\/default\/legacy-users-db\?depth=1$/);
    await settled(page, 30000);
    const svg = page.locator('#graph svg.dep-graph');
    await svg.waitFor();
    assert.equal(await svg.locator('g.node.finding-error[data-ref="resource:default/legacy-users-db"]').count(), 1);
    assert.ok(await svg.locator('g.edge.writes').count() >= 2, 'the two writers are drawn bold');
    await screenshot(page, 'architecture-findings');
    assert.deepEqual(page.problems, []);
    await page.close();
  });

  test('the overview: architecture panel and the findings trend', async (t) => {
    if (await needs(t, server, '/api/v1/insights/history')) return;
    // today's snapshot is taken when the server starts
    for (let i = 0; i < 100; i++) {
      const hist = await server.getJSON('/api/v1/insights/history');
      if (hist.days.length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const page = await browser.newPage();
    await page.goto(`${server.url}/`);
    await settled(page, 30000);
    const arch = page.locator('#architecture-summary');
    assert.match(await arch.textContent(), /Conway congruence/);
    const trend = page.locator('#findings-trend');
    const points = trend.locator('svg [data-point]');
    assert.ok(await points.count() >= 1, 'today is on the chart');
    const today = new Date().toISOString().slice(0, 10);
    assert.match(await trend.locator(`[data-date="${today}"] title`).textContent(), /errors?, \d+ warnings?/);
    await page.getByText('Open findings per day: data table').click();
    assert.ok(await trend.locator('table tbody tr').count() >= 1);
    await screenshot(page, 'overview-trend');
    assert.deepEqual(page.problems, []);
    await page.close();
  });
});

// ---- hostile data ------------------------------------------------------------------------

const TITLE = `<img src=x onerror="window.__pwned='title'">Hostile <b>svc</b>`;
const HOSTILE = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: hostile-svc
  title: ${JSON.stringify(TITLE)}
  description: ${JSON.stringify(`<script>window.__pwned='desc'</script>`)}
  annotations:
    conway.dev/silence-dependency-cycle: ${JSON.stringify(`<img src=x onerror="window.__pwned='reason'">`)}
spec:
  type: service
  lifecycle: production
  owner: ${JSON.stringify(`group:default/<svg onload="window.__pwned='owner'">`)}
  system: hostile-sys
  dependsOn:
    - ${JSON.stringify(`component:default/"><script>window.__pwned='dep'</script>`)}
    - ${JSON.stringify(`component:default/x" onmouseover="window.__pwned='attr'`)}
    - component:default/hostile-loop
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: hostile-loop
spec:
  type: service
  lifecycle: production
  owner: team-a
  system: hostile-sys
  dependsOn: [component:default/hostile-svc]
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: hostile-sys
  title: ${JSON.stringify(`<iframe src="javascript:window.__pwned='sys'"></iframe>`)}
spec:
  owner: team-a
`;

describe('hostile catalog data', () => {
  let server;
  before(async () => { server = await startServer({ history: false, extraYaml: { 'hostile.yaml': HOSTILE } }); });
  after(async () => { await server?.stop(); });

  for (const path of ['/graph/system/default/hostile-sys', '/graph/component/default/hostile-svc?depth=2', '/insights/architecture']) {
    test(`${path} shows hostile names as text and runs nothing`, async (t) => {
      if (await needs(t, server, '/api/v1/graph')) return;
      const page = await browser.newPage();
      await page.goto(server.url + path);
      await settled(page, 30000);
      if (path.startsWith('/graph')) await page.locator('#graph svg.dep-graph').waitFor();
      await page.waitForTimeout(300); // onerror/onload would have fired by now
      const report = await page.evaluate(() => ({
        pwned: window.__pwned,
        scripts: [...document.querySelectorAll('script')].filter((s) => s.getAttribute('src') !== '/js/app.js').length,
        imgs: document.querySelectorAll('main img').length,
        iframes: document.querySelectorAll('iframe').length,
        foreign: document.querySelectorAll('foreignObject').length,
        handlers: [...document.querySelectorAll('*')].filter((el) => [...el.attributes].some((a) => /^on/i.test(a.name))).length,
        svgLinks: [...document.querySelectorAll('svg a')].map((a) => a.getAttribute('href') || '')
          .filter((h) => !h.startsWith('/entity/')),
        styles: document.querySelectorAll('main [style]').length,
      }));
      assert.deepEqual(report, { pwned: undefined, scripts: 0, imgs: 0, iframes: 0, foreign: 0, handlers: 0, svgLinks: [], styles: 0 });
      if (path.startsWith('/graph/system')) {
        // the hostile dependency is drawn with its name as text
        const labels = await page.locator('#graph svg g.node text').allTextContents();
        assert.ok(labels.some((l) => l.includes('<script>')), labels.join(' | '));
      }
      assert.deepEqual(page.problems, []);
      await page.close();
    });
  }
});
