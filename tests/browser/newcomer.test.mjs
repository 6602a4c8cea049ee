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
