// catalog.test.mjs — the catalog table against a real server: filters and
// search change the table and the URL (and a shared URL restores the view),
// paging moves through the results without loading everything, and a user can
// go from the catalog to an entity and on to its owning team.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, screenshot, settled, startServer } from './server.mjs';

let server;
let browser;

before(async () => {
  server = await startServer({ history: false });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

// hrefs of the entity links in the table, in order.
const tableRefs = (page) => page.$$eval('#entity-table tbody tr th a', (as) => as.map((a) => a.getAttribute('href')));
const apiRefs = (items) => items.map((e) => {
  const ns = e.metadata.namespace || 'default';
  const tail = e.metadata.name.includes('.') ? '/' : '';
  return `/entity/${e.kind.toLowerCase()}/${ns}/${e.metadata.name}${tail}`;
});

async function waitTable(page) {
  await settled(page);
  await page.waitForSelector('#entity-table, #results .notice');
}

// Opens the folded filters (closed unless the URL sets one of them).
async function openFilters(page) {
  if (!(await page.$eval('#catalog-filters', (d) => d.open))) await page.click('#catalog-filters > summary');
  await page.waitForSelector('#f-kind', { state: 'visible' });
}

test('the filters are folded by default, the search in view; a filter in the URL unfolds them', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/catalog`);
  await waitTable(page);
  assert.equal(await page.$eval('#catalog-filters', (d) => d.open), false, 'closed without filters');
  assert.ok(await page.isVisible('#f-q'), 'the search stays in view');
  assert.ok(!(await page.isVisible('#f-kind')) && !(await page.isVisible('#f-owner')) && !(await page.isVisible('#f-limit')));
  assert.match(await page.textContent('#catalog-filters > summary'), /^Filters \(none set\)$/);
  await screenshot(page, 'catalog-filters-folded');
  await page.click('#catalog-filters > summary');
  assert.equal(await page.$eval('#catalog-filters', (d) => d.open), true);
  assert.ok(await page.isVisible('#f-kind') && await page.isVisible('#f-owner'));
  // choosing a filter keeps it open and says what is set
  await page.selectOption('#f-kind', { value: 'Group' });
  await page.waitForURL(/[?&]kind=Group/);
  assert.match(await page.textContent('#catalog-filters > summary'), /\(Kind Group\)/);

  // a shared URL with a folded filter opens them; the navigation's default (Components) does not
  const owner = (await server.getJSON('/api/v1/entities?kind=Component&limit=1')).items[0].spec.owner;
  for (const [query, open] of [[`owner=${encodeURIComponent(owner)}`, true], ['kind=Group', true], ['limit=100', true], ['kind=Component', false], ['q=pay', false]]) {
    const p = await browser.newPage();
    await p.goto(`${server.url}/catalog?${query}`);
    await waitTable(p);
    assert.equal(await p.$eval('#catalog-filters', (d) => d.open), open, query);
    assert.equal(await p.isVisible('#f-kind'), open, query);
    if (query.startsWith('owner')) {
      assert.equal(await p.inputValue('#f-owner'), owner);
      await screenshot(p, 'catalog-filters-open');
    }
    if (query === 'kind=Component') assert.match(await p.textContent('#catalog-filters > summary'), /\(Kind Component\)/);
    assert.deepEqual(p.problems, []);
    await p.close();
  }
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('filters and search change the table and the URL; the URL restores the view', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/catalog`);
  await waitTable(page);
  const all = await server.getJSON('/api/v1/entities?limit=50');
  assert.deepEqual(await tableRefs(page), apiRefs(all.items), 'first page equals the API answer');
  assert.match(await page.textContent('#result-count'), new RegExp(`of ${all.totalItems.toLocaleString('en-US')} entities`));

  // Kind filter: a select in the folded filters, applied at once.
  await openFilters(page);
  await page.selectOption('#f-kind', { value: 'Group' });
  await page.waitForURL(/[?&]kind=Group/);
  await waitTable(page);
  const groups = await server.getJSON('/api/v1/entities?kind=Group&limit=50');
  assert.ok(groups.items.length > 0);
  assert.deepEqual(await tableRefs(page), apiRefs(groups.items));
  const kinds = await page.$$eval('#entity-table tbody tr td:nth-child(2)', (tds) => [...new Set(tds.map((t) => t.textContent))]);
  assert.deepEqual(kinds, ['Group']);

  // Text search on top of it.
  const word = groups.items[0].metadata.name.split('-').sort((a, b) => b.length - a.length)[0];
  await page.fill('#f-q', word);
  await page.waitForURL(new RegExp(`[?&]q=${word}`));
  await waitTable(page);
  const searched = await server.getJSON(`/api/v1/entities?kind=Group&q=${encodeURIComponent(word)}&limit=50`);
  assert.deepEqual(await tableRefs(page), apiRefs(searched.items));
  assert.ok(searched.items.length < groups.items.length || groups.items.length === 1, 'search narrows the list');
  const sharedUrl = page.url();
  await screenshot(page, 'catalog-filtered');

  // A fresh tab with the shared URL shows the same view with the same controls.
  const other = await browser.newPage();
  await other.goto(sharedUrl);
  await waitTable(other);
  assert.deepEqual(await tableRefs(other), apiRefs(searched.items));
  assert.equal(await other.inputValue('#f-q'), word);
  assert.equal(await other.inputValue('#f-kind'), 'Group');
  await other.close();

  // Back goes to the previous filters.
  await page.goBack();
  await page.waitForURL((u) => !u.searchParams.has('q'));
  await waitTable(page);
  assert.deepEqual(await tableRefs(page), apiRefs(groups.items));
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('filters by lifecycle and owner come from the facets and match the API', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/catalog?kind=Component`);
  await waitTable(page);
  await openFilters(page);
  const lifecycles = await page.$$eval('#f-lifecycle option', (os) => os.map((o) => o.value).filter(Boolean));
  assert.ok(lifecycles.length > 0, 'lifecycle options come from the facets');
  await page.selectOption('#f-lifecycle', lifecycles[0]);
  await page.waitForURL(new RegExp(`lifecycle=${lifecycles[0]}`));
  await waitTable(page);
  const expected = await server.getJSON(`/api/v1/entities?kind=Component&lifecycle=${lifecycles[0]}&limit=50`);
  assert.deepEqual(await tableRefs(page), apiRefs(expected.items));
  const shown = await page.$$eval('#entity-table tbody tr td:nth-child(6)', (tds) => [...new Set(tds.map((t) => t.textContent))]);
  assert.deepEqual(shown, [lifecycles[0]]);
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('paging: the next page holds the next entities and the URL carries the cursor', async () => {
  const page = await browser.newPage();
  const first = await server.getJSON('/api/v1/entities?limit=50');
  assert.ok(first.totalItems > 50 && first.nextCursor, 'the demo organisation has more than one page');
  await page.goto(`${server.url}/catalog`);
  await waitTable(page);
  const requests = [];
  page.on('request', (r) => {
    if (r.url().includes('/api/v1/entities')) requests.push(new URL(r.url()).searchParams.get('limit'));
  });
  await page.click('.pager a[rel="next"]');
  await page.waitForURL(/[?&]cursor=/);
  await waitTable(page);
  const second = await server.getJSON(`/api/v1/entities?limit=50&cursor=${encodeURIComponent(first.nextCursor)}`);
  assert.deepEqual(await tableRefs(page), apiRefs(second.items));
  assert.match(await page.textContent('#result-count'), /^Showing 51–/);
  assert.ok(requests.every((l) => l === '50'), 'pages are loaded 50 at a time');
  await page.click('.pager a:has-text("Previous page"), .pager a:has-text("First page")');
  await waitTable(page);
  assert.deepEqual(await tableRefs(page), apiRefs(first.items));
  // 100 rows per page is a choice.
  await openFilters(page);
  await page.selectOption('#f-limit', '100');
  await page.waitForURL(/limit=100/);
  await waitTable(page);
  assert.equal((await tableRefs(page)).length, Math.min(100, first.totalItems));
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('catalog → entity → owning team', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/catalog?kind=Component`);
  await waitTable(page);
  const rows = await page.$$eval('#entity-table tbody tr', (trs) => trs.map((tr, i) => ({
    i, href: tr.querySelector('th a').getAttribute('href'), owner: tr.querySelector('td:nth-child(4) a')?.getAttribute('href'),
  })));
  const row = rows.find((r) => r.owner && r.owner.startsWith('/team/'));
  assert.ok(row, 'some component has a team as owner');
  await page.click(`#entity-table tbody tr:nth-child(${row.i + 1}) th a`);
  await page.waitForURL((u) => u.pathname === row.href);
  await settled(page);
  const comp = await server.getJSON(`/api/v1/entities${row.href.replace('/entity', '').replace(/\/$/, '')}`);
  assert.equal((await page.textContent('main h1')).trim(), comp.metadata.title || comp.metadata.name);
  await page.click('#about dd a[href^="/team/"]');
  await page.waitForURL((u) => u.pathname === row.owner);
  await settled(page);
  const [, , ns, name] = row.owner.split('/');
  const group = await server.getJSON(`/api/v1/entities/group/${ns}/${name}`);
  assert.equal((await page.textContent('main h1')).trim(), group.spec?.profile?.displayName || group.metadata.title || group.metadata.name);
  const owned = await page.$$eval('#owned-table tbody th a', (as) => as.map((a) => a.getAttribute('href')));
  assert.ok(owned.includes(row.href), 'the team page lists the component');
  // The browser's back button returns to the entity.
  await page.goBack();
  await page.waitForURL((u) => u.pathname === row.href);
  await settled(page);
  assert.equal((await page.textContent('main h1')).trim(), comp.metadata.title || comp.metadata.name);
  assert.deepEqual(page.problems, []);
  await page.close();
});
