// amqp.test.mjs — CDEvents intake from a real RabbitMQ (scripts/services.sh
// starts one on a non-default port and exports CONWAY_TEST_AMQP_URL): the
// three CloudEvents AMQP binding modes end to end with publisher confirms,
// malformed messages dead-lettered without blocking the queue, readiness and
// metrics, two instances sharing one queue, and a consumer killed with
// SIGKILL while consuming: after a restart every published event is stored
// exactly once. Skipped (with a message) when no broker is configured.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { startServer, tempDir } from './helpers.mjs';

const AMQP_URL = process.env.CONWAY_TEST_AMQP_URL || '';
const skip = AMQP_URL ? false : 'CONWAY_TEST_AMQP_URL is not set: start a broker with `eval "$(scripts/services.sh start)"`';
if (skip) console.log(`# amqp tests skipped: ${skip}`);

let amqplib = null;
if (!skip) amqplib = (await import('amqplib')).default;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A valid CDEvent (service.deployed 0.3.0, spec 0.5.1) with a given id.
export function cdevent(id, { source = '/conway/tests/amqp', env = 'production', service = 'svc-amqp' } = {}) {
  return {
    context: {
      specversion: '0.5.1', id, source, type: 'dev.cdevents.service.deployed.0.3.0',
      timestamp: new Date(Date.UTC(2024, 0, 1) + Math.floor(Math.random() * 1e9)).toISOString(),
    },
    subject: {
      id: `${service}`, source,
      content: { environment: { id: env }, artifactId: `pkg:oci/${service}@sha256%3A${'0'.repeat(64)}` },
    },
  };
}

// A structured CloudEvent carrying ev.
function structured(ev) {
  return {
    specversion: '1.0', id: ev.context.id, source: ev.context.source, type: ev.context.type,
    datacontenttype: 'application/json', data: ev,
  };
}

// Publishes messages ({body, contentType, headers}) with publisher confirms.
async function publish(queue, messages) {
  const conn = await amqplib.connect(AMQP_URL);
  try {
    const ch = await conn.createConfirmChannel();
    for (const m of messages) {
      const body = Buffer.isBuffer(m.body) ? m.body : Buffer.from(typeof m.body === 'string' ? m.body : JSON.stringify(m.body));
      const opts = { persistent: true, headers: m.headers || {} };
      if (m.contentType) opts.contentType = m.contentType;
      ch.sendToQueue(queue, body, opts);
    }
    await ch.waitForConfirms();
    await ch.close();
  } finally { await conn.close(); }
}

// Declares the queue as conway does (with its dead-letter exchange), so that
// messages published before conway starts are kept.
async function declareQueue(queue) {
  const conn = await amqplib.connect(AMQP_URL);
  try {
    const ch = await conn.createChannel();
    await ch.assertExchange(`${queue}.dlx`, 'fanout', { durable: true });
    await ch.assertQueue(`${queue}.dead`, { durable: true });
    await ch.bindQueue(`${queue}.dead`, `${queue}.dlx`, '');
    await ch.assertQueue(queue, { durable: true, arguments: { 'x-dead-letter-exchange': `${queue}.dlx` } });
    await ch.close();
  } finally { await conn.close(); }
}

async function queueDepth(queue) {
  const conn = await amqplib.connect(AMQP_URL);
  try {
    const ch = await conn.createChannel();
    const q = await ch.checkQueue(queue);
    await ch.close();
    return q.messageCount;
  } finally { await conn.close(); }
}

// Takes every message of a queue (acknowledging them).
async function drain(queue) {
  const conn = await amqplib.connect(AMQP_URL);
  const out = [];
  try {
    const ch = await conn.createChannel();
    for (;;) {
      const m = await ch.get(queue, { noAck: true });
      if (!m) break;
      out.push(m);
    }
    await ch.close();
  } finally { await conn.close(); }
  return out;
}

async function deleteQueues(queue) {
  const conn = await amqplib.connect(AMQP_URL);
  try {
    const ch = await conn.createChannel();
    await ch.deleteQueue(queue);
    await ch.deleteQueue(`${queue}.dead`);
    await ch.deleteExchange(`${queue}.dlx`);
    await ch.close();
  } finally { await conn.close(); }
}

// Every stored event (all pages).
async function allEvents(srv) {
  const items = [];
  let cursor = null;
  for (;;) {
    const r = await srv.json(`/api/v1/events?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    items.push(...r.body.items);
    cursor = r.body.nextCursor;
    if (!cursor) return items;
  }
}

async function waitFor(what, fn, ms = 30000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function waitReady(srv) {
  return waitFor('the consumer to connect', async () => {
    const r = await srv.json('/readyz');
    return r.body?.checks?.amqp?.status === 'up' ? r.body : null;
  });
}

function metric(text, name, labels) {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(' ').pop());
  }
  return undefined;
}

const queueName = () => `conway.test.${randomUUID().slice(0, 8)}`;
const consumerArgs = (queue) => ['--amqp', AMQP_URL, '--amqp-queue', queue];

describe('AMQP intake', { skip }, () => {
  test('structured, binary (cloudEvents: and cloudEvents_) and plain messages are stored and acknowledged', async () => {
    const queue = queueName();
    const srv = await startServer({ args: consumerArgs(queue) });
    try {
      const ready = await waitReady(srv);
      assert.equal(ready.status, 'ready');
      assert.equal(ready.checks.amqp.queue, queue);
      const ids = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      const evs = ids.map((id) => cdevent(id));
      const binHeaders = (ev, p) => ({
        [`${p}specversion`]: '1.0', [`${p}id`]: ev.context.id, [`${p}source`]: ev.context.source, [`${p}type`]: ev.context.type,
      });
      await publish(queue, [
        { body: structured(evs[0]), contentType: 'application/cloudevents+json' },
        { body: evs[1], contentType: 'application/json', headers: binHeaders(evs[1], 'cloudEvents:') },
        { body: evs[2], contentType: 'application/json', headers: binHeaders(evs[2], 'cloudEvents_') },
        { body: evs[3], contentType: 'application/json' },
      ]);
      const stored = await waitFor('4 events', async () => {
        const all = await allEvents(srv);
        return all.length === 4 ? all : null;
      });
      assert.deepEqual(stored.map((e) => e.id).sort(), [...ids].sort());
      // acknowledged: nothing left in the queue, nothing dead-lettered
      await waitFor('an empty queue', async () => (await queueDepth(queue)) === 0);
      assert.equal(await queueDepth(`${queue}.dead`), 0);
      const m = await (await srv.fetch('/metrics')).text();
      assert.equal(metric(m, 'conway_amqp_messages_total', { queue, outcome: 'acked' }), 4);
      assert.equal(metric(m, 'conway_amqp_events_total', { queue, outcome: 'stored' }), 4);
      assert.equal(metric(m, 'conway_amqp_connected', { queue }), 1);
    } finally {
      await srv.stop();
      await deleteQueues(queue);
    }
  });

  test('a binary message whose cloudEvents:id disagrees with the CDEvent is malformed', async () => {
    const queue = queueName();
    const srv = await startServer({ args: consumerArgs(queue) });
    try {
      await waitReady(srv);
      const ev = cdevent(randomUUID());
      await publish(queue, [{
        body: ev, contentType: 'application/json',
        headers: { 'cloudEvents:specversion': '1.0', 'cloudEvents:id': 'other', 'cloudEvents:source': ev.context.source, 'cloudEvents:type': ev.context.type },
      }]);
      const dead = await waitFor('the dead letter', async () => { const d = await drain(`${queue}.dead`); return d.length ? d : null; });
      assert.equal(dead.length, 1);
      assert.equal((await allEvents(srv)).length, 0);
    } finally {
      await srv.stop();
      await deleteQueues(queue);
    }
  });

  test('malformed messages go to the dead-letter queue, are counted, and never block the queue', async () => {
    const queue = queueName();
    const srv = await startServer({ args: consumerArgs(queue) });
    try {
      await waitReady(srv);
      const good = randomUUID();
      const invalid = cdevent(randomUUID());
      delete invalid.context.timestamp;
      await publish(queue, [
        { body: 'this is not JSON', contentType: 'application/json' },
        { body: invalid, contentType: 'application/json' },
        { body: '<xml/>', contentType: 'text/xml' },
        { body: cdevent(good), contentType: 'application/json' },
      ]);
      const dead = await waitFor('3 dead letters', async () => ((await queueDepth(`${queue}.dead`)) === 3 ? true : null));
      assert.ok(dead);
      const got = await drain(`${queue}.dead`);
      assert.deepEqual(got.map((m) => m.content.toString()).sort(), ['<xml/>', JSON.stringify(invalid), 'this is not JSON'].sort());
      // the death is recorded by the broker: rejected from our queue
      assert.equal(got[0].properties.headers['x-death'][0].reason, 'rejected');
      assert.equal(got[0].properties.headers['x-death'][0].queue, queue);
      const stored = await waitFor('the good event', async () => { const a = await allEvents(srv); return a.length ? a : null; });
      assert.deepEqual(stored.map((e) => e.id), [good]);
      const m = await (await srv.fetch('/metrics')).text();
      assert.equal(metric(m, 'conway_amqp_messages_total', { queue, outcome: 'malformed' }), 3);
      assert.equal(metric(m, 'conway_amqp_messages_total', { queue, outcome: 'acked' }), 1);
    } finally {
      await srv.stop();
      await deleteQueues(queue);
    }
  });

  test('a message with an event over --max-event-bytes is malformed: dead-lettered, nothing of it stored', async () => {
    const queue = queueName();
    const srv = await startServer({ args: [...consumerArgs(queue), '--max-event-bytes', '65536'] });
    try {
      await waitReady(srv);
      const small = cdevent(randomUUID());
      const big = cdevent(randomUUID());
      big.customData = { pad: 'p'.repeat(70000) };
      const fits = cdevent(randomUUID());
      fits.customData = { pad: 'p'.repeat(60000) };
      await publish(queue, [
        { body: [small, big].map((e) => JSON.stringify(e)).join('\n'), contentType: 'application/x-ndjson' },
        { body: fits, contentType: 'application/json' },
      ]);
      const dead = await waitFor('the dead letter', async () => { const d = await drain(`${queue}.dead`); return d.length ? d : null; });
      assert.equal(dead.length, 1);
      const stored = await waitFor('the event that fits', async () => { const a = await allEvents(srv); return a.length ? a : null; });
      assert.deepEqual(stored.map((e) => e.id), [fits.context.id]);
      assert.match(srv.stderr, /amqp message malformed.*events\[1\]: the event is \d+ bytes of JSON, more than the limit of 65536/);
    } finally {
      await srv.stop();
      await deleteQueues(queue);
    }
  });

  test('duplicates are absorbed and acknowledged', async () => {
    const queue = queueName();
    const srv = await startServer({ args: consumerArgs(queue) });
    try {
      await waitReady(srv);
      const ev = cdevent(randomUUID());
      await publish(queue, [1, 2, 3].map(() => ({ body: ev, contentType: 'application/json' })));
      await waitFor('3 acks', async () => {
        const m = await (await srv.fetch('/metrics')).text();
        return metric(m, 'conway_amqp_messages_total', { queue, outcome: 'acked' }) === 3;
      });
      const m = await (await srv.fetch('/metrics')).text();
      assert.equal(metric(m, 'conway_amqp_events_total', { queue, outcome: 'stored' }), 1);
      assert.equal(metric(m, 'conway_amqp_events_total', { queue, outcome: 'duplicate' }), 2);
      assert.equal((await allEvents(srv)).length, 1);
    } finally {
      await srv.stop();
      await deleteQueues(queue);
    }
  });

  test('a broker that is unreachable leaves HTTP serving and /readyz says so', async () => {
    const srv = await startServer({ args: ['--amqp', 'amqp://guest:guest@127.0.0.1:1/%2f', '--amqp-queue', 'conway.none'] });
    try {
      const r = await waitFor('a failed connection attempt', async () => {
        const x = await srv.json('/readyz');
        return x.body?.checks?.amqp?.detail ? x : null;
      });
      assert.equal(r.status, 200);
      assert.equal(r.body.status, 'degraded');
      assert.notEqual(r.body.checks.amqp.status, 'up');
      assert.match(r.body.checks.amqp.detail, /connect/);
      assert.equal(r.body.checks.database.status, 'up');
      assert.equal((await srv.json('/healthz')).status, 200);
      assert.equal((await srv.json('/api/v1/entities')).status, 200);
      const m = await (await srv.fetch('/metrics')).text();
      assert.equal(metric(m, 'conway_amqp_connected', { queue: 'conway.none' }), 0);
    } finally { await srv.stop(); }
  });

  test('the consumer comes back after the broker drops it (queue deleted under it)', async () => {
    const queue = queueName();
    const srv = await startServer({ args: consumerArgs(queue) });
    try {
      await waitReady(srv);
      await deleteQueues(queue); // the broker cancels the consumer
      await waitFor('a reconnect', async () => {
        const m = await (await srv.fetch('/metrics')).text();
        return metric(m, 'conway_amqp_reconnects_total', { queue }) >= 1;
      });
      await waitReady(srv);
      const id = randomUUID();
      await publish(queue, [{ body: cdevent(id), contentType: 'application/json' }]);
      const stored = await waitFor('the event', async () => { const a = await allEvents(srv); return a.length ? a : null; });
      assert.deepEqual(stored.map((e) => e.id), [id]);
    } finally {
      await srv.stop();
      await deleteQueues(queue);
    }
  });

  test('two instances on one queue share the load and store every event once', async () => {
    const queue = queueName();
    const dir = tempDir();
    const db = join(dir, 'shared.db');
    const a = await startServer({ db, args: consumerArgs(queue) });
    const b = await startServer({ db, args: consumerArgs(queue) });
    try {
      await waitReady(a);
      await waitReady(b);
      const ids = Array.from({ length: 400 }, () => randomUUID());
      await publish(queue, ids.map((id) => ({ body: cdevent(id), contentType: 'application/json' })));
      const stored = await waitFor('400 events', async () => { const all = await allEvents(a); return all.length === 400 ? all : null; });
      assert.equal(new Set(stored.map((e) => e.id)).size, 400);
      const ma = await (await a.fetch('/metrics')).text();
      const mb = await (await b.fetch('/metrics')).text();
      const ra = metric(ma, 'conway_amqp_messages_total', { queue, outcome: 'acked' });
      const rb = metric(mb, 'conway_amqp_messages_total', { queue, outcome: 'acked' });
      assert.equal(ra + rb, 400);
      assert.ok(ra > 0 && rb > 0, `both consumed (${ra} + ${rb})`);
    } finally {
      await a.stop();
      await b.stop();
      await deleteQueues(queue);
    }
  });

  test('kill -9 while consuming: after a restart every published event is stored exactly once', async () => {
    const queue = queueName();
    const dir = tempDir();
    const db = join(dir, 'k.db');
    const N = 3000;
    await declareQueue(queue);
    const ids = Array.from({ length: N }, () => randomUUID());
    // published (and confirmed) before the consumer starts: it finds a backlog
    for (let i = 0; i < N; i += 500) {
      await publish(queue, ids.slice(i, i + 500).map((id) => ({ body: cdevent(id), contentType: 'application/json' })));
    }
    let srv = await startServer({ db, args: consumerArgs(queue) });
    try {
      // kill it in the middle of the backlog
      await waitFor('some progress', async () => {
        const r = await srv.json('/api/v1/events?limit=1');
        return r.body.items.length > 0;
      }, 60000);
      await srv.stop({ keep: true, signal: 'SIGKILL' });
      srv = await startServer({ db, args: consumerArgs(queue) });
      const stored = await waitFor(`${N} events`, async () => {
        const all = await allEvents(srv);
        return all.length >= N ? all : null;
      }, 120000);
      await waitFor('an empty queue', async () => (await queueDepth(queue)) === 0);
      const seen = new Map();
      for (const e of stored) seen.set(e.id, (seen.get(e.id) || 0) + 1);
      assert.equal(stored.length, N, 'no event stored twice');
      assert.equal(seen.size, N);
      for (const id of ids) assert.equal(seen.get(id), 1, `event ${id} stored once`);
    } finally {
      await srv.stop();
      await deleteQueues(queue);
    }
  });
});
