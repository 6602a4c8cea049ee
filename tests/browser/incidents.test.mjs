// incidents.test.mjs — the incident pages of the web UI in Chromium (issue
// #13): the incident list with its filters, an incident's page with its
// timeline, likely cause and postmortem, the postmortem view of the entity
// page, the team page's open action items (overdue first) and the banner of
// a component with an open incident. Incident titles, alert labels and
// postmortem texts carry HTML and script: they must show as text and run
// nothing.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launchBrowser, repoRoot, screenshot, settled, startServer } from './server.mjs';

const HOSTILE = `<img src=x onerror="window.__pwned='incident'">Checkout <b>down</b>`;
const HOSTILE_LABEL = `<script>window.__pwned='label'</script>`;
const HOSTILE_PM = `<svg onload="window.__pwned='postmortem'"></svg><i>wiped</i>`;
const demo = existsSync(join(repoRoot, 'demo', 'org'));
// an existing team and one of its components (the demo organisation, else the Backstage examples)
const TEAM = demo ? 'team-playback' : 'team-a';
const COMPONENT = demo ? 'playback-service' : 'artist-web';

const yamlString = (s) => JSON.stringify(s);
const postmortemYaml = () => `apiVersion: conway.dev/v1
kind: Postmortem
metadata:
  name: ui-outage
  title: UI outage review
spec:
  owner: ${TEAM}
  incidents: [INC-UI-1]
  summary: ${yamlString(`The database was ${HOSTILE_PM}.`)}
  impact: Half an hour of errors.
  timeline:
    - {at: 2026-01-10T10:00:00Z, text: ${yamlString(`Alert fired ${HOSTILE}`)}}
    - {at: 2026-01-10, text: Rolled back}
  whys: [Why one, Why two, Why three, Why four, Why five]
  contributingFactors: [No canary]
  lessons: [Canary everything]
  actionItems:
    - {id: AI-1, title: Add a canary, owner: ${TEAM}, due: 2026-01-20, status: open, issueUrl: https://tracker.example/1}
    - {id: AI-2, title: ${yamlString(`Write a runbook ${HOSTILE}`)}, owner: ${TEAM}, due: 2999-01-01, status: in-progress}
    - {id: AI-3, title: Done already, owner: ${TEAM}, due: 2026-01-15, status: done, doneAt: 2026-01-14}
`;

let server;
let browser;
let incidentId;

before(async () => {
  server = await startServer({ history: false, extraYaml: { 'postmortem.yaml': postmortemYaml() } });
  const admin = server.token('admin');
  const t0 = Date.parse('2026-01-10T10:00:00Z');
  const ev = (id, pred, t, extra = {}) => ({
    context: { specversion: '0.5.1', id, source: '/pager', type: `dev.cdevents.incident.${pred}.0.3.0`, timestamp: new Date(t).toISOString() },
    subject: { id: extra.subject || 'INC-UI-1', content: { environment: { id: 'production' }, service: { id: COMPONENT }, description: HOSTILE } },
    customData: { severity: extra.severity || 'critical' },
  });
  const post = (path, body, type = 'application/json') => fetch(`${server.url}${path}`, {
    method: 'POST', body, headers: { authorization: `Bearer ${admin}`, 'content-type': type },
  });
  let r = await post('/api/v1/events', JSON.stringify([ev('ui-1', 'detected', t0), ev('ui-2', 'resolved', t0 + 1800000),
    ev('ui-3', 'detected', Date.now() - 3600000, { subject: 'INC-UI-2', severity: 'warning' })]));
  assert.equal(r.status, 202, await r.text());
  // an Alertmanager group with hostile labels, still firing
  r = await post('/api/v1/hooks/alertmanager', JSON.stringify({
    version: '4', groupKey: '{}:{alertname="UiTest"}', status: 'firing', receiver: 'conway',
    commonLabels: { alertname: 'UiTest', service: COMPONENT }, commonAnnotations: { summary: HOSTILE },
    alerts: [{ status: 'firing', labels: { alertname: 'UiTest', service: COMPONENT, note: HOSTILE_LABEL }, annotations: { summary: HOSTILE },
      startsAt: new Date(Date.now() - 600000).toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: 'javascript:window.__pwned="gen"', fingerprint: 'ui0123456789abcd' }],
  }));
  assert.equal(r.status, 200, await r.text());
  const list = await server.getJSON('/api/v1/incidents?ref=INC-UI-1');
  incidentId = list.items[0].id;
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
    badLinks: [...document.querySelectorAll('a[href]')].map((a) => a.getAttribute('href')).filter((x) => !/^(https?:|\/|#)/.test(x)),
  }));
  assert.equal(r.pwned, undefined, `${where}: nothing ran`);
  assert.equal(r.imgX, 0, `${where}: no image from data`);
  assert.equal(r.handlers, 0, `${where}: no inline handler`);
  assert.equal(r.scripts, 0, `${where}: no script element`);
  assert.equal(r.bold, 0, `${where}: no markup from data`);
  assert.deepEqual(r.badLinks, [], `${where}: only http(s) and app links`);
  assert.deepEqual(page.problems, [], `${where}: no console errors`);
  assert.deepEqual(page.dialogs, [], `${where}: no dialogs`);
}

test('the incident list shows open incidents first, filters by state, and links to each', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/incidents`);
  await settled(page);
  await page.waitForSelector('#incident-table tbody tr');
  assert.equal(await page.locator('nav a[aria-current="page"]').textContent(), 'Incidents');
  // open only by default: the Alertmanager incident and INC-UI-2, not the resolved one
  const rows = await page.locator('#incident-table tbody tr').allTextContents();
  assert.equal(rows.length, 2, rows.join('\n'));
  assert.ok(rows.some((r) => r.includes('INC-UI-2')));
  assert.ok(!rows.some((r) => r.includes('INC-UI-1')));
  assert.ok(rows.some((r) => r.includes(HOSTILE)), 'the hostile title shows as text');
  await inert(page, 'incident list');
  await page.selectOption('#incident-state', '');
  await page.waitForURL(/state=$|state=&|state=(?!open)/);
  await settled(page);
  await page.waitForFunction(() => document.querySelectorAll('#incident-table tbody tr').length === 3);
  await page.selectOption('#incident-severity', 'warning');
  await settled(page);
  await page.waitForFunction(() => document.querySelectorAll('#incident-table tbody tr').length === 1);
  assert.match(await page.locator('#incident-table tbody').textContent(), /INC-UI-2/);
  await screenshot(page, 'incidents-list');
  await page.close();
});

test('an incident page shows its facts, timeline and postmortem, as text', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/incidents/${incidentId}`);
  await settled(page);
  assert.equal(await page.locator('main h1').textContent(), HOSTILE);
  const about = await page.locator('#incident-about').textContent();
  assert.match(about, new RegExp(`component:default/${COMPONENT}|${COMPONENT}`));
  assert.match(about, /30 min/); // time to restore
  const entries = await page.locator('#incident-timeline li').allTextContents();
  assert.equal(entries.length, 2);
  assert.match(entries[0], /^2026-01-10 10:00 UTC event incident\.detected/);
  assert.match(entries[1], /incident\.resolved/);
  const pm = page.locator('#incident-postmortems');
  await pm.getByRole('link', { name: 'UI outage review' }).waitFor();
  assert.match(await pm.textContent(), /2 of 3 action items open/);
  await inert(page, 'incident page');
  await screenshot(page, 'incident-page');
  // the postmortem link opens the postmortem view
  await pm.getByRole('link', { name: 'UI outage review' }).click();
  await settled(page);
  await page.waitForSelector('#postmortem-actions');
  assert.equal(await page.locator('main h1').textContent(), 'UI outage review');
  assert.equal(await page.locator('#postmortem-whys li').count(), 5);
  assert.match(await page.locator('#postmortem').textContent(), new RegExp(`The database was ${HOSTILE_PM.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  const actions = await page.locator('#postmortem-actions tbody tr').allTextContents();
  assert.equal(actions.length, 3);
  assert.match(actions[0], /AI-1.*Add a canary.*2026-01-20 overdue.*open/);
  assert.doesNotMatch(actions[1], /overdue/); // due in 2999
  assert.doesNotMatch(actions[2], /overdue/); // done
  // the incident it lists links back once resolved by the API
  await page.locator('.incident-refs a').first().waitFor();
  assert.equal(await page.locator('.incident-refs a').first().getAttribute('href'), `/incidents/${incidentId}`);
  assert.equal(await page.locator('a[href="https://tracker.example/1"]').count(), 1);
  await inert(page, 'postmortem view');
  await screenshot(page, 'postmortem-view');
  await page.close();
});

test('the Alertmanager incident shows its alerts; labels and a javascript: source stay text', async () => {
  const page = await browser.newPage();
  const list = await server.getJSON('/api/v1/incidents?state=open');
  const am = list.items.find((i) => i.alertGroup);
  await page.goto(`${server.url}/incidents/${am.id}`);
  await settled(page);
  await page.waitForSelector('#incident-alerts');
  const text = await page.locator('#incident-alerts').textContent();
  assert.ok(text.includes(`note=${HOSTILE_LABEL}`), 'the label is shown as written');
  assert.equal(await page.locator('#incident-alerts a').count(), 0, 'the javascript: URL is no link');
  await inert(page, 'alertmanager incident');
  await page.close();
});

test('a component with an open incident says so at the top of its page', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/entity/component/default/${COMPONENT}`);
  await settled(page);
  await page.waitForSelector('.incident-banner');
  const banners = page.locator('.incident-banner');
  assert.equal(await banners.count(), 2);
  // it comes before the page's heading
  const first = await page.evaluate(() => {
    const b = document.querySelector('.incident-banner');
    const h1 = document.querySelector('main h1');
    return Boolean(b.compareDocumentPosition(h1) & Node.DOCUMENT_POSITION_FOLLOWING);
  });
  assert.ok(first, 'the banner is above the title');
  assert.match(await banners.first().textContent(), /^Open incident: /);
  await inert(page, 'component page');
  await screenshot(page, 'component-open-incident');
  await banners.first().getByRole('link').click();
  await settled(page);
  assert.match(page.url(), /\/incidents\/\d+$/);
  await page.close();
});

test('the team page lists its open action items, overdue first', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/team/default/${TEAM}`);
  await settled(page);
  await page.waitForSelector('#team-actions');
  const rows = await page.locator('#team-actions tbody tr').allTextContents();
  assert.equal(rows.length, 2); // AI-3 is done
  assert.match(rows[0], /AI-1.*overdue/);
  assert.match(rows[1], /AI-2/);
  assert.doesNotMatch(rows[1], /overdue/);
  assert.match(await page.locator('#action-items').textContent(), /1 overdue/);
  await inert(page, 'team page');
  await screenshot(page, 'team-action-items');
  await page.close();
});
