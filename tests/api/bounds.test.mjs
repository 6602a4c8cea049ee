// bounds.test.mjs — bounded memory for answers (issue #10, items 2 and 3)
// against a real `conway serve`:
//  - clients that never read: 30 connections ask for Backstage's unpaged
//    entity list (about 13 MB each), 10 for the ownership report, and read
//    nothing; the server's resident
//    memory stays within a bound far below what holding 30 answers takes,
//    it keeps answering, and a stalled answer read later is complete;
//  - streamed answers (unpaged lists, by-refs) equal what paging reads;
//  - one event is at most --max-event-bytes in every intake mode and in
//    `conway events import` (413 naming the event's index);
//  - list pages (entities, by-query, events, audit) end early once their
//    body passes 4 MiB, with a cursor for the rest.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, conway, tempDir } from './helpers.mjs';

const MiB = 1 << 20;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

const component = (name, extra = {}) => ({
  apiVersion: 'backstage.io/v1alpha1', kind: 'Component',
  metadata: { name, ...extra },
  spec: { type: 'service', lifecycle: 'production', owner: 'group:default/bounds-team' },
});

// Waits until the server's RSS has not grown for a second (or 20 s passed).
async function settledRss(pid) {
  let last = rssKiB(pid);
  let still = 0;
  for (let i = 0; i < 80 && still < 4; i++) {
    await sleep(250);
    const r = rssKiB(pid);
    still = r <= last ? still + 1 : 0;
    last = Math.max(last, r);
  }
  return last;
}

// The body of a raw HTTP/1.1 answer with chunked transfer encoding.
function dechunk(raw) {
  const text = raw.toString('latin1');
  const head = text.indexOf('\r\n\r\n');
  assert.ok(head > 0, 'an HTTP answer');
  assert.match(text.slice(0, head), /^HTTP\/1\.1 200/);
  assert.match(text.slice(0, head), /transfer-encoding: chunked/i);
  const parts = [];
  let pos = head + 4;
  for (;;) {
    const eol = text.indexOf('\r\n', pos);
    const size = parseInt(text.slice(pos, eol), 16);
    assert.ok(Number.isInteger(size), `chunk size at ${pos}`);
    if (size === 0) break;
    parts.push(raw.subarray(eol + 2, eol + 2 + size));
    pos = eol + 2 + size + 2;
  }
  return Buffer.concat(parts).toString('utf8');
}

describe('clients that never read', () => {
  const N = 3000;
  let srv;
  let dir;
  before(async () => {
    dir = tempDir();
    const file = join(dir, 'big.json');
    const docs = [];
    for (let i = 0; i < N; i++) docs.push(component(`slow-${String(i).padStart(5, '0')}`, { description: `component ${i} `.padEnd(4000, 'x') }));
    writeFileSync(file, JSON.stringify(docs));
    // Under AddressSanitizer freed memory waits in a quarantine (256 MiB by
    // default) and would count as held; other builds ignore ASAN_OPTIONS.
    const asan = [process.env.ASAN_OPTIONS, 'quarantine_size_mb=0', 'thread_local_quarantine_size_kb=0'].filter(Boolean).join(':');
    srv = await startServer({ imports: [file], env: { ASAN_OPTIONS: asan } });
  });
  after(async () => { await srv.stop(); });

  test('40 connections that never read the unpaged entity list and the ownership report: RSS stays bounded, the server answers, a late reader gets everything', async () => {
    // warm up (caches, thread arenas) with a full read
    const full = await srv.json('/api/catalog/entities');
    assert.equal(full.status, 200);
    assert.equal(full.body.length, N);
    const answerBytes = JSON.stringify(full.body).length;
    assert.ok(answerBytes > 12 * MiB, `the answer is ${answerBytes} bytes`);

    // the ownership report grows with the catalog too (a finding per
    // component here: their owner does not exist)
    const own = await srv.json('/api/v1/insights/ownership');
    assert.equal(own.status, 200);
    assert.equal(own.body.findings.length, own.body.summary.total);
    assert.ok(own.body.findings.length >= N);
    const before = await settledRss(srv.proc.pid);

    const socks = [];
    for (let i = 0; i < 40; i++) {
      const s = net.connect(srv.port, '127.0.0.1');
      s.on('error', () => {});
      const path = i < 30 ? '/api/catalog/entities' : '/api/v1/insights/ownership';
      s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      s.pause();
      socks.push(s);
    }
    try {
      const stalled = await settledRss(srv.proc.pid);
      const grew = (stalled - before) / 1024;
      console.log(`40 stalled readers: RSS ${(before / 1024).toFixed(1)} MiB before, ${(stalled / 1024).toFixed(1)} MiB with them (+${grew.toFixed(1)} MiB)`);
      // holding the 30 lists takes 30 × 13 MB = 390 MB; a stream holds a piece
      assert.ok(grew < 96, `RSS grew by ${grew.toFixed(1)} MiB with 40 stalled readers (from ${(before / 1024).toFixed(1)} MiB)`);
      // the server still answers others
      const t0 = Date.now();
      assert.equal((await srv.fetch('/healthz')).status, 200);
      const page = await srv.json('/api/v1/entities?limit=5');
      assert.equal(page.body.items.length, 5);
      assert.ok(Date.now() - t0 < 5000);
      // a stalled reader that starts reading gets the whole answer
      const s = socks[0];
      const got = await new Promise((resolve) => {
        const parts = [];
        s.on('data', (d) => parts.push(d));
        s.on('close', () => resolve(Buffer.concat(parts)));
        s.resume();
      });
      const late = JSON.parse(dechunk(got));
      assert.equal(late.length, N);
      assert.deepEqual(late.map((e) => e.metadata.name), full.body.map((e) => e.metadata.name));
    } finally {
      for (const s of socks) s.destroy();
    }
  });

  test('streamed lists equal what paging reads: field order, projection, filter, offset and limit, by-refs', async () => {
    const names = (await srv.json('/api/v1/entities?kind=component&limit=1000')).body.items.map((e) => e.metadata.name);
    let cursor = (await srv.json('/api/v1/entities?kind=component&limit=1000')).body.nextCursor;
    while (cursor) {
      const r = await srv.json(`/api/v1/entities?kind=component&limit=1000&cursor=${cursor}`);
      names.push(...r.body.items.map((e) => e.metadata.name));
      cursor = r.body.nextCursor;
    }
    assert.equal(names.length, N);
    const desc = await srv.json('/api/catalog/entities?order=desc:metadata.name&fields=metadata.name&filter=kind=component');
    assert.deepEqual(desc.body.map((e) => e.metadata.name), [...names].reverse());
    assert.deepEqual(Object.keys(desc.body[0]), ['metadata']);
    const some = await srv.json('/api/catalog/entities?filter=kind=component&limit=2500&offset=100&fields=metadata.name');
    assert.deepEqual(some.body.map((e) => e.metadata.name), names.slice(100, 2600));
    assert.match(some.headers.get('link'), /after=.*rel="next"/);
    const refs = names.map((n) => `component:default/${n}`);
    refs.splice(7, 0, 'component:default/does-not-exist');
    const byRefs = await srv.json('/api/catalog/entities/by-refs?filter=kind=component', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ entityRefs: refs, fields: ['metadata.name'] }),
    });
    assert.equal(byRefs.status, 200);
    assert.equal(byRefs.body.items.length, N + 1);
    assert.equal(byRefs.body.items[7], null);
    assert.deepEqual(byRefs.body.items.filter(Boolean).map((e) => e.metadata.name), names);
  });
});

// A valid CDEvent (service.deployed) with customData padded to about `pad` bytes.
function bigEvent(id, pad) {
  return {
    context: { specversion: '0.5.1', id, source: '/bounds-test', type: 'dev.cdevents.service.deployed.0.3.0', timestamp: new Date(Date.UTC(2024, 0, 1) + Number(id.replace(/\D/g, '') || 0) * 1000).toISOString() },
    subject: { id: 'svc-bounds', content: { environment: { id: 'production' }, artifactId: 'pkg:oci/svc-bounds@sha256%3Aabc' } },
    customData: { pad: 'p'.repeat(pad) },
  };
}
const structuredOf = (ev) => ({ specversion: '1.0', id: ev.context.id, source: ev.context.source, type: ev.context.type, datacontenttype: 'application/json', data: ev });

describe('one event is at most --max-event-bytes', () => {
  let srv;
  let token;
  before(async () => {
    srv = await startServer();
    token = srv.token('ingest');
  });
  after(async () => { await srv.stop(); });

  const post = (body, type, headers = {}) => srv.json('/api/v1/events', {
    method: 'POST', token, headers: { 'content-type': type, ...headers }, body,
  });
  const tooLarge = (r, index, line) => {
    assert.equal(r.status, 413, JSON.stringify(r.body));
    assert.match(r.headers.get('content-type'), /^application\/problem\+json/);
    const lead = line ? `line ${line}: ` : '';
    assert.match(r.body.detail, new RegExp(`^${lead}events\\[${index}\\]: the event is \\d+ bytes of JSON, more than the limit of 262144 \\(--max-event-bytes\\)$`));
  };

  test('413 naming the event in every mode; nothing of the request is stored', async () => {
    const small = bigEvent('small-1', 10);
    const big = bigEvent('big-1', 300 << 10);
    tooLarge(await post(JSON.stringify(big), 'application/json'), 0);
    tooLarge(await post(JSON.stringify([small, bigEvent('small-2', 10), big]), 'application/json'), 2);
    tooLarge(await post(JSON.stringify(structuredOf(big)), 'application/cloudevents+json'), 0);
    tooLarge(await post(JSON.stringify([structuredOf(small), structuredOf(big)]), 'application/cloudevents-batch+json'), 1);
    tooLarge(await post(JSON.stringify(big), 'application/json', {
      'ce-specversion': '1.0', 'ce-id': big.context.id, 'ce-source': big.context.source, 'ce-type': big.context.type,
    }), 0);
    tooLarge(await post([small, bigEvent('small-3', 10), big].map((e) => JSON.stringify(e)).join('\n'), 'application/x-ndjson'), 2, 3);
    const list = await srv.json('/api/v1/events');
    assert.deepEqual(list.body.items, [], 'all or nothing');
    // just under the limit is accepted
    const fits = bigEvent('fits-1', 200 << 10);
    assert.equal((await post(JSON.stringify(fits), 'application/json')).status, 202);
  });

  test('conway events import rejects the event, and --max-event-bytes lets it through', async () => {
    const dir = tempDir();
    const file = join(dir, 'ev.ndjson');
    writeFileSync(file, [bigEvent('imp-1', 10), bigEvent('imp-2', 300 << 10)].map((e) => JSON.stringify(e)).join('\n') + '\n');
    let r = conway(['events', 'import', '--db', srv.db, '--quiet', file]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /ev\.ndjson:2: the event is \d+ bytes of JSON, more than the limit of 262144/);
    assert.match(r.stdout, /imported 1 events \(1 new, 0 duplicates\), 1 rejected/);
    r = conway(['events', 'import', '--db', srv.db, '--quiet', '--max-event-bytes', '1048576', file]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\(1 new, 1 duplicates\), 0 rejected/);
    assert.equal(conway(['events', 'import', '--db', srv.db, '--max-event-bytes', '12', file]).status, 2);
  });
});

describe('list pages end past 4 MiB', () => {
  let srv;
  let admin;
  before(async () => {
    srv = await startServer({ args: ['--max-event-bytes', String(MiB)] });
    admin = srv.token('admin');
  });
  after(async () => { await srv.stop(); });

  // Every item of a paged list, following nextCursor; returns the pages.
  async function pages(path, itemsOf, cursorOf, { token } = {}) {
    const out = [];
    let cursor = null;
    do {
      const sep = path.includes('?') ? '&' : '?';
      const res = await srv.fetch(`${path}${cursor ? `${sep}cursor=${encodeURIComponent(cursor)}` : ''}`, { token });
      const text = await res.text();
      assert.equal(res.status, 200, text.slice(0, 300));
      const body = JSON.parse(text);
      out.push({ bytes: text.length, items: itemsOf(body) });
      cursor = cursorOf(body);
    } while (cursor && out.length < 100);
    return out;
  }
  const checkPages = (ps, total, per) => {
    assert.equal(ps.flatMap((p) => p.items).length, total);
    assert.ok(ps.length >= 2, `${ps.length} pages`);
    assert.equal(ps[0].items.length, per, `the first page ends after the item passing 4 MiB: ${ps[0].items.length} items`);
    for (const p of ps) assert.ok(p.bytes < 4 * MiB + MiB, `a page of ${p.bytes} bytes`);
  };

  test('events: 20 events of 300 KiB make pages of 14', async () => {
    const events = [];
    for (let i = 0; i < 20; i++) events.push(bigEvent(`page-${i}`, 300 << 10));
    const r = await srv.json('/api/v1/events', { method: 'POST', token: admin, headers: { 'content-type': 'application/x-ndjson' }, body: events.map((e) => JSON.stringify(e)).join('\n') });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const ps = await pages('/api/v1/events?limit=1000', (b) => b.items.map((e) => e.id), (b) => b.nextCursor);
    checkPages(ps, 20, 14);
    assert.equal(new Set(ps.flatMap((p) => p.items)).size, 20);
  });

  test('entities (native and by-query): 12 entities of 500 KB make pages of 9', async () => {
    const docs = [];
    // annotation values are at most 64 KiB each: eight of 62,500 bytes
    const annotations = Object.fromEntries([...Array(8).keys()].map((k) => [`bounds.dev/pad-${k}`, 'd'.repeat(62500)]));
    for (let i = 0; i < 12; i++) docs.push(component(`huge-${i}`, { annotations }));
    const r = await srv.json('/api/v1/import', { method: 'POST', token: admin, headers: { 'content-type': 'application/json' }, body: JSON.stringify(docs) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    let ps = await pages('/api/v1/entities?kind=component&limit=1000', (b) => b.items.map((e) => e.metadata.name), (b) => b.nextCursor);
    checkPages(ps, 12, 9);
    ps = await pages('/api/catalog/entities/by-query?filter=kind=component&limit=1000', (b) => b.items.map((e) => e.metadata.name), (b) => b.pageInfo.nextCursor);
    checkPages(ps, 12, 9);
    assert.equal(new Set(ps.flatMap((p) => p.items)).size, 12);
  });

  test('audit: records of 10,000 refs make pages that end past 4 MiB', async () => {
    // one import creates 10,000 entities with long names; each re-import
    // changes one of them and records all 10,000 refs again (about 0.9 MB)
    const docs = [];
    for (let i = 0; i < 10000; i++) docs.push(component(`audit-${String(i).padStart(5, '0')}-${'n'.repeat(50)}`));
    for (let k = 0; k < 7; k++) {
      docs[0].metadata.description = `round ${k}`;
      const r = await srv.json('/api/v1/import', { method: 'POST', token: admin, headers: { 'content-type': 'application/json' }, body: JSON.stringify(docs) });
      assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
    }
    const ps = await pages('/api/v1/audit?action=catalog.import&limit=1000', (b) => b.items.map((x) => x.id), (b) => b.nextCursor, { token: admin });
    assert.ok(ps.length >= 2, `${ps.length} pages`);
    assert.ok(ps[0].items.length < 7 && ps[0].items.length >= 4, `${ps[0].items.length} records on the first page`);
    const ids = ps.flatMap((p) => p.items);
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(ids.length >= 7);
    for (const p of ps) assert.ok(p.bytes < 4 * MiB + 2 * MiB, `a page of ${p.bytes} bytes`);
  });
});
