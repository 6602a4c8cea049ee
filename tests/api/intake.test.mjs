// intake.test.mjs — the event intake under concurrency, against a real
// `conway serve`: many simultaneous single-event POSTs are each answered
// 202 after their commit (the server suspends them while the group commit
// runs) and are all stored; errors still come back as problem+json; and a
// shutdown (SIGTERM) with requests in flight neither hangs nor loses an
// acknowledged event.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { request, Agent } from 'node:http';
import { startServer } from './helpers.mjs';

const T0 = Date.parse('2024-05-01T00:00:00Z');
const cdevent = (source, id, i) => ({
  context: {
    specversion: '0.5.1', id, source, type: 'dev.cdevents.service.deployed.0.3.0',
    timestamp: new Date(T0 + i * 1000).toISOString(),
  },
  subject: { id: `svc-${i % 5}`, content: { environment: { id: 'prod' }, artifactId: `pkg:oci/a@v${i}` } },
});

// POSTs on the given agent; resolves {status, body} or {error}.
function post(port, agent, token, body, ctype = 'application/json') {
  return new Promise((resolve) => {
    const data = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const req = request({
      host: '127.0.0.1', port, path: '/api/v1/events', method: 'POST', agent,
      headers: { 'content-type': ctype, 'content-length': data.length, authorization: `Bearer ${token}` },
    }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => {
        let parsed = text;
        try { parsed = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, ctype: res.headers['content-type'], body: parsed });
      });
      res.on('error', (error) => resolve({ error }));
    });
    req.on('error', (error) => resolve({ error }));
    req.setTimeout(30000, () => req.destroy(new Error('timeout')));
    req.end(data);
  });
}

async function listIds(srv, source) {
  const ids = new Set();
  let cursor = null;
  do {
    const q = `/api/v1/events?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const r = await srv.json(q);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    for (const it of r.body.items) if (it.source === source) ids.add(it.id);
    cursor = r.body.nextCursor;
  } while (cursor);
  return ids;
}

describe('concurrent intake', () => {
  test('many simultaneous single-event POSTs: each 202 after commit, all stored, duplicates counted', async () => {
    const srv = await startServer({ args: ['--threads', '4'] });
    try {
      const tok = srv.token('ingest');
      const agent = new Agent({ keepAlive: true, maxSockets: 48 });
      const N = 400;
      const evs = Array.from({ length: N }, (_, i) => cdevent('/intake/many', `m-${i}`, i));
      const res = await Promise.all(evs.map((e) => post(srv.port, agent, tok, e)));
      for (const r of res) {
        assert.equal(r.error, undefined, String(r.error));
        assert.equal(r.status, 202, JSON.stringify(r.body));
        assert.deepEqual(r.body, { accepted: 1, duplicates: 0, conflicts: 0 });
      }
      const ids = await listIds(srv, '/intake/many');
      assert.equal(ids.size, N);
      // again, concurrently, with some invalid ones in between
      const again = await Promise.all(evs.map((e, i) => (i % 50 === 7
        ? post(srv.port, agent, tok, { context: { id: 'x' } })
        : post(srv.port, agent, tok, e))));
      for (let i = 0; i < N; i++) {
        const r = again[i];
        if (i % 50 === 7) {
          assert.equal(r.status, 400);
          assert.match(r.ctype, /^application\/problem\+json/);
          assert.match(r.body.detail, /^events\[0\]\./);
        } else {
          assert.equal(r.status, 202, JSON.stringify(r.body));
          assert.deepEqual(r.body, { accepted: 0, duplicates: 1, conflicts: 0 });
        }
      }
      // every acknowledged request was audited before its answer
      const admin = srv.token('admin');
      const audit = await srv.json('/api/v1/audit?action=events.ingest&limit=1000', { token: admin });
      assert.equal(audit.status, 200);
      const items = audit.body.items;
      assert.equal(items.length, N + N - N / 50);
      // stored with the events (same group commit): the batch's counts, the
      // token and request, ids unique; the log line names each one's id
      const counts = { first: 0, again: 0 };
      for (const it of items) {
        assert.equal(it.actor, 'token');
        assert.ok(it.tokenId > 0 && it.tokenName, JSON.stringify(it));
        assert.ok(it.requestId, JSON.stringify(it));
        assert.deepEqual(it.entityRefs, []);
        if (it.detail.accepted === 1 && it.detail.duplicates === 0) counts.first++;
        else if (it.detail.accepted === 0 && it.detail.duplicates === 1) counts.again++;
        else assert.fail(`unexpected detail ${JSON.stringify(it.detail)}`);
      }
      assert.deepEqual(counts, { first: N, again: N - N / 50 });
      assert.equal(new Set(items.map((x) => x.id)).size, items.length);
      assert.equal(new Set(items.map((x) => x.requestId)).size, items.length);
      const logged = new Map();
      for (const line of srv.stderr.split('\n')) {
        if (!line.includes('"events.ingest"')) continue;
        const l = JSON.parse(line);
        if (l.msg === 'audit') logged.set(l.auditId, l.requestId);
      }
      for (const it of items) assert.equal(logged.get(it.id), it.requestId, `log line of audit ${it.id}`);
      agent.destroy();
    } finally {
      await srv.stop();
    }
  });

  test('NDJSON and batch requests in parallel with single events', async () => {
    const srv = await startServer({ args: ['--threads', '2'] });
    try {
      const tok = srv.token('ingest');
      const agent = new Agent({ keepAlive: true, maxSockets: 16 });
      const bulk = (k) => Array.from({ length: 300 }, (_, i) => JSON.stringify(cdevent('/intake/mix', `b${k}-${i}`, i))).join('\n');
      const jobs = [];
      for (let k = 0; k < 4; k++) jobs.push(post(srv.port, agent, tok, bulk(k), 'application/x-ndjson'));
      for (let i = 0; i < 60; i++) jobs.push(post(srv.port, agent, tok, cdevent('/intake/mix', `s-${i}`, i)));
      const res = await Promise.all(jobs);
      let accepted = 0;
      for (const r of res) {
        assert.equal(r.status, 202, JSON.stringify(r.body ?? r.error));
        accepted += r.body.accepted;
      }
      assert.equal(accepted, 4 * 300 + 60);
      assert.equal((await listIds(srv, '/intake/mix')).size, 4 * 300 + 60);
      agent.destroy();
    } finally {
      await srv.stop();
    }
  });

  test('SIGTERM with requests in flight: exits promptly, every acknowledged event is stored', async (t) => {
    const srv = await startServer({ args: ['--threads', '4'] });
    let srv2 = null;
    try {
      const tok = srv.token('ingest');
      const agent = new Agent({ keepAlive: true, maxSockets: 32 });
      const N = 300;
      const pending = [];
      let firstAck;
      const acked1 = new Promise((r) => { firstAck = r; });
      for (let i = 0; i < N; i++) {
        pending.push(post(srv.port, agent, tok, cdevent('/intake/stop', `t-${i}`, i)).then((r) => {
          if (r.status === 202) firstAck();
          return r;
        }));
      }
      // stop while the requests are being answered: right after the first
      // acknowledgement, with most of the others still queued or suspended
      await acked1;
      const t0 = Date.now();
      const exited = new Promise((r) => srv.proc.once('exit', (code, signal) => r({ code, signal })));
      srv.proc.kill('SIGTERM');
      const ex = await exited;
      const took = Date.now() - t0;
      assert.equal(ex.code, 0, `exit ${ex.code} ${ex.signal}: ${srv.stderr.slice(-2000)}`);
      assert.ok(took < 15000, `shutdown took ${took} ms`);
      const res = await Promise.all(pending);
      agent.destroy();
      const acked = [];
      for (let i = 0; i < N; i++) {
        const r = res[i];
        if (r.error) continue; // cut off by the shutdown: not acknowledged
        if (r.status === 202) { acked.push(`t-${i}`); continue; }
        assert.ok(r.status === 503 || r.status >= 500, `unexpected ${r.status}`);
      }
      assert.ok(acked.length > 0, 'some requests were acknowledged before the stop');
      t.diagnostic(`${acked.length} of ${N} acknowledged, ${res.filter((r) => r.error).length} cut off`);
      assert.doesNotMatch(srv.stderr, /suspend|resume/i);
      srv2 = await startServer({ db: srv.db });
      const ids = await listIds(srv2, '/intake/stop');
      for (const id of acked) assert.ok(ids.has(id), `acknowledged ${id} is missing`);
    } finally {
      if (srv2) await srv2.stop({ keep: true });
      await srv.stop();
    }
  });
});
