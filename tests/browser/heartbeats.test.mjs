// heartbeats.test.mjs — the heartbeat pages of the web UI in Chromium
// (issue #14): the status page of all heartbeats (down and late first,
// counts by status, filters by status and team), one heartbeat's page with
// its ping log and status changes, and the heartbeat panels of resource,
// component and team pages (status, last ping, next due, what it protects).
// A ping's body and User-Agent are the pinger's and entity descriptions the
// catalog's: they carry HTML and script and must show as text, run nothing.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launchBrowser, repoRoot, screenshot, settled, startServer } from './server.mjs';

const HOSTILE_BODY = `<img src=x onerror="window.__pwned='body'">backup <b>done</b>`;
const HOSTILE_UA = `<script>window.__pwned='ua'</script>curl/8`;
const HOSTILE_DESC = `<svg onload="window.__pwned='desc'"></svg><i>nightly</i>`;
const demo = existsSync(join(repoRoot, 'demo', 'org'));
const TEAM = demo ? 'team-playback' : 'team-a';
const COMPONENT = demo ? 'playback-service' : 'artist-web';

const yaml = `apiVersion: backstage.io/v1alpha1
kind: Resource
metadata: {name: hb-ui-db}
spec: {type: database, owner: ${TEAM}, lifecycle: production}
---
apiVersion: conway.dev/v1
kind: Heartbeat
metadata: {name: ui-restore}
spec: {owner: ${TEAM}, purpose: restore-test, target: resource:default/hb-ui-db, cron: "0 4 * * 0", tz: Europe/Berlin, grace: 2h}
---
apiVersion: conway.dev/v1
kind: Heartbeat
metadata: {name: ui-job}
spec: {owner: ${TEAM}, purpose: job, target: component:default/${COMPONENT}, period: 1d, grace: 1h}
`;

let server;
let browser;

async function mintKey(name, token) {
  const r = await fetch(`${server.url}/api/v1/heartbeats/default/${name}/ping-key`,
    { method: 'POST', body: '', headers: { authorization: `Bearer ${token}` } });
  const text = await r.text();
  assert.equal(r.status, 201, text);
  return JSON.parse(text).pingKey;
}

before(async () => {
  server = await startServer({ history: false, extraYaml: { 'heartbeats.yaml': yaml }, serveArgs: ['--heartbeat-min-seconds', '1'] });
  const editor = server.token('editor');
  // a period of a second: only `serve --heartbeat-min-seconds 1` accepts it
  let r = await fetch(`${server.url}/api/v1/entities/Heartbeat/default/ui-db.backup`, {
    method: 'PUT', headers: { authorization: `Bearer ${editor}`, 'content-type': 'application/json' },
    body: JSON.stringify({ apiVersion: 'conway.dev/v1', kind: 'Heartbeat',
      metadata: { name: 'ui-db.backup', description: HOSTILE_DESC },
      spec: { owner: TEAM, purpose: 'backup', target: 'resource:default/hb-ui-db', period: '1s', grace: '1s' } }),
  });
  assert.equal(r.status, 201, await r.text());
  const restoreKey = await mintKey('ui-restore', editor);
  r = await fetch(`${server.url}/ping/${restoreKey}`, { method: 'POST', body: HOSTILE_BODY, headers: { 'user-agent': HOSTILE_UA } });
  assert.equal(await r.text(), 'OK');
  // the backup pings once, then stops: down after its period and grace
  const backupKey = await mintKey('ui-db.backup', editor);
  r = await fetch(`${server.url}/ping/${backupKey}`);
  assert.equal(await r.text(), 'OK');
  for (let i = 0; i < 100; i++) {
    const hb = await server.getJSON('/api/v1/heartbeats/default/ui-db.backup');
    if (hb.status === 'down') break;
    await new Promise((res) => setTimeout(res, 100));
  }
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function inert(page, where) {
  await page.waitForTimeout(300); // give onerror/onload handlers a chance to fire
  const r = await page.evaluate(() => ({
    pwned: window.__pwned,
    imgX: document.querySelectorAll('img[src="x"]').length,
    handlers: document.querySelectorAll('[onerror], [onload], [onclick]').length,
    scripts: [...document.querySelectorAll('main script')].length,
    bold: document.querySelectorAll('main b, main i, main svg:not([class])').length,
  }));
  assert.equal(r.pwned, undefined, `${where}: nothing ran`);
  assert.equal(r.imgX, 0, `${where}: no image from data`);
  assert.equal(r.handlers, 0, `${where}: no inline handler`);
  assert.equal(r.scripts, 0, `${where}: no script element`);
  assert.equal(r.bold, 0, `${where}: no markup from data`);
  assert.deepEqual(page.problems, [], `${where}: no console errors`);
}

const rowsOf = (page, sel = 'main table.heartbeats tbody tr') => page.locator(sel).allTextContents();

test('the status page lists every heartbeat, down and late first, and filters by status and team', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/heartbeats`);
  await settled(page);
  await page.waitForSelector('main table.heartbeats tbody tr');
  assert.equal(await page.locator('nav a[aria-current="page"]').textContent(), 'Heartbeats');
  const rows = await rowsOf(page);
  assert.equal(rows.length, 3, rows.join('\n'));
  assert.match(rows[0], /^ui-db\.backup\s*down/, 'the down heartbeat comes first');
  assert.ok(rows.some((x) => /^ui-restore\s*up/.test(x)), rows.join('\n'));
  assert.ok(rows.some((x) => /^ui-job\s*new/.test(x)), rows.join('\n'));
  assert.match(rows[0], /hb-ui-db/, 'what it protects');
  const counts = await page.locator('#hb-counts').textContent();
  assert.match(counts, /down 1/);
  assert.match(counts, /up 1/);
  assert.match(counts, /new 1/);
  await inert(page, 'status page');
  await page.selectOption('#hb-status', 'up');
  await page.waitForURL(/status=up/);
  await settled(page);
  await page.waitForFunction(() => document.querySelectorAll('main table.heartbeats tbody tr').length === 1);
  assert.match((await rowsOf(page))[0], /^ui-restore/);
  // the team filter: the demo's team owns them all, another team none
  await page.goto(`${server.url}/heartbeats?owner=group:default/nobody-owns-these`);
  await settled(page);
  await page.waitForSelector('main .result-count');
  assert.equal(await page.locator('main .result-count').textContent(), 'No heartbeats match.');
  await page.goto(`${server.url}/heartbeats`);
  await settled(page);
  await page.fill('#hb-owner', TEAM);
  await page.click('main form.filters button[type=submit]');
  await page.waitForURL(new RegExp(`owner=${TEAM}`));
  await settled(page);
  await page.waitForSelector('main table.heartbeats tbody tr');
  assert.equal((await rowsOf(page)).length, 3);
  await screenshot(page, 'heartbeats-status');
  await page.close();
});

test('a heartbeat page shows its facts, the ping log with bodies and the status changes, as text', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/heartbeats`);
  await settled(page);
  await page.click('main table.heartbeats a:text-is("ui-restore")');
  await page.waitForURL(/\/heartbeats\/default\/ui-restore$/);
  await settled(page);
  await page.waitForSelector('#ping-log');
  assert.equal(await page.locator('main h1').textContent(), 'ui-restore');
  const about = await page.locator('#about').textContent();
  assert.match(about, /Protects\s*resource:default\/hb-ui-db|Protects\s*resource:hb-ui-db/);
  assert.match(about, /cron 0 4 \* \* 0 \(Europe\/Berlin\), grace 2h/);
  assert.match(about, /Next due\s*20\d\d-\d\d-\d\d 0[23]:00 UTC/, 'Sunday 04:00 Berlin');
  const pings = await rowsOf(page, '#ping-log tbody tr');
  assert.equal(pings.length, 1);
  assert.ok(pings[0].includes(HOSTILE_BODY), 'the body shows as text');
  assert.ok(pings[0].includes(HOSTILE_UA), 'the user agent shows as text');
  assert.match(pings[0], /success/);
  const changes = await rowsOf(page, '#status-changes tbody tr');
  assert.equal(changes.length, 1);
  assert.match(changes[0], /new\s*up/);
  await inert(page, 'heartbeat page');
  // a name with dots: its address ends with a slash, and it loads
  await page.goto(`${server.url}/heartbeats`);
  await settled(page);
  await page.click('main table.heartbeats a:text-is("ui-db.backup")');
  await page.waitForURL(/\/heartbeats\/default\/ui-db\.backup\/$/);
  await settled(page);
  await page.waitForSelector('#status-changes');
  assert.match(await page.locator('main .subtitle').textContent(), /down · backup/);
  const flips = await rowsOf(page, '#status-changes tbody tr');
  assert.match(flips[0], /up\s*down\s*timeout/);
  await inert(page, 'down heartbeat page');
  // the entity page of a heartbeat links here; its description is text
  await page.goto(`${server.url}/entity/heartbeat/default/ui-db.backup/`);
  await settled(page);
  assert.ok((await page.locator('#about').textContent()).includes(HOSTILE_DESC));
  await page.click('a:text-is("Status, ping log and status changes")');
  await page.waitForURL(/\/heartbeats\/default\/ui-db\.backup\/$/);
  await inert(page, 'heartbeat entity page');
  await screenshot(page, 'heartbeat-page');
  await page.close();
});

test('resource, component and team pages show the heartbeats that protect them or that they own', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/entity/resource/default/hb-ui-db`);
  await settled(page);
  await page.waitForSelector('#heartbeats table.heartbeats tbody tr');
  let rows = await rowsOf(page, '#heartbeats tbody tr');
  assert.equal(rows.length, 2, rows.join('\n'));
  assert.match(await page.locator('#heartbeats').textContent(), /1 down\./);
  const headers = await page.locator('#heartbeats thead th').allTextContents();
  assert.deepEqual(headers, ['Heartbeat', 'Status', 'Purpose', 'Owner', 'Last ping', 'Next due', 'Schedule']);
  await inert(page, 'resource page');

  await page.goto(`${server.url}/entity/component/default/${COMPONENT}`);
  await settled(page);
  await page.waitForSelector('#heartbeats table.heartbeats tbody tr');
  rows = await rowsOf(page, '#heartbeats tbody tr');
  assert.equal(rows.length, 1);
  assert.match(rows[0], /^ui-job\s*new\s*job/);

  await page.goto(`${server.url}/team/default/${TEAM}`);
  await settled(page);
  await page.waitForSelector('#heartbeats table.heartbeats tbody tr');
  rows = await rowsOf(page, '#heartbeats tbody tr');
  assert.equal(rows.length, 3);
  assert.ok(!(await page.locator('#heartbeats thead').textContent()).includes('Owner'));
  await page.click('#heartbeats a:text-is("Status page of these heartbeats")');
  await page.waitForURL(/\/heartbeats\?owner=/);
  await settled(page);
  await page.waitForSelector('main table.heartbeats tbody tr');
  assert.equal((await rowsOf(page)).length, 3);
  await inert(page, 'team page');
  await page.close();
});
