// hostile.test.mjs — hostile input against a real `conway serve`: every
// request of the table in hostile.cases.mjs is sent as raw HTTP/1.1 bytes
// and must get its expected status and problem detail; afterwards the
// server is still up, answers correctly and its data is unchanged. Slow
// clients that trickle a request body are cut off by --timeout without
// holding up anybody else.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { join } from 'node:path';
import { startServer, repoRoot, conway } from './helpers.mjs';
import { hostileCases } from './hostile.cases.mjs';

const TIMEOUT_S = 3;

// Sends raw bytes on a fresh connection and collects the answer until the
// server closes it (every request says Connection: close) or `waitMs`
// passes. Resolves { status, headers, body, raw, closed, ms }.
function rawRequest(port, bytes, { waitMs = 20000, writeChunks, laterBody } = {}) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const sock = net.connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    let done = false;
    const finish = (closed) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ ...parseResponse(data), closed, ms: performance.now() - t0 });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    sock.on('data', (d) => {
      data = Buffer.concat([data, d]);
      // Expect: 100-continue: the body goes only after the interim answer
      const m = /^HTTP\/1\.1 100[^\r]*\r\n\r\n/.exec(data.toString('latin1'));
      if (laterBody && m) {
        data = data.subarray(m[0].length);
        sock.write(laterBody);
        laterBody = null;
      }
    });
    sock.on('error', () => {}); // EPIPE/ECONNRESET after an early answer
    sock.on('close', () => finish(true));
    sock.on('connect', async () => {
      if (!writeChunks) { sock.write(bytes); return; }
      for await (const chunk of writeChunks(sock)) {
        if (done || sock.destroyed) return;
        sock.write(chunk);
      }
    });
  });
}

function parseResponse(buf) {
  const text = buf.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  if (!text.startsWith('HTTP/') || end < 0) return { status: 0, headers: {}, body: '', raw: text };
  const lines = text.slice(0, end).split('\r\n');
  const status = Number(lines[0].split(' ')[1]);
  const headers = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let bodyBuf = buf.subarray(Buffer.byteLength(text.slice(0, end + 4), 'latin1'));
  if (/chunked/i.test(headers['transfer-encoding'] || '')) {
    const parts = [];
    let rest = bodyBuf;
    for (;;) {
      const nl = rest.indexOf('\r\n');
      if (nl < 0) break;
      const n = parseInt(rest.subarray(0, nl).toString(), 16);
      if (!n) break;
      parts.push(rest.subarray(nl + 2, nl + 2 + n));
      rest = rest.subarray(nl + 2 + n + 2);
    }
    bodyBuf = Buffer.concat(parts);
  }
  return { status, headers, body: bodyBuf.toString('utf8'), raw: text };
}

// The request's bytes; with c.expect100 { head, body } to send apart.
function buildRequest(c, tokens) {
  const head = [`${c.method || 'GET'} ${c.path} HTTP/1.1`, `Host: ${c.host ?? '127.0.0.1'}`, 'Connection: close'];
  const tok = c.token === undefined ? 'admin' : c.token;
  if (tok && typeof tok === 'object') head.push(`Authorization: ${tok.raw}`);
  else if (tok) head.push(`Authorization: Bearer ${tokens[tok]}`);
  let body = null;
  if (c.body !== undefined) {
    body = Buffer.isBuffer(c.body) ? c.body : Buffer.from(c.body, 'utf8');
    const type = c.type === undefined ? 'application/json' : c.type;
    if (type) head.push(`Content-Type: ${type}`);
    if (c.expect100) head.push('Expect: 100-continue');
    if (c.chunked) head.push('Transfer-Encoding: chunked');
    else if (!c.noLength) head.push(`Content-Length: ${body.length}`);
  }
  for (const h of c.headers || []) head.push(h);
  const parts = [Buffer.from(head.join('\r\n') + '\r\n\r\n', 'latin1')];
  if (c.expect100) return { head: parts[0], body };
  if (body && c.chunked) {
    for (let i = 0; i < body.length; i += 65536) {
      const chunk = body.subarray(i, i + 65536);
      parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from('0\r\n\r\n'));
  } else if (body) {
    parts.push(body);
  }
  return Buffer.concat(parts);
}

// One request on a fresh connection (Connection: close), like srv.json:
// with --timeout 3 a pooled keep-alive connection may be closed by the
// server just as fetch() reuses it. Resolves { status, headers, body, text }.
async function call(srv, path, { method = 'GET', token, body, type = 'application/json' } = {}) {
  const c = { method, path, token: token ? { raw: `Bearer ${token}` } : null };
  if (body !== undefined) Object.assign(c, { body, type });
  const res = await rawRequest(srv.port, buildRequest(c, {}));
  let parsed = null;
  try { parsed = res.body ? JSON.parse(res.body) : null; } catch { parsed = res.body; }
  return { status: res.status, headers: res.headers, body: parsed, text: res.body };
}

// Everything a client can read back, for the before/after comparison.
async function snapshot(srv, token) {
  const out = {};
  let cursor = null;
  const items = [];
  do {
    const r = await call(srv, `/api/v1/entities?limit=1000${cursor ? `&cursor=${cursor}` : ''}`, { token });
    assert.equal(r.status, 200);
    items.push(...r.body.items);
    cursor = r.body.nextCursor;
  } while (cursor);
  out.entities = items;
  const bs = await call(srv, '/api/catalog/entities?limit=100000', { token });
  assert.equal(bs.status, 200);
  out.backstage = bs.body;
  out.facets = (await call(srv, '/api/catalog/entity-facets?facet=kind&facet=spec.type', { token })).body;
  // id, name, role and status of every token (not the "last used" time)
  out.tokens = conway(['token', 'list', '--db', srv.db]).stdout.split('\n')
    .map((l) => l.trim().split(/\s+/)).map((f) => [f[0], f[1], f[2], f[f.length - 1]].join(' '));
  return out;
}

describe('hostile input', () => {
  let srv;
  const tokens = {};
  let before_;
  before(async () => {
    const org = join(repoRoot, 'demo', 'org');
    srv = await startServer({
      publicRead: false,
      args: ['--max-body', '1048576', '--timeout', String(TIMEOUT_S)],
      imports: [org],
    });
    tokens.admin = srv.token('admin', { name: 'hostile-admin' });
    tokens.editor = srv.token('editor', { name: 'hostile-editor' });
    tokens.viewer = srv.token('viewer', { name: 'hostile-viewer' });
    tokens.scoped = srv.token('editor', { name: 'hostile-scoped', team: 'group:default/nobody-team' });
    tokens.scopedIngest = srv.token('ingest', { name: 'hostile-scoped-ingest', team: 'group:default/nobody-team' });
    tokens.sourced = srv.token('ingest', { name: 'hostile-sourced', sources: ['/hostile-only/'] });
    tokens.revoked = srv.token('viewer', { name: 'hostile-revoked' });
    const list = conway(['token', 'list', '--db', srv.db]).stdout;
    const id = list.split('\n').find((l) => l.includes('hostile-revoked')).trim().split(/\s+/)[0];
    assert.equal(conway(['token', 'revoke', '--db', srv.db, id]).status, 0);
    // every token has been used once, so "last used" does not change later
    for (const t of Object.values(tokens)) await call(srv, '/api/v1/entities?limit=1', { token: t });
    before_ = await snapshot(srv, tokens.admin);
    assert.ok(before_.entities.length > 50, 'the demo organisation is loaded');
  });
  after(async () => { await srv?.stop(); });

  const cases = hostileCases();
  test(`the table has many cases (${cases.length})`, () => assert.ok(cases.length > 150));

  for (const c of cases) {
    test(c.name, async () => {
      const req = buildRequest(c, tokens);
      const res = c.expect100 ? await rawRequest(srv.port, req.head, { laterBody: req.body })
        : await rawRequest(srv.port, req);
      if (c.mayClose && res.status === 0 && res.closed) return;
      const want = Array.isArray(c.status) ? c.status : [c.status];
      const shown = `${res.status} ${res.raw.slice(0, 400)}`;
      assert.ok(want.includes(res.status), `expected ${want.join(' or ')}, got ${shown}`);
      assert.ok(res.status < 500, shown);
      if (c.bodyNot) assert.doesNotMatch(res.raw, c.bodyNot);
      const isProblem = /^application\/problem\+json/.test(res.headers['content-type'] || '');
      if (res.status >= 400) {
        if (c.notProblem !== true && c.notProblem !== 'maybe') assert.ok(isProblem, `not a problem answer: ${shown}`);
        if (isProblem) {
          const p = JSON.parse(res.body);
          assert.equal(p.status, res.status);
          assert.equal(typeof p.title, 'string');
          assert.equal(typeof p.detail, 'string');
          if (c.detail) assert.match(p.detail, c.detail);
        } else if (c.detail && /json/.test(res.headers['content-type'] || '')) {
          // an import's per-document answer: {errors: [{document, detail}]}
          const b = JSON.parse(res.body);
          assert.ok(Array.isArray(b.errors) && b.errors.length, res.body.slice(0, 300));
          assert.match(b.errors.map((e) => e.detail).join('; '), c.detail);
        }
      } else if (res.status === 200 && c.items !== undefined && c.items !== 'any') {
        const b = JSON.parse(res.body);
        const items = Array.isArray(b) ? b : b.items;
        assert.equal(items.length, c.items, `expected ${c.items} items: ${res.body.slice(0, 300)}`);
      }
    });
  }

  test('afterwards the server is up, answers correctly and its data is unchanged', async () => {
    assert.equal(srv.proc.exitCode, null, 'server still running');
    assert.equal((await call(srv, '/healthz')).status, 200);
    const ready = await call(srv, '/readyz');
    assert.equal(ready.status, 200);
    const after_ = await snapshot(srv, tokens.admin);
    assert.deepEqual(after_.entities, before_.entities);
    assert.deepEqual(after_.backstage, before_.backstage);
    assert.deepEqual(after_.facets, before_.facets);
    assert.deepEqual(after_.tokens, before_.tokens);
    // a normal write still works
    const ok = await call(srv, '/api/v1/entities/component/default/after-hostile', {
      method: 'PUT', token: tokens.admin,
      body: JSON.stringify({ apiVersion: 'backstage.io/v1alpha1', kind: 'Component', metadata: { name: 'after-hostile' }, spec: { type: 'service', lifecycle: 'production', owner: 'team-a' } }),
    });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.doesNotMatch(srv.stderr, /AddressSanitizer|runtime error|LeakSanitizer/);
  });

  test('slow clients are cut off by the timeout without blocking others', async () => {
    const slowBody = (sock) => (async function* () {
      yield Buffer.from(`PUT /api/v1/entities/component/default/slow HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Bearer ${tokens.admin}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n`);
      for (let i = 0; i < 1000 && !sock.destroyed; i++) {
        await new Promise((r) => setTimeout(r, 250)); // well inside the idle timeout
        yield Buffer.from('{');
      }
    })();
    const slowHeaders = (sock) => (async function* () {
      const head = `GET /api/v1/entities HTTP/1.1\r\nHost: localhost\r\nX-Slow: ${'s'.repeat(200)}`;
      for (let i = 0; i < head.length && !sock.destroyed; i++) {
        yield Buffer.from(head[i]);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const stalledHeaders = () => (async function* () {
      yield Buffer.from('GET /api/v1/entities HTTP/1.1\r\nHost: localhost\r\nX-Half: ');
      await new Promise(() => {}); // then nothing at all
    })();
    const stalled = () => (async function* () {
      yield Buffer.from(`PUT /api/v1/entities/component/default/stall HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${tokens.admin}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"apiVersion":`);
      await new Promise(() => {}); // then nothing at all
    })();
    const t0 = performance.now();
    const slow = [
      ...Array.from({ length: 8 }, () => rawRequest(srv.port, null, { writeChunks: slowBody, waitMs: 30000 })),
      ...Array.from({ length: 4 }, () => rawRequest(srv.port, null, { writeChunks: stalledHeaders, waitMs: 30000 })),
      ...Array.from({ length: 4 }, () => rawRequest(srv.port, null, { writeChunks: stalled, waitMs: 30000 })),
    ];
    // Headers trickled faster than the idle timeout are bounded by the header
    // deadline (--header-timeout, 10 s here; net.test.mjs tests it): they must
    // not block anyone meanwhile, and the client ends them first.
    const trickling = Array.from({ length: 4 }, () => rawRequest(srv.port, null, { writeChunks: slowHeaders, waitMs: (TIMEOUT_S * 2 + 2) * 1000 }));
    await new Promise((r) => setTimeout(r, 500));
    // normal clients meanwhile: each answer comes at once, not after a slow client's timeout
    const lat = [];
    for (let i = 0; i < 20; i++) {
      const s = performance.now();
      const r = await call(srv, '/api/v1/entities?limit=5', { token: tokens.viewer });
      lat.push(performance.now() - s);
      assert.equal(r.status, 200);
    }
    const worst = Math.max(...lat);
    assert.ok(worst < (TIMEOUT_S * 1000) / 2, `a normal request waited ${worst.toFixed(0)} ms while slow clients were connected`);
    const results = await Promise.all(slow);
    await Promise.all(trickling);
    for (const [i, r] of results.entries()) {
      assert.ok(r.closed, `slow connection ${i} was not closed by the server`);
      // cut off within about the timeout (idle timeout for stalled ones, body deadline for tricklers)
      assert.ok(r.ms < (TIMEOUT_S * 2 + 3) * 1000, `slow connection ${i} lasted ${r.ms.toFixed(0)} ms`);
      // libmicrohttpd cannot answer in the middle of a body: the connection is closed
      if (r.status) assert.ok(r.status === 408 || r.status === 400, r.raw.slice(0, 200));
    }
    assert.ok(performance.now() - t0 < 30000);
    assert.equal((await call(srv, '/healthz')).status, 200);
    // the cut-off bodies are counted as 408s
    const metrics = (await call(srv, '/metrics')).text;
    assert.match(metrics, /conway_http_requests_total\{[^}]*route="body-timeout"[^}]*status="408"[^}]*\} 8\b|conway_http_requests_total\{[^}]*status="408"[^}]*route="body-timeout"[^}]*\} 8\b/);
    const gone = await call(srv, '/api/v1/entities/component/default/slow', { token: tokens.viewer });
    assert.equal(gone.status, 404, 'nothing of a cut-off body was stored');
  });
});
