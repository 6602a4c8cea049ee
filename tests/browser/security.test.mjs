// security.test.mjs — entity data never runs as script. A hostile entity (HTML
// and script in its title, description, annotations and link titles; a
// javascript: and a data: link) is imported with `conway import`; every page
// that shows it must display the text as written, create no element from it,
// make only its http(s) link clickable, and run nothing.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launchBrowser, repoRoot, screenshot, settled, startServer } from './server.mjs';

const TITLE = `<img src=x onerror="window.__pwned='title'">Hostile <b>widget</b>`;
const DESCRIPTION = `<script>window.__pwned='script'</script><img src=x onerror="window.__pwned='img'"> and <a href="javascript:window.__pwned='a'">click</a>`;
const ANNOTATION = `<svg onload="window.__pwned='svg'"></svg><iframe src="javascript:window.__pwned='iframe'"></iframe>`;
const LINK_TITLE = `<b onmouseover="window.__pwned='linktitle'">Evil link</b>`;
const JS_URL = `javascript:window.__pwned='link'`;
const DATA_URL = `data:text/html,<script>window.__pwned='data'</script>`;

const yamlString = (s) => JSON.stringify(s); // JSON strings are valid YAML flow scalars

function hostileYaml(owner) {
  return `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: hostile-widget
  title: ${yamlString(TITLE)}
  description: ${yamlString(DESCRIPTION)}
  annotations:
    example.com/html: ${yamlString(ANNOTATION)}
  links:
    - url: ${yamlString(JS_URL)}
      title: ${yamlString(LINK_TITLE)}
    - url: ${yamlString(DATA_URL)}
      title: Data link
    - url: https://example.com/safe
      title: Safe link
spec:
  type: service
  lifecycle: production
  owner: ${owner}
`;
}

let server;
let browser;
const owner = existsSync(join(repoRoot, 'demo', 'org')) ? 'team-playback' : 'team-a';

before(async () => {
  server = await startServer({ history: false, extraYaml: { 'hostile.yaml': hostileYaml(owner) } });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

// Elements that entity text could have created, and whether anything ran.
async function inspect(page) {
  await page.waitForTimeout(300); // give onerror/onload handlers a chance to fire
  return page.evaluate(() => ({
    pwned: window.__pwned,
    scripts: [...document.querySelectorAll('script')].filter((s) => s.getAttribute('src') !== '/js/app.js').length,
    imgX: document.querySelectorAll('img[src="x"]').length,
    iframes: document.querySelectorAll('iframe').length,
    handlers: document.querySelectorAll('[onerror], [onload], [onmouseover], [onclick]').length,
    badLinks: [...document.querySelectorAll('a[href]')].map((a) => a.getAttribute('href'))
      .filter((h) => !/^(https?:|\/|#)/.test(h)),
    boldFromData: [...document.querySelectorAll('main b')].length,
  }));
}

function assertInert(report, where) {
  assert.equal(report.pwned, undefined, `${where}: no injected code ran`);
  assert.equal(report.scripts, 0, `${where}: no script element from data`);
  assert.equal(report.imgX, 0, `${where}: no image element from data`);
  assert.equal(report.iframes, 0, `${where}: no iframe`);
  assert.equal(report.handlers, 0, `${where}: no inline event handler`);
  assert.deepEqual(report.badLinks, [], `${where}: only http(s) and app links`);
  assert.equal(report.boldFromData, 0, `${where}: markup in data is not interpreted`);
}

test('the hostile entity is shown as text on its page and runs nothing', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/entity/component/default/hostile-widget`);
  await settled(page);
  assert.equal((await page.textContent('main h1')).trim(), TITLE);
  assert.equal((await page.textContent('#about .description')).trim(), DESCRIPTION);
  assert.ok((await page.textContent('#annotations')).includes(ANNOTATION), 'annotation value shown as text');
  // Links: the https one is a link, the others are text.
  assert.equal(await page.locator('#links a').count(), 1);
  assert.equal(await page.getAttribute('#links a', 'href'), 'https://example.com/safe');
  const linkTexts = await page.locator('#links .unsafe-link').allTextContents();
  assert.deepEqual(linkTexts, [`${LINK_TITLE} (${JS_URL})`, `Data link (${DATA_URL})`]);
  // Interacting with the text does nothing either.
  await page.hover('#links .unsafe-link');
  await page.click('#links .unsafe-link');
  await page.hover('main h1');
  assert.equal(new URL(page.url()).pathname, '/entity/component/default/hostile-widget', 'clicking text navigates nowhere');
  assert.match(await page.title(), /^<img src=x/, 'the document title is the text as written');
  assertInert(await inspect(page), 'entity page');
  assert.deepEqual(page.dialogs, [], 'no alert/confirm/prompt');
  assert.deepEqual(page.problems, [], 'no console errors (a blocked inline script would log one)');
  await screenshot(page, 'hostile-entity');
  await page.close();
});

test('the hostile entity is inert in the catalog, on its team page and in search', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/catalog?q=hostile`);
  await settled(page);
  const names = await page.$$eval('#entity-table tbody th a', (as) => as.map((a) => a.textContent));
  assert.ok(names.includes(TITLE), 'title shown as text in the table');
  const desc = await page.$$eval('#entity-table tbody td:nth-child(7)', (tds) => tds.map((t) => t.textContent));
  assert.ok(desc.some((d) => d.startsWith('<script>')), 'description shown as text in the table');
  assertInert(await inspect(page), 'catalog');

  await page.goto(`${server.url}/team/default/${owner}`);
  await settled(page);
  const owned = await page.$$eval('#owned-table tbody th a', (as) => as.map((a) => a.textContent));
  assert.ok(owned.includes(TITLE));
  assertInert(await inspect(page), 'team page');

  // Typing the hostile text into the search box is only a query.
  await page.goto(`${server.url}/catalog`);
  await settled(page);
  await page.fill('#f-q', DESCRIPTION);
  await page.keyboard.press('Enter');
  await page.waitForURL(/q=/);
  await settled(page);
  assertInert(await inspect(page), 'catalog search');
  assert.deepEqual(page.dialogs, []);
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('entity data in the address bar is not interpreted either', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/entity/component/default/${encodeURIComponent('<img src=x onerror=alert(1)>')}`);
  await settled(page);
  assert.equal((await page.textContent('main h1')).trim(), 'Entity not found');
  assertInert(await inspect(page), 'not-found page');
  assert.deepEqual(page.dialogs, []);
  // The failed lookup itself (404, or 400 for an impossible name) is the only
  // console message allowed here.
  assert.deepEqual(page.problems.filter((p) => !/status of 40[04]/.test(p)), []);
  await page.close();
});
