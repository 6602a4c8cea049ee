// auth.test.mjs — a server without --public-read: the UI asks for a token in
// a labelled dialog (once, however many requests need it), rejects a wrong
// token with a message, loads the data with the right one, keeps it for the
// tab's session only, and lets the user forget it. Cancelling leaves a clear
// "needs a token" message instead of errors.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, screenshot, settled, startServer } from './server.mjs';

let server;
let browser;
let token;

before(async () => {
  server = await startServer({ publicRead: false, history: false });
  token = server.token('viewer');
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

// Chromium logs every 401 answer as a failed resource load; those are the
// expected trigger of the prompt. Anything else is a problem.
const unexpected = (page) => page.problems.filter((p) => !/status of 401/.test(p));

test('reads need a token: the prompt appears, a wrong token is refused, the right one loads the data', async () => {
  const res = await fetch(`${server.url}/api/v1/entities?limit=1`);
  assert.equal(res.status, 401, 'the server really requires a token');

  const page = await browser.newPage();
  const apiCalls = [];
  page.on('request', (r) => {
    if (r.url().includes('/api/')) apiCalls.push(r.headers().authorization || null);
  });
  await page.goto(`${server.url}/catalog`);
  const dialog = page.getByRole('dialog', { name: 'Sign in with an API token' });
  await dialog.waitFor({ state: 'visible' });
  assert.equal(await page.locator('dialog[open]').count(), 1, 'one prompt');
  await screenshot(page, 'token-prompt');

  // A wrong token: the prompt stays with an error message.
  await page.getByLabel('API token', { exact: true }).fill('not-a-real-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('That token was not accepted').waitFor({ state: 'visible' });
  assert.equal(await page.locator('dialog[open]').count(), 1);

  // The right one.
  await page.getByLabel('API token', { exact: true }).fill(token);
  await page.keyboard.press('Enter');
  await dialog.waitFor({ state: 'hidden' });
  await settled(page);
  await page.waitForSelector('#entity-table tbody tr');
  const rows = await page.locator('#entity-table tbody tr').count();
  assert.ok(rows > 0, 'the catalog loaded with the token');
  assert.ok(apiCalls.includes(`Bearer ${token}`), 'requests carry the bearer token');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('conway.token')), token, 'kept in session storage');
  assert.equal(await page.evaluate(() => localStorage.length), 0, 'not in local storage');

  // Other pages use it without asking again; the overview needs several requests.
  await page.click('.site-header nav a[href="/"]');
  await settled(page);
  assert.equal(await page.locator('dialog[open]').count(), 0, 'no second prompt');
  assert.deepEqual(await page.$$eval('.notice-error, .notice-auth', (els) => els.map((e) => e.textContent)), []);
  await page.reload();
  await settled(page);
  assert.equal(await page.locator('dialog[open]').count(), 0, 'a reload in the same tab keeps the token');
  assert.deepEqual(unexpected(page), []);

  // Forgetting the token asks again.
  await page.getByRole('button', { name: 'Forget token' }).click();
  await dialog.waitFor({ state: 'visible' });
  assert.equal(await page.evaluate(() => sessionStorage.getItem('conway.token')), null);
  await page.getByLabel('API token', { exact: true }).fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await settled(page);
  assert.deepEqual(unexpected(page), []);
  await page.close();
});

test('the overview asks once for all its panels, and cancelling explains what is missing', async () => {
  const page = await browser.newPage(); // a new tab: empty session storage
  await page.goto(`${server.url}/`);
  const dialog = page.getByRole('dialog', { name: 'Sign in with an API token' });
  await dialog.waitFor({ state: 'visible' });
  assert.equal(await page.locator('dialog[open]').count(), 1);
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  await settled(page);
  const needs = await page.locator('.notice-auth').count();
  assert.ok(needs > 0, 'panels say a token is needed');
  assert.equal(await page.locator('.notice-error').count(), 0, 'no error panels');
  // "Sign in" in a panel opens the prompt again and then loads everything.
  await page.locator('.notice-auth button').first().click();
  await dialog.waitFor({ state: 'visible' });
  await page.getByLabel('API token', { exact: true }).fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await settled(page);
  assert.equal(await page.locator('.notice-auth').count(), 0);
  assert.ok(await page.locator('.kind-counts li').count() > 0, 'entity counts loaded');
  assert.deepEqual(unexpected(page), []);
  assert.deepEqual(page.dialogs, []);
  await page.close();
});
