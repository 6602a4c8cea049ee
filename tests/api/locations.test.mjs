// locations.test.mjs — catalogs fetched from their repositories, against a
// real `conway serve` and a local HTTP server (Node) standing in for the
// repository host: url Location targets are fetched when imported and again
// every --refresh-interval with If-None-Match / If-Modified-Since; a changed
// file updates the catalog and orphans what it no longer holds; a failing
// one keeps the last good content and shows the error on the Location (a
// finding after three failures); --fetch-allow gates every URL (and every
// redirect); Backstage's location API works with the real
// @backstage/catalog-client; with two instances on one database each
// refresh is done once.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CatalogClient } from '@backstage/catalog-client';
import { conway, startServer, tempDir, usePostgres, pgCreateDb } from './helpers.mjs';

// ---- the repository host ---------------------------------------------------------
// Serves `files` (path -> text) with an ETag and Last-Modified, answers 304
// to a matching If-None-Match, and records every request. `fail` makes a
// path answer 500; `redirect` makes it redirect.
function repoHost() {
  const files = new Map();
  const requests = [];
  const fail = new Set();
  const redirect = new Map();
  const modified = new Map();
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    requests.push({ path, inm: req.headers['if-none-match'], ims: req.headers['if-modified-since'], at: Date.now() });
    if (redirect.has(path)) { res.writeHead(302, { location: redirect.get(path) }); res.end(); return; }
    if (fail.has(path)) { res.writeHead(500); res.end('broken'); return; }
    if (!files.has(path)) { res.writeHead(404); res.end('no'); return; }
    const body = files.get(path);
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;
    if (req.headers['if-none-match'] === etag) { res.writeHead(304, { etag }); res.end(); return; }
    res.writeHead(200, { 'content-type': 'application/yaml', etag, 'last-modified': modified.get(path) || new Date(0).toUTCString() });
    res.end(body);
  });
  return {
    files, requests, fail, redirect, server,
    set(path, text) { files.set(path, text); modified.set(path, new Date().toUTCString()); },
    count(path) { return requests.filter((r) => r.path === path).length; },
    async start() { await new Promise((r) => server.listen(0, '127.0.0.1', r)); this.base = `http://127.0.0.1:${server.address().port}`; },
    stop() { server.closeAllConnections?.(); return new Promise((r) => server.close(r)); },
  };
}

const component = (name, extra = '') => `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ${name}${extra}
spec:
  type: service
  lifecycle: production
  owner: team-a
`;
const doc = (...parts) => parts.join('---\n');

async function until(what, fn, ms = 15000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)}`);
}

describe('catalogs fetched from their repositories', () => {
  let host, srv, editor;
  const entity = (name, kind = 'component') => srv.json(`/api/v1/entities/${kind}/default/${name}`);
  const locationOf = async (target) => (await srv.json('/api/v1/locations')).body.items.find((l) => l.target === target);

  before(async () => {
    host = repoHost();
    await host.start();
    srv = await startServer({ args: ['--fetch-allow', `${host.base}/repo/,https://raw.githubusercontent.com/acme/`, '--refresh-interval', '2'] });
    editor = srv.token('editor');
  });
  after(async () => { await srv?.stop(); await host?.stop(); });

  test('a url Location is fetched when imported, refreshed with validators, and its changes applied', async () => {
    host.set('/repo/catalog-info.yaml', doc(component('fetched-a'), component('fetched-b'),
      'apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: nested\nspec:\n  type: url\n  target: ./more.yaml\n'));
    host.set('/repo/more.yaml', component('fetched-c'));
    const loc = `apiVersion: backstage.io/v1alpha1
kind: Location
metadata:
  name: repo
spec:
  type: url
  target: ${host.base}/repo/catalog-info.yaml
`;
    const res = await srv.json('/api/v1/import', { method: 'POST', token: editor, body: loc, headers: { 'content-type': 'application/yaml' } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.locationsRegistered, 1);
    // the file, then the Location it holds (relative to it)
    await until('fetched entities', async () => (await entity('fetched-a')).status === 200 && (await entity('fetched-c')).status === 200);
    const state = await locationOf(`${host.base}/repo/catalog-info.yaml`);
    assert.equal(state.status, 'ok');
    assert.equal(state.origin, 'entity');
    assert.equal(state.failures, 0);
    // refreshed: the second request carries the validators and gets 304
    await until('a conditional refresh', () => host.requests.some((r) => r.path === '/repo/catalog-info.yaml' && r.inm));
    const cond = host.requests.find((r) => r.path === '/repo/catalog-info.yaml' && r.inm);
    assert.match(cond.inm, /^"[0-9a-f]{16}"$/);
    assert.ok(cond.ims, 'If-Modified-Since sent too');

    // the file changes: b goes, a changes, d comes
    host.set('/repo/catalog-info.yaml', doc(component('fetched-a', '\n  description: now described'), component('fetched-d'),
      'apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: nested\nspec:\n  type: url\n  target: ./more.yaml\n'));
    // a refresh writes the file's entities, then marks what it no longer
    // holds (two steps): wait for both
    await until('the change', async () => (await entity('fetched-d')).status === 200 &&
      (await entity('fetched-b')).body?.metadata?.annotations?.['backstage.io/orphan'] === 'true');
    assert.equal((await entity('fetched-a')).body.metadata.description, 'now described');
    const b = await entity('fetched-b');
    assert.equal(b.status, 200);
    assert.equal(b.body.metadata.annotations['backstage.io/orphan'], 'true');
    const findings = await srv.json('/api/v1/insights/ownership?rule=orphan-entity');
    assert.deepEqual(findings.body.findings.map((f) => f.entityRef), ['component:default/fetched-b']);
    // it comes back: no longer an orphan
    host.set('/repo/catalog-info.yaml', doc(component('fetched-a'), component('fetched-b'), component('fetched-d'),
      'apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: nested\nspec:\n  type: url\n  target: ./more.yaml\n'));
    await until('b back', async () => !(await entity('fetched-b')).body.metadata.annotations?.['backstage.io/orphan']);
  });

  test('a failing fetch keeps the last good content and shows the error on the Location, a finding after three', async () => {
    host.set('/repo/flaky.yaml', component('flaky-svc'));
    const loc = `apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: flaky\nspec:\n  type: url\n  target: ${host.base}/repo/flaky.yaml\n`;
    await srv.json('/api/v1/import', { method: 'POST', token: editor, body: loc, headers: { 'content-type': 'application/yaml' } });
    await until('flaky fetched', async () => (await entity('flaky-svc')).status === 200);
    host.fail.add('/repo/flaky.yaml');
    const state = await until('three failures', async () => {
      const l = await locationOf(`${host.base}/repo/flaky.yaml`);
      return l && l.failures >= 3 && l;
    }, 20000);
    assert.equal(state.status, 'error');
    assert.equal(state.error, 'HTTP 500');
    assert.equal((await entity('flaky-svc')).status, 200, 'the last good content stays');
    const le = await entity('flaky', 'location');
    assert.equal(le.body.metadata.annotations['conway.dev/fetch-error'], 'HTTP 500');
    assert.equal(le.body.metadata.annotations['conway.dev/fetch-failures'], '3');
    const f = await srv.json('/api/v1/insights/ownership?rule=location-unreachable');
    assert.deepEqual(f.body.findings.map((x) => x.entityRef), ['location:default/flaky']);
    host.fail.delete('/repo/flaky.yaml');
    await until('recovered', async () => !(await entity('flaky', 'location')).body.metadata.annotations?.['conway.dev/fetch-error']);
    assert.equal((await locationOf(`${host.base}/repo/flaky.yaml`)).status, 'ok');
  });

  test('URLs the --fetch-allow prefixes do not admit are never fetched, redirects included', async () => {
    host.set('/elsewhere/x.yaml', component('never-fetched'));
    host.redirect.set('/repo/moved.yaml', `${host.base}/elsewhere/x.yaml`);
    const before = host.count('/elsewhere/x.yaml');
    const loc = (name, target) => `apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: ${name}\nspec:\n  type: url\n  target: ${target}\n`;
    await srv.json('/api/v1/import', { method: 'POST', token: editor, body: doc(loc('not-listed', `${host.base}/elsewhere/x.yaml`), loc('moved', `${host.base}/repo/moved.yaml`)), headers: { 'content-type': 'application/yaml' } });
    const direct = await until('not-allowed', async () => { const l = await locationOf(`${host.base}/elsewhere/x.yaml`); return l?.status === 'not-allowed' && l; });
    assert.match(direct.error, /^fetching is not allowed for this URL/);
    const moved = await until('redirect refused', async () => { const l = await locationOf(`${host.base}/repo/moved.yaml`); return l?.status === 'not-allowed' && l; });
    assert.match(moved.error, /fetching is not allowed for this URL \(redirected to/);
    assert.equal(host.count('/elsewhere/x.yaml'), before);
    assert.equal((await entity('never-fetched')).status, 404);
    // too large: refused, nothing imported
    host.set('/repo/huge.yaml', `${component('huge')}# ${'x'.repeat(5 << 20)}\n`);
    await srv.json('/api/v1/import', { method: 'POST', token: editor, body: loc('huge', `${host.base}/repo/huge.yaml`), headers: { 'content-type': 'application/yaml' } });
    const huge = await until('too large', async () => { const l = await locationOf(`${host.base}/repo/huge.yaml`); return l?.status === 'error' && l; });
    assert.match(huge.error, /larger than 4194304 bytes/);
    assert.equal((await entity('huge')).status, 404);
  });

  test('a server without --fetch-allow says so instead of staying silent', async () => {
    const plain = await startServer();
    try {
      const token = plain.token('editor');
      const res = await plain.json('/api/catalog/locations', { method: 'POST', token, body: JSON.stringify({ type: 'url', target: `${host.base}/repo/catalog-info.yaml` }), headers: { 'content-type': 'application/json' } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const l = await until('not-allowed', async () => (await plain.json('/api/v1/locations')).body.items.find((x) => x.status === 'not-allowed'));
      assert.match(l.error, /^fetching is not allowed for this URL/);
    } finally { await plain.stop(); }
  });

  test('Backstage\'s location API with @backstage/catalog-client', async () => {
    const fetchApi = { fetch: (url, init = {}) => fetch(url, { ...init, headers: { ...(init.headers || {}), authorization: `Bearer ${editor}` } }) };
    const client = new CatalogClient({ discoveryApi: { getBaseUrl: async () => `${srv.url}/api/catalog` }, fetchApi });
    host.set('/repo/client.yaml', doc(component('client-one'), component('client-two')));
    const target = `${host.base}/repo/client.yaml`;
    const added = await client.addLocation({ type: 'url', target });
    assert.equal(added.location.type, 'url');
    assert.equal(added.location.target, target);
    await assert.rejects(client.addLocation({ type: 'url', target }), /409|already exists/);
    const all = await client.getLocations();
    assert.ok(all.items.some((l) => l.id === added.location.id && l.target === target), JSON.stringify(all));
    assert.equal((await client.getLocationById(added.location.id)).target, target);
    await until('client entities', async () => (await client.getEntityByRef('component:default/client-one')) !== undefined);
    const byEntity = await client.getLocationByEntity('component:default/client-one');
    assert.equal(byEntity.id, added.location.id);
    // the generated Location entity, as Backstage makes one
    const gen = (await client.getEntities({ filter: { kind: 'Location' } })).items.find((e) => e.spec.target === target);
    assert.ok(gen && gen.metadata.name.startsWith('generated-'));
    // refreshEntity fetches again now (not in 2 s)
    const n = host.count('/repo/client.yaml');
    await client.refreshEntity('component:default/client-one');
    await until('a refresh', () => host.count('/repo/client.yaml') > n, 1500);
    await assert.rejects(client.refreshEntity('component:default/no-such-thing'), /404|not found/i);
    // removing the location orphans its entities and drops its Location entity
    await client.removeLocationById(added.location.id);
    assert.equal(await client.getLocationById(added.location.id), undefined);
    const one = await client.getEntityByRef('component:default/client-one');
    assert.equal(one.metadata.annotations['backstage.io/orphan'], 'true');
    assert.equal(await client.getEntityByRef(`location:default/${gen.metadata.name}`), undefined);
    // viewers may read, not register
    const viewer = srv.token('viewer');
    const r = await srv.json('/api/catalog/locations', { method: 'POST', token: viewer, body: JSON.stringify({ type: 'url', target }), headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 403);
    const f = await srv.json('/api/catalog/locations', { method: 'POST', token: editor, body: JSON.stringify({ type: 'file', target: '/etc/passwd' }), headers: { 'content-type': 'application/json' } });
    assert.equal(f.status, 400);
    assert.match(f.body.detail, /^type: only url/);
  });
});

describe('orphans of `conway import` and several instances', () => {
  test('importing a directory again orphans what its files no longer hold, or deletes it', async () => {
    const dir = tempDir('conway-orphans-');
    const cat = join(dir, 'catalog');
    mkdirSync(cat);
    writeFileSync(join(cat, 'a.yaml'), doc(component('dir-a'), component('dir-b')));
    writeFileSync(join(cat, 'c.yaml'), component('dir-c'));
    const db = join(dir, 'conway.db');
    let r = conway(['import', '--db', db, '--quiet', cat]);
    assert.equal(r.status, 0, r.stderr);
    writeFileSync(join(cat, 'a.yaml'), component('dir-a'));
    rmSync(join(cat, 'c.yaml'));
    r = conway(['import', '--db', db, '--quiet', cat]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /2 entities no file holds any more marked orphan/);
    const srv = await startServer({ db });
    try {
      for (const name of ['dir-b', 'dir-c']) {
        const e = await srv.json(`/api/v1/entities/component/default/${name}`);
        assert.equal(e.body.metadata.annotations['backstage.io/orphan'], 'true', name);
      }
      assert.equal((await srv.json('/api/v1/entities/component/default/dir-a')).body.metadata.annotations?.['backstage.io/orphan'], undefined);
    } finally { await srv.stop({ keep: true }); }
    // --delete-orphans: a file that loses an entity deletes it
    writeFileSync(join(cat, 'a.yaml'), component('dir-a2'));
    r = conway(['import', '--db', db, '--quiet', '--delete-orphans', cat]);
    assert.match(r.stdout, /1 entities no file holds any more deleted/);
    const srv2 = await startServer({ db });
    try {
      assert.equal((await srv2.json('/api/v1/entities/component/default/dir-a')).status, 404);
      assert.equal((await srv2.json('/api/v1/entities/component/default/dir-b')).status, 200, 'an orphan of before stays');
    } finally { await srv2.stop(); rmSync(dir, { recursive: true, force: true }); }
  });

  test('two instances on one database fetch each refresh once', async () => {
    const host = repoHost();
    await host.start();
    const pg = usePostgres ? pgCreateDb() : null;
    const dir = pg ? null : tempDir('conway-two-');
    const db = pg ? pg.url : join(dir, 'conway.db');
    const args = ['--fetch-allow', `${host.base}/`, '--refresh-interval', '1'];
    const a = await startServer({ db, args });
    const b = await startServer({ db, args });
    try {
      host.set('/two.yaml', component('two-instances'));
      const token = a.token('editor');
      const res = await a.json('/api/catalog/locations', { method: 'POST', token, body: JSON.stringify({ type: 'url', target: `${host.base}/two.yaml` }), headers: { 'content-type': 'application/json' } });
      assert.equal(res.status, 201);
      await new Promise((r) => setTimeout(r, 6500));
      const times = host.requests.filter((r) => r.path === '/two.yaml').map((r) => r.at);
      // one fetch per interval: about 6, never two at once
      assert.ok(times.length >= 3 && times.length <= 8, `${times.length} fetches in 6.5 s`);
      for (let i = 1; i < times.length; i++) assert.ok(times[i] - times[i - 1] >= 700, `fetches ${times[i] - times[i - 1]} ms apart`);
    } finally {
      await a.stop({ keep: true });
      await b.stop({ keep: true });
      await host.stop();
      if (pg) pg.drop(); else rmSync(dir, { recursive: true, force: true });
    }
  });
});
