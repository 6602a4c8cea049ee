// newcomer.test.mjs — the UI items of issue 18 against a real server with the
// demo organisation and its history: a tribe's page compares its child teams
// (rolled up, sortable columns). Saves screenshots under build/screenshots/.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, screenshot, settled, startServer } from './server.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

describe('roll-ups', () => {
  test('a tribe compares its child teams side by side, sortable by every column', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/team/default/listening-tribe`);
    await settled(page);
    const rows = page.locator('#comparison-table tbody tr');
    const n = await rows.count();
    assert.ok(n >= 2, `the tribe has child teams (${n})`);
    const cmp = await server.getJSON('/api/v1/teams/default/listening-tribe/comparison');
    assert.equal(n, cmp.items.length);
    assert.ok(cmp.group.dora.deployments > 0, 'the demo history deploys the tribe\'s components');
    // the footer is the tribe's own roll-up
    assert.match(await page.textContent('#comparison-table tfoot'), /\(all\)/);
    const deploys = async () => page.$$eval('#comparison-table tbody tr', (trs) => trs.map((tr) => Number(tr.cells[2].dataset.sort)));
    await page.click('#comparison-table thead th:nth-child(3) button');
    const up = await deploys();
    assert.deepEqual(up, [...up].sort((a, b) => a - b));
    assert.equal(await page.getAttribute('#comparison-table thead th:nth-child(3)', 'aria-sort'), 'ascending');
    await page.click('#comparison-table thead th:nth-child(3) button');
    const down = await deploys();
    assert.deepEqual(down, [...up].sort((a, b) => b - a));
    assert.equal(await page.getAttribute('#comparison-table thead th:nth-child(3)', 'aria-sort'), 'descending');
    // the tribe has no members of its own: no warning, a hint
    assert.equal(await page.locator('#people .notice-warning:has-text("no members")').count(), 0);
    assert.deepEqual(page.problems, []);
    await screenshot(page, 'team-comparison');
    await page.close();
  });
});

describe('service page', () => {
  test('leads with a status banner and a summary, then tabs that keep their place in the address', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/entity/component/default/stream-delivery-service`);
    await settled(page);
    assert.match(await page.textContent('#status-banner'), /^Status: /);
    assert.equal(await page.locator('[role="tablist"] [role="tab"]').count(), 5);
    const tabs = await page.$$eval('[role="tab"]', (bs) => bs.map((b) => b.textContent));
    assert.deepEqual(tabs, ['Overview', 'Delivery', 'Responsibilities', 'Dependencies', 'Events']);
    // the overview: summary with owner, on call, tiles and the last deployments
    assert.ok(await page.isVisible('#summary'));
    assert.match(await page.textContent('#summary'), /Accountable on call/);
    assert.ok(await page.locator('#last-deployments tbody tr').count() > 0, 'the demo history deploys it');
    assert.ok(!(await page.isVisible('#relations')));
    await page.click('#tab-dependencies');
    assert.ok(await page.isVisible('#relations'));
    assert.ok(!(await page.isVisible('#summary')));
    assert.match(page.url(), /\?tab=dependencies$/);
    // keyboard: arrow right moves to Events
    await page.focus('#tab-dependencies');
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.getAttribute('#tab-events', 'aria-selected'), 'true');
    assert.ok(await page.isVisible('#events'));
    await page.reload();
    await settled(page);
    assert.equal(await page.getAttribute('#tab-events', 'aria-selected'), 'true', 'the tab survives a reload');
    assert.deepEqual(page.problems, []);
    await screenshot(page, 'service-tabs');
    await page.close();
  });
});

describe('header', () => {
  test('global search opens the catalog filtered by the text; Teams is in the navigation', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/`);
    await settled(page);
    await page.fill('#global-search-q', 'playback');
    await page.press('#global-search-q', 'Enter');
    await settled(page);
    assert.match(page.url(), /\/catalog\?q=playback$/);
    const names = await page.$$eval('main table tbody th', (ths) => ths.map((t) => t.textContent.toLowerCase()));
    assert.ok(names.length > 0 && names.some((n) => n.includes('playback')), names.join(','));
    await page.click('.site-header nav a[href="/teams"]');
    await settled(page);
    assert.equal((await page.textContent('main h1')).trim(), 'Teams');
    assert.equal(await page.getAttribute('.site-header nav a[href="/teams"]', 'aria-current'), 'page');
    const rows = await page.locator('#teams-table tbody tr').count();
    const groups = await server.getJSON('/api/v1/entities?kind=Group&limit=1');
    assert.equal(rows, groups.totalItems);
    // sortable: by type
    await page.click('#teams-table thead th:nth-child(2) button');
    const types = await page.$$eval('#teams-table tbody tr', (trs) => trs.map((tr) => tr.cells[1].textContent));
    assert.deepEqual(types, [...types].sort((a, b) => a.localeCompare(b, undefined, { sensitivity: 'base' })));
    assert.deepEqual(page.problems, []);
    await screenshot(page, 'teams');
    await page.close();
  });

  test('dark mode follows prefers-color-scheme and the toggle, which is kept', async () => {
    const page = await browser.newPage();
    await page.emulateMedia({ colorScheme: 'dark' });
    const bg = () => page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    const luminance = (rgb) => {
      const [r, g, b] = rgb.match(/\d+/g).map(Number);
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    await page.goto(`${server.url}/`);
    await settled(page);
    assert.ok(luminance(await bg()) < 60, `dark background under prefers-color-scheme: dark (${await bg()})`);
    assert.equal(await page.getAttribute('#theme-toggle', 'aria-pressed'), 'true');
    await page.click('#theme-toggle');
    assert.ok(luminance(await bg()) > 200, 'the toggle switches to light');
    assert.equal(await page.getAttribute('#theme-toggle', 'aria-pressed'), 'false');
    await page.reload();
    await settled(page);
    assert.ok(luminance(await bg()) > 200, 'the choice is kept');
    await page.click('#theme-toggle');
    assert.ok(luminance(await bg()) < 60, 'and back to dark');
    await screenshot(page, 'overview-dark');
    // the system's choice again for the other tests
    await page.evaluate(() => localStorage.removeItem('conway.theme'));
    await page.emulateMedia({ colorScheme: 'light' });
    await page.reload();
    await settled(page);
    assert.ok(luminance(await bg()) > 200, 'light under prefers-color-scheme: light');
    assert.deepEqual(page.problems, []);
    await page.close();
  });
});

describe('insight pages', () => {
  test('one window selector: 7/30/90 days and dates, shared by every DORA block', async () => {
    const page = await browser.newPage();
    const asked = [];
    page.on('request', (r) => { if (r.url().includes('/api/v1/insights/dora')) asked.push(new URL(r.url()).searchParams); });
    await page.goto(`${server.url}/`);
    await settled(page);
    const span = (p) => (Date.parse(p.get('to')) - Date.parse(p.get('from'))) / 86400000;
    assert.equal(span(asked.at(-1)), 30, 'the API\'s default window');
    await page.check('.window-selector input[value="7"]');
    await settled(page);
    assert.equal(span(asked.at(-1)), 7);
    assert.match(await page.textContent('#org-delivery .period'), /^Last 7 days/);
    // the team page uses the same window
    await page.goto(`${server.url}/team/default/team-playback`);
    await settled(page);
    assert.equal(span(asked.at(-1)), 7);
    assert.ok(await page.isChecked('.window-selector input[value="7"]'));
    await page.fill('.window-selector input[name="from"]', '2026-01-01');
    await page.fill('.window-selector input[name="to"]', '2026-01-31');
    await page.click('.window-selector button[type="submit"]');
    await settled(page);
    assert.equal(asked.at(-1).get('from'), '2026-01-01T00:00:00Z');
    assert.equal(asked.at(-1).get('to'), '2026-02-01T00:00:00Z');
    assert.deepEqual(page.problems, []);
    await page.close();
  });

  test('Undeployed has a team column and sortable columns', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/insights/undeployed`);
    await settled(page);
    const heads = await page.$$eval('#undeployed thead th', (ths) => ths.map((t) => t.textContent.replace(/[⇅▲▼]/g, '').trim()));
    assert.deepEqual(heads, ['Service', 'Team', 'Undeployed changes', 'Oldest merge', 'Waiting for']);
    const teams = await page.$$eval('#undeployed tbody tr td:nth-child(2) a', (as) => as.map((a) => a.getAttribute('href')));
    assert.ok(teams.length > 0 && teams.every((t) => t.startsWith('/team/') || t.startsWith('/entity/user/')), teams.join(','));
    assert.ok(teams.filter((t) => t.startsWith('/team/')).length > teams.length / 2);
    await page.click('#undeployed thead th:nth-child(3) button');
    const counts = await page.$$eval('#undeployed tbody tr', (trs) => trs.map((tr) => Number(tr.cells[2].dataset.sort)));
    assert.deepEqual(counts, [...counts].sort((a, b) => a - b));
    assert.deepEqual(page.problems, []);
    await page.close();
  });
});

describe('first run', () => {
  test('an empty organisation gets the first-run panel and no verdicts', async () => {
    const empty = await startServer({ empty: true });
    const page = await browser.newPage();
    try {
      await page.goto(`${empty.url}/`);
      await settled(page);
      assert.ok(await page.isVisible('#first-run'));
      const text = await page.textContent('main');
      assert.match(text, /conway import/);
      assert.match(text, /POST|\/api\/v1\/events/);
      assert.doesNotMatch(text, /performer/i, 'no DORA level without data');
      assert.doesNotMatch(text, /Every merged change is in production/);
      assert.equal(await page.locator('.level').count(), 0);
      await screenshot(page, 'first-run');
      // a catalog without events: DORA and undeployed say what to send
      const admin = empty.token('admin');
      const imp = await fetch(`${empty.url}/api/v1/import`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify([{ apiVersion: 'backstage.io/v1alpha1', kind: 'Component', metadata: { name: 'solo' }, spec: { type: 'service', lifecycle: 'production', owner: 'nobody' } }]) });
      assert.equal(imp.status, 200);
      await page.goto(`${empty.url}/`);
      await settled(page);
      assert.equal(await page.locator('#first-run').count(), 0);
      assert.match(await page.textContent('#org-delivery'), /nothing to rate yet/);
      assert.equal(await page.locator('#org-delivery .level').count(), 0);
      assert.match(await page.textContent('#oldest-undeployed'), /No merged changes are known yet/);
      assert.deepEqual(page.problems, []);
      await screenshot(page, 'first-run-catalog-only');
    } finally {
      await page.close();
      await empty.stop();
    }
  });
});

describe('catalog', () => {
  test('the navigation opens Components; columns sort within the page', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/`);
    await settled(page);
    await page.click('.site-header nav a[data-section="catalog"]');
    await page.waitForURL(/\/catalog\?kind=Component$/);
    await settled(page);
    const kinds = await page.$$eval('#entity-table tbody tr', (trs) => trs.map((tr) => tr.cells[1].textContent));
    assert.ok(kinds.length > 0 && kinds.every((k) => k === 'Component'), kinds.join(','));
    await page.click('#entity-table thead th:nth-child(4) button'); // Owner
    const owners = await page.$$eval('#entity-table tbody tr', (trs) => trs.map((tr) => tr.cells[3].textContent.trim()).filter((t) => t !== '—'));
    assert.deepEqual(owners, [...owners].sort((a, b) => a.localeCompare(b, undefined, { numeric: true, sensitivity: 'base' })));
    assert.equal(await page.getAttribute('#entity-table thead th:nth-child(4)', 'aria-sort'), 'ascending');
    assert.deepEqual(page.problems, []);
    await page.close();
  });
});

describe('coupling', () => {
  test('the window is picked with dates: from the first day to the end of the last', async () => {
    const page = await browser.newPage();
    const asked = [];
    page.on('request', (r) => { if (r.url().includes('/api/v1/insights/coupling')) asked.push(new URL(r.url()).searchParams); });
    await page.goto(`${server.url}/insights/coupling`);
    await settled(page);
    assert.equal(await page.getAttribute('#f-from', 'type'), 'date');
    await page.fill('#f-from', '2026-11-01');
    await page.fill('#f-to', '2026-11-30');
    await page.click('form.filters button[type="submit"]');
    await page.waitForURL(/from=2026-11-01/);
    await settled(page);
    assert.equal(asked.at(-1).get('from'), '2026-11-01T00:00:00Z');
    assert.equal(asked.at(-1).get('to'), '2026-12-01T00:00:00Z');
    assert.equal(await page.inputValue('#f-from'), '2026-11-01', 'the picker shows the day again');
    assert.deepEqual(page.problems, []);
    await page.close();
  });
});
