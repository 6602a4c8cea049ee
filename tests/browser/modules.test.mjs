// modules.test.mjs — the UI's own modules, loaded by Chromium from the real
// server: the URL checks that decide what becomes a link, the DOM builder's
// refusal of unsafe attributes, entity reference parsing and the chart
// helpers (ticks, day filling).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, settled, startServer } from './server.mjs';

let server;
let browser;
let page;

before(async () => {
  server = await startServer({ history: false });
  browser = await launchBrowser();
  page = await browser.newPage();
  await page.goto(`${server.url}/no-such-page`);
  await settled(page);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('only absolute http(s) URLs become external links', async () => {
  const result = await page.evaluate(async () => {
    const dom = await import('/js/dom.js');
    const urls = ['https://example.com/a', 'http://example.com', 'HTTPS://EXAMPLE.COM/x',
      'javascript:alert(1)', 'JaVaScRiPt:alert(1)', ' javascript:alert(1)', '\tjavascript:alert(1)',
      'java\nscript:alert(1)', 'data:text/html,<b>x</b>', 'vbscript:msgbox(1)', '//evil.example/x',
      '/relative', 'mailto:a@b.c', 'ftp://example.com', '', null, 42];
    return urls.map((u) => {
      const el = dom.externalLink(u, 'title');
      return [String(u), el.tagName, el.getAttribute('href'), el.getAttribute('rel')];
    });
  });
  const links = result.filter(([, tag]) => tag === 'A');
  assert.deepEqual(links.map(([u]) => u), ['https://example.com/a', 'http://example.com', 'HTTPS://EXAMPLE.COM/x']);
  for (const [, , href, rel] of links) {
    assert.match(href, /^https?:/i);
    assert.match(rel, /noopener/);
  }
  for (const [u, tag] of result.filter(([, t]) => t !== 'A')) assert.equal(tag, 'SPAN', `${u} is text`);
});

test('the DOM builder refuses unsafe URLs, string handlers and inline styles', async () => {
  const errors = await page.evaluate(async () => {
    const { h, s } = await import('/js/dom.js');
    const attempt = (f) => {
      try {
        f();
        return 'accepted';
      } catch (e) {
        return e.name;
      }
    };
    return {
      jsHref: attempt(() => h('a', { href: 'javascript:alert(1)' }, 'x')),
      dataSrc: attempt(() => h('img', { src: 'data:image/svg+xml,<svg/>' })),
      protocolRelative: attempt(() => h('a', { href: '//evil.example/' }, 'x')),
      svgHref: attempt(() => s('a', { href: 'javascript:alert(1)' })),
      stringHandler: attempt(() => h('img', { onerror: 'alert(1)' })),
      style: attempt(() => h('div', { style: 'color:red' })),
      appPath: attempt(() => h('a', { href: '/catalog' }, 'x')),
      fragment: attempt(() => h('a', { href: '#main' }, 'x')),
      https: attempt(() => h('a', { href: 'https://example.com' }, 'x')),
      textChild: h('p', null, '<b>bold</b>').innerHTML,
    };
  });
  assert.deepEqual(errors, {
    jsHref: 'TypeError', dataSrc: 'TypeError', protocolRelative: 'TypeError', svgHref: 'TypeError',
    stringHandler: 'TypeError', style: 'TypeError', appPath: 'accepted', fragment: 'accepted', https: 'accepted',
    textChild: '&lt;b&gt;bold&lt;/b&gt;',
  });
});

test('entity references are parsed with Backstage defaulting and mapped to pages', async () => {
  const r = await page.evaluate(async () => {
    const f = await import('/js/format.js');
    return {
      full: f.parseRef('Component:Default/Foo'),
      bare: f.parseRef('team-a', 'group'),
      ns: f.parseRef('other/thing', 'system'),
      str: f.refString({ kind: 'Group', namespace: 'default', name: 'Team-A' }),
      teamPath: f.refPath('group:default/team-a'),
      entityPath: f.refPath('group:default/team-a', { preferTeam: false }),
      dotted: f.refPath('user:default/jane.doe'),
      encoded: f.refPath('component:default/a b'),
      display: [f.displayRef('component:default/x'), f.displayRef('component:ns/x', { kind: true })],
      durations: [f.fmtDuration(30), f.fmtDuration(600), f.fmtDuration(5400), f.fmtDuration(3 * 86400), f.fmtDuration(null)],
      pct: f.fmtPercent(0.1234),
    };
  });
  assert.deepEqual(r.full, { kind: 'component', namespace: 'default', name: 'Foo' });
  assert.deepEqual(r.bare, { kind: 'group', namespace: 'default', name: 'team-a' });
  assert.deepEqual(r.ns, { kind: 'system', namespace: 'other', name: 'thing' });
  assert.equal(r.str, 'group:default/Team-A');
  assert.equal(r.teamPath, '/team/default/team-a');
  assert.equal(r.entityPath, '/entity/group/default/team-a');
  assert.equal(r.dotted, '/entity/user/default/jane.doe/', 'dotted names get a trailing slash (not an asset path)');
  assert.equal(r.encoded, '/entity/component/default/a%20b');
  assert.deepEqual(r.display, ['x', 'component:ns/x']);
  assert.deepEqual(r.durations, ['30 s', '10 min', '1.5 h', '3.0 d', '—']);
  assert.equal(r.pct, '12.3 %');
});

test('a user page whose name has a dot is served and routed', async () => {
  const p = await browser.newPage();
  await p.goto(`${server.url}/entity/user/default/jane.doe/`);
  await settled(p);
  assert.equal((await p.textContent('main h1')).trim(), 'Entity not found', 'routed to the entity page');
  await p.close();
});

test('chart helpers: round ticks and a continuous day axis', async () => {
  const r = await page.evaluate(async () => {
    const c = await import('/js/charts.js');
    return {
      ticks: [c.niceTicks(4), c.niceTicks(9), c.niceTicks(0), c.niceTicks(0.3)],
      counts: [c.niceTicks(1, 4, { integer: true }), c.niceTicks(9, 4, { integer: true }), c.niceTicks(3, 4, { integer: true })],
      days: c.fillDays([{ date: '2024-02-28', deployments: 2, failedDeployments: 1 }, { date: '2024-03-02', deployments: 1, failedDeployments: 0 }],
        '2024-02-27T10:00:00Z', '2024-03-02T09:00:00Z').map((d) => `${d.date}:${d.deployments}`),
    };
  });
  assert.deepEqual(r.ticks[0], [0, 1, 2, 3, 4]);
  assert.deepEqual(r.ticks[1], [0, 2.5, 5, 7.5, 10]);
  assert.deepEqual(r.ticks[2], [0, 1]);
  assert.deepEqual(r.ticks[3], [0, 0.1, 0.2, 0.3]);
  assert.deepEqual(r.counts, [[0, 1], [0, 2, 4, 6, 8, 10], [0, 1, 2, 3]], 'deployment counts get whole-number ticks');
  assert.deepEqual(r.days, ['2024-02-27:0', '2024-02-28:2', '2024-02-29:0', '2024-03-01:0', '2024-03-02:1']);
});

test('index.html preloads every module of the UI (one round trip, not one per import level)', async () => {
  const { readdirSync } = await import('node:fs');
  const { join, relative } = await import('node:path');
  const { repoRoot } = await import('./server.mjs');
  const ui = join(repoRoot, 'src', 'ui');
  const walk = (d) => readdirSync(d, { withFileTypes: true }).flatMap((e) =>
    (e.isDirectory() ? walk(join(d, e.name)) : e.name.endsWith('.js') ? [`/${relative(ui, join(d, e.name))}`] : []));
  const modules = walk(join(ui, 'js')).filter((m) => m !== '/js/app.js').sort();
  const preloaded = (await page.$$eval('link[rel="modulepreload"]', (ls) => ls.map((l) => l.getAttribute('href')))).sort();
  assert.deepEqual(preloaded, modules);
});
