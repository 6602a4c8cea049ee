// load.mjs — the soak's open-loop load generator: sends a fixed mix of
// reads and writes at a steady rate to a running conway (loopback), for a
// warm-up and then a measured period, and samples the server's resident
// memory from /proc/PID/status. Latency is measured from the moment each
// request was due, not from when it could be sent, so a server that falls
// behind shows it (no coordinated omission). Prints a Markdown section.
//
// usage: node load.mjs URL TOKEN PID RATE WARMUP_S MEASURE_S
import { readFileSync } from 'node:fs';

const [url, token, pidText, rateText, warmText, measureText] = process.argv.slice(2);
const pid = Number(pidText);
const rate = Number(rateText);
const warmup = Number(warmText) * 1000;
const measure = Number(measureText) * 1000;
if (!url || !token || !pid || !rate) {
  console.error('usage: node load.mjs URL TOKEN PID RATE WARMUP_S MEASURE_S');
  process.exit(2);
}

// CPU seconds the server has used (utime + stime; Linux reports clock ticks of 1/100 s)
function cpuSeconds() {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

// VmRSS, and its anonymous part: the file-backed rest is SQLite's
// memory-mapped database pages (mmap_size), which grow with the file and
// are the page cache's to drop, not the heap's.
function statusKiB(field) {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}
const rssKiB = () => statusKiB('VmRSS');
const anonKiB = () => statusKiB('RssAnon');

const NAMES = 500; // entity PUTs cycle over these, so the catalog stays bounded
let putSeq = 0, eventSeq = 0;
const auth = { authorization: `Bearer ${token}` };

// The mix: [weight, class, make request]. Reads dominate, as in real use.
const mix = [
  [30, 'read', () => [`/api/v1/entities?kind=component&limit=50`]],
  [15, 'read', () => [`/api/v1/entities/component/default/soak-${Math.floor(Math.random() * NAMES)}`]],
  [10, 'read', () => [`/api/catalog/entities/by-query?filter=kind=component&limit=20`]],
  [5, 'read', () => [`/api/catalog/entity-facets?facet=spec.type&facet=spec.owner`]],
  [5, 'read', () => [`/api/v1/entities?q=soak-1&limit=20`]],
  [5, 'read', () => [`/api/v1/events?limit=20`]],
  [20, 'write', () => {
    const i = putSeq++;
    const name = `soak-${i % NAMES}`;
    return [`/api/v1/entities/component/default/${name}`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        apiVersion: 'backstage.io/v1alpha1', kind: 'Component',
        metadata: { name, description: `soak write ${i}`, tags: ['soak'] },
        spec: { type: i % 2 ? 'service' : 'website', lifecycle: 'production', owner: `group:default/soak-team-${i % 7}` },
      }),
    }];
  }],
  [10, 'event', () => {
    const i = eventSeq++;
    return ['/api/v1/events', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        context: { specversion: '0.5.1', id: `soak-${process.pid}-${i}`, source: '/soak', type: 'dev.cdevents.service.deployed.0.3.0', timestamp: new Date().toISOString() },
        subject: { id: `soak-${i % NAMES}`, source: '/soak', content: { environment: { id: 'prod' }, artifactId: 'pkg:oci/soak@sha256%3Aabc' } },
      }),
    }];
  }],
];
const totalWeight = mix.reduce((a, m) => a + m[0], 0);
function pick() {
  let r = Math.random() * totalWeight;
  for (const m of mix) { if ((r -= m[0]) < 0) return m; }
  return mix[0];
}

const stats = { read: [], write: [], event: [] };
let errors = 0, sent = 0, done = 0, inFlightMax = 0, inFlight = 0;
const errorKinds = new Map();
let measuring = false;
const rss = { start: rssKiB(), warm: NaN, end: NaN, samples: [] };
const anon = { start: anonKiB(), warm: NaN, end: NaN };
const cpu = { warm: NaN, end: NaN };

async function one(due) {
  const [, cls, make] = pick();
  const [path, opts = { headers: auth }] = make();
  inFlight++;
  inFlightMax = Math.max(inFlightMax, inFlight);
  const counted = measuring;
  try {
    const res = await fetch(url + path, opts);
    await res.arrayBuffer();
    if (res.status >= 400 && counted) {
      errors++;
      errorKinds.set(res.status, (errorKinds.get(res.status) || 0) + 1);
    }
  } catch (e) {
    if (counted) {
      errors++;
      errorKinds.set(e.cause?.code || e.message, (errorKinds.get(e.cause?.code || e.message) || 0) + 1);
    }
  } finally {
    inFlight--;
  }
  if (counted) {
    stats[cls].push(performance.now() - due);
    done++;
  }
}

const pct = (arr, p) => {
  if (!arr.length) return NaN;
  const s = Float64Array.from(arr).sort();
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const fmt = (v) => (Number.isFinite(v) ? v.toFixed(v < 10 ? 2 : 1) : '-');
const mib = (kib) => (kib / 1024).toFixed(1);

const interval = 1000 / rate;
const t0 = performance.now();
let tMeasure = 0;
let next = t0;
const pending = new Set();
const sampler = setInterval(() => rss.samples.push([Math.round((performance.now() - t0) / 1000), rssKiB(), anonKiB()]), 10000);
for (;;) {
  if (measuring ? performance.now() - tMeasure >= measure : false) break;
  const now = performance.now();
  if (!measuring && now - t0 >= warmup) {
    await Promise.all(pending); // the warm-up's requests are not counted
    rss.warm = rssKiB();
    anon.warm = anonKiB();
    cpu.warm = cpuSeconds();
    measuring = true;
    tMeasure = performance.now();
    next = tMeasure;
  }
  while (next <= performance.now()) {
    const p = one(next);
    pending.add(p);
    p.finally(() => pending.delete(p));
    if (measuring) sent++;
    next += interval;
  }
  await new Promise((r) => setTimeout(r, Math.max(0, Math.min(5, next - performance.now()))));
}
await Promise.all(pending);
const elapsed = (performance.now() - tMeasure) / 1000;
clearInterval(sampler);
rss.end = rssKiB();
anon.end = anonKiB();
cpu.end = cpuSeconds();

const all = [...stats.read, ...stats.write, ...stats.event];
const lines = [];
lines.push(`Open-loop load at ${rate} requests/s for ${measureText} s after a ${warmText} s warm-up: ` +
  'entity lists with filters, single entities, Backstage by-query and facets, text search and event lists (70%), ' +
  'entity PUTs over 500 names (20%) and single CDEvents (10%). Latency from the moment each request was due.');
lines.push('');
lines.push('| class | requests | p50 ms | p90 ms | p99 ms | max ms |');
lines.push('|---|---:|---:|---:|---:|---:|');
for (const [name, arr] of [['all', all], ['reads', stats.read], ['entity writes', stats.write], ['events', stats.event]]) {
  lines.push(`| ${name} | ${arr.length} | ${fmt(pct(arr, 50))} | ${fmt(pct(arr, 90))} | ${fmt(pct(arr, 99))} | ${fmt(pct(arr, 100))} |`);
}
lines.push('');
const errText = errors ? ` (${[...errorKinds].map(([k, n]) => `${k}: ${n}`).join(', ')})` : '';
lines.push(`Throughput ${(done / elapsed).toFixed(1)} requests/s answered (${sent} due), errors ${errors}${errText}, ` +
  `at most ${inFlightMax} requests in flight; the server used ${(((cpu.end - cpu.warm) / elapsed) * 100).toFixed(0)}% of one CPU.`);
lines.push('');
const growth = rss.end - rss.warm;
lines.push(`Server resident memory (VmRSS): ${mib(rss.start)} MiB at start, ${mib(rss.warm)} MiB after the warm-up, ` +
  `${mib(rss.end)} MiB at the end: ${growth >= 0 ? '+' : ''}${mib(growth)} MiB ` +
  `(${((growth / rss.warm) * 100).toFixed(1)}%) over the measured period. ` +
  `Of it anonymous memory (RssAnon; the rest is mostly the memory-mapped database): ${mib(anon.start)}, ${mib(anon.warm)}, ` +
  `${mib(anon.end)} MiB. Samples every 10 s (s: VmRSS/RssAnon MiB): ` +
  `${rss.samples.map(([t, k, a]) => `${t}: ${mib(k)}/${mib(a)}`).join(', ')}.`);
const anonGrowth = anon.end - anon.warm;
const steady = anonGrowth <= Math.max(8 * 1024, anon.warm * 0.1);
lines.push('');
lines.push(steady
  ? `Verdict: anonymous memory steady once warm (${anonGrowth >= 0 ? '+' : ''}${mib(anonGrowth)} MiB, within max(8 MiB, 10%)).`
  : `Verdict: anonymous memory grew by ${mib(anonGrowth)} MiB once warm, more than max(8 MiB, 10%): look for a leak, or a backlog (requests in flight above).`);
console.log(lines.join('\n'));
