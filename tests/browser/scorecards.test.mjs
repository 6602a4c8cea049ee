// scorecards.test.mjs — the scorecard and initiative pages of the web UI in
// Chromium (issue #15): the scorecard list, one scorecard's matrix of
// entities × checks with level badges and the filter by level, the level
// panel of an entity page and of a team page, and an initiative's page with
// its burn-up chart (one point per daily snapshot, backfilled here with
// `conway snapshot --now`), its pace and what remains per team — each
// compared with what the API answers. Scorecard, check and initiative names
// carry HTML and script: they must show as text and run nothing.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { conway, launchBrowser, repoRoot, screenshot, settled, startServer } from './server.mjs';

const HOSTILE = `<img src=x onerror="window.__pwned='scorecard'">Ready <b>now</b>`;
const HOSTILE_CHECK = `<script>window.__pwned='check'</script>Tagged`;
const HOSTILE_INI = `<svg onload="window.__pwned='initiative'"></svg><i>Silver</i> for all`;
const demo = existsSync(join(repoRoot, 'demo', 'org'));
const TEAM = demo ? 'team-playback' : 'team-a';
const D = 864e5;
const TODAY = Math.floor(Date.now() / D) * D;
const day = (ms) => new Date(ms).toISOString().slice(0, 10);
const y = (s) => JSON.stringify(s);

const yaml = `apiVersion: conway.dev/v1
kind: Scorecard
metadata: {name: ui-card, title: ${y(HOSTILE)}}
spec:
  filter: kind=component,relations.ownedby=group:default/${TEAM}
  levels: [bronze, silver, gold]
  checks:
    - {id: has-owner, name: Has an owner, level: bronze, rule: {fact: owner, operator: matches, value: "^group:"}}
    - {id: tagged, name: ${y(HOSTILE_CHECK)}, level: silver, rule: {all: [{fact: "entity.metadata.tags[0]", operator: exists, value: true}, {fact: entity.metadata.name, operator: matches, value: "^[a-r]"}]}}
    - {id: described, name: Described, level: gold, rule: {fact: entity.metadata.description, operator: exists, value: true}}
---
apiVersion: conway.dev/v1
kind: Initiative
metadata: {name: ui-ini, title: ${y(HOSTILE_INI)}}
spec:
  scorecard: ui-card
  targetLevel: silver
  owner: ${TEAM}
  start: ${day(TODAY - 5 * D)}
  deadline: ${day(TODAY + 30 * D)}
`;

let server;
let browser;

before(async () => {
  server = await startServer({ history: false, extraYaml: { 'scorecards.yaml': yaml } });
  browser = await launchBrowser();
  for (let k = 5; k >= 1; k--) {
    const r = conway(['snapshot', '--db', server.db, '--now', new Date(TODAY - k * D + 12 * 3600e3).toISOString()]);
    assert.equal(r.status, 0, r.stderr);
  }
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
    bold: document.querySelectorAll('main b, main i').length,
  }));
  assert.deepEqual(r, { pwned: undefined, handlers: 0, imgX: 0, bold: 0 }, where);
  assert.deepEqual(page.dialogs, [], `${where}: no dialog`);
  assert.deepEqual(page.problems, [], `${where}: no console error`);
}

const LEVEL_WORD = (level) => level || 'no level';

test('the scorecard list and one scorecard\'s matrix show what the API answers', async () => {
  const list = await server.getJSON('/api/v1/scorecards');
  const page = await browser.newPage();
  await page.goto(`${server.url}/scorecards`);
  await settled(page);
  assert.equal(await page.textContent('main h1'), 'Scorecards');
  assert.equal(await page.getAttribute('.site-header nav a[href="/scorecards"]', 'aria-current'), 'page');
  assert.equal(await page.locator('#scorecards tbody tr').count(), list.items.length);
  assert.ok((await page.textContent('#scorecards')).includes(HOSTILE));
  await inert(page, '/scorecards');

  await page.click(`#scorecards a[href="/scorecards/ui-card"]`);
  await page.waitForURL(/\/scorecards\/ui-card$/);
  await settled(page);
  const api = await server.getJSON('/api/v1/scorecards/ui-card/results?limit=200');
  assert.equal(await page.textContent('main h1'), `Scorecard: ${HOSTILE}`);
  const rows = page.locator('#scorecard-matrix tbody tr');
  assert.equal(await rows.count(), api.items.length);
  assert.ok(api.items.length >= 1);
  // the header names every check, hostile names as text
  const head = await page.locator('#scorecard-matrix thead th').allTextContents();
  assert.deepEqual(head, ['Entity', 'Level', 'Has an owner (bronze)', `${HOSTILE_CHECK} (silver)`, 'Described (gold)']);
  for (let i = 0; i < api.items.length; i++) {
    const cells = rows.nth(i).locator('td');
    assert.equal(await cells.nth(1).textContent(), LEVEL_WORD(api.items[i].level), api.items[i].entityRef);
    for (const [k, id] of ['has-owner', 'tagged', 'described'].entries()) {
      const st = api.items[i].checks.find((c) => c.id === id).state;
      assert.equal(await cells.nth(2 + k).locator('.visually-hidden').textContent(), { pass: 'passed', fail: 'failed', exempt: 'exempt' }[st]);
    }
  }
  await inert(page, '/scorecards/ui-card');
  await screenshot(page, 'scorecard-matrix');

  // filter: the entities below silver, as the API's level=silver
  await page.click('.level-filter a:has-text("below silver")');
  await page.waitForURL(/level=silver/);
  await settled(page);
  const below = await server.getJSON('/api/v1/scorecards/ui-card/results?limit=200&level=silver');
  const n = await page.locator('#scorecard-matrix tbody tr').count();
  assert.equal(n, below.items.length);
  if (n) {
    const levels = await page.locator('#scorecard-matrix tbody tr td:nth-child(2)').allTextContents();
    assert.ok(levels.every((l) => l === 'bronze' || l === 'no level'), levels.join());
  }
  assert.equal(await page.getAttribute('.level-filter a[aria-current]', 'href'), '/scorecards/ui-card?level=silver');
});

test('the entity page and the team page show the scorecard level', async () => {
  const api = await server.getJSON('/api/v1/scorecards/ui-card/results?limit=200');
  const item = api.items[0];
  const [kind, rest] = item.entityRef.split(':');
  const [ns, name] = rest.split('/');
  const page = await browser.newPage();
  await page.goto(`${server.url}/entity/${kind}/${ns}/${name}`);
  await settled(page);
  // one row per scorecard that judges it (the demo has its own too)
  const rows = await page.locator('#entity-scorecards tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  const row = rows.find((r) => r[0] === HOSTILE);
  assert.ok(row, JSON.stringify(rows));
  assert.equal(row[1], LEVEL_WORD(item.level));
  await inert(page, 'entity page');

  await page.goto(`${server.url}/team/default/${TEAM}`);
  await settled(page);
  const teamRows = await page.locator('#team-scorecards tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  const team = teamRows.find((r) => r[0] === HOSTILE);
  assert.ok(team, JSON.stringify(teamRows));
  // the team's level is the lowest of its entities'
  const idx = Math.min(...api.items.map((r) => (Number.isInteger(r.levelIndex) ? r.levelIndex : -1)));
  assert.equal(team[1], idx >= 0 ? ['bronze', 'silver', 'gold'][idx] : 'no level');
  await inert(page, 'team page');
  await screenshot(page, 'team-scorecards');
});

test('the initiative page draws the burn-up the API answers', async () => {
  const api = await server.getJSON('/api/v1/initiatives/ui-ini');
  assert.equal(api.burnup.length, 6, 'five snapshots and today');
  if (demo) assert.ok(api.remaining.length >= 1, 'names after r are below silver');
  const page = await browser.newPage();
  await page.goto(`${server.url}/initiatives`);
  await settled(page);
  assert.ok((await page.textContent('#initiatives')).includes(HOSTILE_INI));
  await page.click('#initiatives a[href="/initiatives/ui-ini"]');
  await page.waitForURL(/\/initiatives\/ui-ini$/);
  await settled(page);
  assert.equal(await page.textContent('main h1'), `Initiative: ${HOSTILE_INI}`);
  // one data point per burn-up point, carrying its share
  const pts = await page.locator('#initiative-progress svg.chart [data-point]').evaluateAll((els) => els.map((e) => [e.dataset.date, Number(e.dataset.value)]));
  assert.deepEqual(pts, api.burnup.map((p) => [p.day, p.done / p.total]));
  assert.equal(await page.locator('#initiative-progress .pace-line .status').textContent(), `${{ 'on-pace': '●', achieved: '✔', behind: '▲', missed: '✖', 'not-started': '…', unknown: '?' }[api.pace.verdict]} ${api.pace.verdict}`);
  assert.equal(await page.textContent('#initiative-progress .pace-line .break'), api.pace.reason);
  assert.equal(await page.locator('#initiative-progress svg.chart .reference.deadline').count(), 1);
  // remaining per team, and which ones
  assert.equal(await page.locator('#initiative-teams tbody tr').count(), api.teams.length);
  if (api.remaining.length) assert.equal(await page.locator('#initiative-remaining tbody tr').count(), api.remaining.length);
  await inert(page, '/initiatives/ui-ini');
  await screenshot(page, 'initiative-burnup');
  // an initiative that does not exist says so
  await page.goto(`${server.url}/initiatives/nothing-here`);
  await settled(page);
  assert.match(await page.textContent('main'), /not found|does not exist/i);
});
