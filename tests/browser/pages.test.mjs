// pages.test.mjs — every page of the web UI loads from a real server with the
// demo organisation, without console errors or failed panels; the pages are
// usable with the keyboard, on a 360 px wide screen, with labelled controls,
// landmarks and text contrast of at least 4.5:1. Saves a screenshot of each.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, screenshot, settled, startServer } from './server.mjs';

let server;
let browser;
let pages;

// A component with an owner, its owning team, and the pages to visit.
async function pickPages() {
  const list = await server.getJSON('/api/v1/entities?kind=Component&limit=100');
  const comp = list.items.find((e) => (e.relations || []).some((r) => r.type === 'ownedBy' && r.target?.kind?.toLowerCase() === 'group')) || list.items[0];
  assert.ok(comp, 'the demo organisation has components');
  const owner = comp.relations.find((r) => r.type === 'ownedBy' && r.target?.kind?.toLowerCase() === 'group')?.target;
  assert.ok(owner, 'a component is owned by a group');
  const ns = comp.metadata.namespace || 'default';
  return {
    comp, owner,
    list: [
      ['overview', '/'],
      ['catalog', '/catalog'],
      ['entity', `/entity/component/${ns}/${comp.metadata.name}`],
      ['team', `/team/${owner.namespace}/${owner.name}`],
      ['ownership', '/insights/ownership'],
      ['coupling', '/insights/coupling'],
      ['undeployed', '/insights/undeployed'],
      ['scorecards', '/scorecards'],
      ['initiatives', '/initiatives'],
    ],
  };
}

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  pages = await pickPages();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

describe('each page', () => {
  test('loads without console errors, uncaught exceptions or failed panels', async (t) => {
    const page = await browser.newPage();
    for (const [name, path] of pages.list) {
      const t0 = Date.now();
      await page.goto(server.url + path);
      await settled(page);
      t.diagnostic(`${name}: rendered in ${Date.now() - t0} ms`);
      const h1 = (await page.textContent('main h1')).trim();
      assert.ok(h1.length > 0, `${name}: has a heading`);
      assert.notEqual(h1, 'Page not found', `${name}: ${path} is routed`);
      assert.notEqual(h1, 'Something went wrong', `${name}: rendered`);
      const failed = await page.$$eval('.notice-error', (els) => els.map((e) => e.textContent));
      assert.deepEqual(failed, [], `${name}: no panel failed`);
      assert.deepEqual(page.problems, [], `${name}: console is clean`);
      assert.match(await page.title(), /conway$/, `${name}: has a document title`);
      await screenshot(page, name);
    }
    await page.close();
  });

  test('the entity page shows the entity and the team page its members and owned entities', async () => {
    const page = await browser.newPage();
    const { comp, owner } = pages;
    await page.goto(`${server.url}${pages.list[2][1]}`);
    await settled(page);
    assert.equal((await page.textContent('main h1')).trim(), comp.metadata.title || comp.metadata.name);
    if (comp.metadata.description) {
      assert.equal((await page.textContent('#about .description')).trim(), comp.metadata.description.trim());
    }
    const ownerLink = page.locator('#about dd a[href^="/team/"]');
    assert.equal(await ownerLink.getAttribute('href'), `/team/${owner.namespace}/${owner.name}`);
    const apiLinks = (comp.metadata.links || []).filter((l) => /^https?:/.test(l.url)).map((l) => l.url);
    for (const url of apiLinks) assert.equal(await page.locator(`#links a[href="${url}"]`).count(), 1, `link ${url}`);
    await page.goto(`${server.url}${pages.list[3][1]}`);
    await settled(page);
    const owned = await page.$$eval('#owned-table tbody th a', (as) => as.map((a) => a.getAttribute('href')));
    assert.ok(owned.includes(`/entity/component/${comp.metadata.namespace || 'default'}/${comp.metadata.name}`),
      'the team page lists the component it owns');
    assert.deepEqual(page.problems, []);
    await page.close();
  });

  test('an unknown address shows a not-found page, not an error', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/no/such/page`);
    await settled(page);
    assert.equal((await page.textContent('main h1')).trim(), 'Page not found');
    assert.deepEqual(page.problems, []);
    await page.close();
  });
});

describe('accessibility', () => {
  test('landmarks, labelled controls, alt texts and one h1 on every page', async () => {
    const page = await browser.newPage();
    for (const [name, path] of pages.list) {
      await page.goto(server.url + path);
      await settled(page);
      const report = await page.evaluate(() => {
        const unlabelled = [...document.querySelectorAll('input, select, textarea')]
          .filter((el) => el.type !== 'hidden' && el.labels.length === 0 && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
          .map((el) => el.outerHTML.slice(0, 80));
        const noAlt = [...document.querySelectorAll('img')].filter((i) => !i.hasAttribute('alt')).length;
        const emptyLinks = [...document.querySelectorAll('a[href]')].filter((a) => !a.textContent.trim() && !a.getAttribute('aria-label')).length;
        return {
          unlabelled, noAlt, emptyLinks,
          banner: document.querySelectorAll('body > header').length,
          nav: document.querySelectorAll('nav[aria-label="Main"]').length,
          main: document.querySelectorAll('main').length,
          h1: document.querySelectorAll('h1').length,
          lang: document.documentElement.lang,
        };
      });
      assert.deepEqual(report.unlabelled, [], `${name}: every control has a label`);
      assert.equal(report.noAlt, 0, `${name}: images have alt text`);
      assert.equal(report.emptyLinks, 0, `${name}: links have text`);
      assert.equal(report.banner, 1, `${name}: banner`);
      assert.equal(report.nav, 1, `${name}: main navigation`);
      assert.equal(report.main, 1, `${name}: main landmark`);
      assert.equal(report.h1, 1, `${name}: one h1`);
      assert.equal(report.lang, 'en');
    }
    await page.close();
  });

  test('text contrast is at least 4.5:1 (3:1 for large text)', async () => {
    const page = await browser.newPage();
    for (const [name, path] of pages.list) {
      await page.goto(server.url + path);
      await settled(page);
      const low = await page.evaluate(() => {
        const parse = (c) => {
          const m = c.match(/rgba?\(([^)]+)\)/);
          if (!m) return null;
          const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
          return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
        };
        const lum = ({ r, g, b }) => {
          const f = (v) => {
            const x = v / 255;
            return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
          };
          return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
        };
        const background = (el) => {
          for (let e = el; e; e = e.parentElement) {
            const cs = getComputedStyle(e);
            if (cs.backgroundImage !== 'none') return null; // gradients: not judged here
            const c = parse(cs.backgroundColor);
            if (c && c.a > 0.95) return c;
          }
          return { r: 255, g: 255, b: 255, a: 1 };
        };
        const out = [];
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
          const el = n.parentElement;
          if (!n.textContent.trim() || !el || el.closest('svg, .visually-hidden, [hidden], dialog:not([open]), noscript, details:not([open]) > :not(summary)')) continue;
          const rect = el.getBoundingClientRect();
          if (rect.width === 0 || rect.height === 0) continue;
          const cs = getComputedStyle(el);
          const fg = parse(cs.color);
          const bg = background(el);
          if (!fg || !bg) continue;
          const [l1, l2] = [lum(fg), lum(bg)].sort((a, b) => b - a);
          const ratio = (l1 + 0.05) / (l2 + 0.05);
          const size = parseFloat(cs.fontSize);
          const large = size >= 24 || (size >= 18.66 && Number(cs.fontWeight) >= 700);
          const need = large ? 3 : 4.5;
          // Elements that are disabled are exempt from contrast requirements.
          if (ratio < need - 0.01 && !el.closest('[disabled]')) out.push(`${ratio.toFixed(2)} "${n.textContent.trim().slice(0, 30)}" (${cs.color} on rgb(${bg.r},${bg.g},${bg.b}))`);
        }
        return out;
      });
      assert.deepEqual(low, [], `${name}: low-contrast text`);
    }
    await page.close();
  });

  test('keyboard: skip link, navigation by Enter, visible focus', async () => {
    const page = await browser.newPage();
    await page.goto(server.url + '/');
    await settled(page);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), 'Skip to content');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'main');
    // From the top: skip link, brand, then the main navigation.
    await page.evaluate(() => document.activeElement.blur());
    await page.focus('.site-header nav a[href="/catalog"]');
    const outline = await page.evaluate(() => {
      const cs = getComputedStyle(document.activeElement);
      return { style: cs.outlineStyle, width: parseFloat(cs.outlineWidth) };
    });
    assert.notEqual(outline.style, 'none', 'focused links show an outline');
    assert.ok(outline.width >= 2, 'the focus outline is at least 2px');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/catalog$/);
    await settled(page);
    assert.equal(await page.evaluate(() => document.activeElement.tagName), 'H1', 'focus moves to the new page heading');
    assert.equal(await page.getAttribute('.site-header nav a[href="/catalog"]', 'aria-current'), 'page');
    // The search field is reachable and typing in it filters.
    await page.focus('#f-q');
    await page.keyboard.type(pages.comp.metadata.name);
    await page.keyboard.press('Enter');
    await page.waitForURL(/q=/);
    await settled(page);
    const names = await page.$$eval('#entity-table tbody th a', (as) => as.map((a) => a.getAttribute('href')));
    assert.ok(names.some((h) => h.endsWith(`/${pages.comp.metadata.name}`)));
    assert.deepEqual(page.problems, []);
    await page.close();
  });

  test('works on a 360 px wide screen without horizontal scrolling of the page', async () => {
    const page = await browser.newPage();
    await page.setViewportSize({ width: 360, height: 740 });
    for (const [name, path] of pages.list) {
      await page.goto(server.url + path);
      await settled(page);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `${name}: page is ${overflow}px wider than the screen`);
      if (name === 'catalog' || name === 'entity' || name === 'overview') await screenshot(page, `${name}-narrow`);
    }
    assert.deepEqual(page.problems, []);
    await page.close();
  });
});
