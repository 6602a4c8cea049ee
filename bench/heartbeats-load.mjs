// heartbeats-load.mjs — the load of bench/heartbeats.sh: mints the team
// ping keys and KEYED UUID ping keys through the management API, then runs
// two open-loop phases at RATE requests/s on the same server: the baseline
// (GET /healthz) and the pings (random heartbeats, alternating the UUID
// form /ping/{uuid} and the slug form /ping/{team-key}/{slug}, GET and
// POST with a small body). Latency is measured from the moment each request
// was due (no coordinated omission). Prints Markdown.
//
// usage: node heartbeats-load.mjs URL TOKEN PID N TEAMS KEYED RATE WARMUP_S MEASURE_S
import { readFileSync } from 'node:fs';
import http from 'node:http';

const [url, token, pidText, nText, teamsText, keyedText, rateText, warmText, measureText] = process.argv.slice(2);
const [pid, N, TEAMS, KEYED, rate] = [pidText, nText, teamsText, keyedText, rateText].map(Number);
const warmup = Number(warmText) * 1000;
const measure = Number(measureText) * 1000;
if (!url || !token || !pid || !N || !TEAMS || !rate) {
  console.error('usage: node heartbeats-load.mjs URL TOKEN PID N TEAMS KEYED RATE WARMUP_S MEASURE_S');
  process.exit(2);
}
const auth = { authorization: `Bearer ${token}` };
// Keep-alive connections, at most 48 (the server allows 64 per address).
const agent = new http.Agent({ keepAlive: true, maxSockets: 48 });
const target = new URL(url);

// One request on the agent: resolves { status, text }.
function request(path, { method = 'GET', body = null, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: target.hostname, port: target.port, path, method, agent,
      headers: { ...headers, ...(body !== null ? { 'content-length': Buffer.byteLength(body) } : {}) } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}

function cpuSeconds() {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

// Runs fn(i) for i < n, `width` at a time.
async function pool(n, width, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) await fn(next++);
  }));
}

async function mint(path) {
  const r = await request(path, { method: 'POST', headers: auth, body: '' });
  const body = JSON.parse(r.text);
  if (r.status !== 201) throw new Error(`${path}: ${r.status} ${JSON.stringify(body)}`);
  return body.pingKey;
}

const tMint = performance.now();
const teamKeys = new Array(TEAMS);
await pool(TEAMS, 16, async (t) => { teamKeys[t] = await mint(`/api/v1/teams/default/hb-team-${t}/ping-key`); });
const uuidKeys = new Array(KEYED);
const keyedStep = Math.max(1, Math.floor(N / Math.max(1, KEYED)));
await pool(KEYED, 16, async (k) => { uuidKeys[k] = await mint(`/api/v1/heartbeats/default/hb-${k * keyedStep}/ping-key`); });
const mintS = (performance.now() - tMint) / 1000;

let seq = 0;
function pingRequest() {
  const i = seq++;
  const post = i % 4 >= 2;
  const opts = post ? { method: 'POST', body: `run ${i} ok\n` } : {};
  if (KEYED && i % 2 === 0) return [`/ping/${uuidKeys[Math.floor(Math.random() * KEYED)]}`, opts];
  const h = Math.floor(Math.random() * N);
  return [`/ping/${teamKeys[h % TEAMS]}/hb-${h}`, opts];
}
const healthz = () => ['/healthz', {}];

const pct = (arr, p) => {
  if (!arr.length) return NaN;
  const s = Float64Array.from(arr).sort();
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const fmt = (v) => (Number.isFinite(v) ? v.toFixed(v < 10 ? 2 : 1) : '-');

async function phase(make, expect) {
  const lat = [];
  const errorKinds = new Map();
  let errors = 0, sent = 0, inFlight = 0, inFlightMax = 0, measuring = false;
  const pending = new Set();
  async function one(due) {
    const [path, opts] = make();
    const counted = measuring;
    inFlight++;
    inFlightMax = Math.max(inFlightMax, inFlight);
    try {
      const res = await request(path, opts);
      if (counted && (res.status !== 200 || (expect && res.text !== expect))) {
        errors++;
        errorKinds.set(res.status, (errorKinds.get(res.status) || 0) + 1);
        if (errors <= 3) console.error(`${path}: ${res.status} ${res.text.slice(0, 200)}`);
      }
    } catch (e) {
      if (counted) {
        errors++;
        const k = e.code || e.cause?.code || e.message;
        errorKinds.set(k, (errorKinds.get(k) || 0) + 1);
      }
    } finally {
      inFlight--;
    }
    if (counted) lat.push(performance.now() - due);
  }
  const interval = 1000 / rate;
  const t0 = performance.now();
  let tMeasure = 0, cpu0 = 0, next = t0;
  for (;;) {
    if (measuring && performance.now() - tMeasure >= measure) break;
    if (!measuring && performance.now() - t0 >= warmup) {
      await Promise.all(pending);
      measuring = true;
      cpu0 = cpuSeconds();
      tMeasure = performance.now();
      next = tMeasure;
      inFlightMax = 0;
    }
    while (next <= performance.now()) {
      const p = one(next);
      pending.add(p);
      p.finally(() => pending.delete(p));
      if (measuring) sent++;
      next += interval;
    }
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(2, next - performance.now()))));
  }
  await Promise.all(pending);
  const elapsed = (performance.now() - tMeasure) / 1000;
  return { lat, errors, errorKinds, sent, inFlightMax, elapsed, cpu: (cpuSeconds() - cpu0) / elapsed };
}

// Every heartbeat pinged once before the measured phases, as fast as 48
// connections go: a heartbeat's first ping is a status change (new -> up,
// recorded and passed to the notifier), after which a ping only moves its
// state and adds to its log: the steady state of a running organisation,
// which the phases measure. The first pings' rate is reported too.
const tPrime = performance.now();
let primeErrors = 0;
await pool(N, 48, async (h) => {
  const r = await request(`/ping/${teamKeys[h % TEAMS]}/hb-${h}`);
  if (r.status !== 200) primeErrors++;
});
const primeS = (performance.now() - tPrime) / 1000;
if (primeErrors) console.error(`priming: ${primeErrors} pings not answered 200`);

const base = await phase(healthz, null);
const pings = await phase(pingRequest, 'OK');

// How many pings a transaction carried (the group commit), from /metrics.
let groups = '';
try {
  const m = await (await fetch(`${url}/metrics`, { headers: auth })).text();
  const v = (name) => Number((new RegExp(`^${name} (\\d+)`, 'm').exec(m) || [])[1]);
  const tx = v('conway_heartbeat_ping_transactions_total'), n = v('conway_heartbeat_pings_total');
  if (tx && n) groups = ` Pings per transaction (group commit): ${(n / tx).toFixed(1)} on average (${n} pings in ${tx} transactions, warm-up included).`;
} catch { /* no figure */ }

const lines = [];
lines.push(`Open-loop load at ${rate} requests/s for ${measureText} s after a ${warmText} s warm-up each, latency from the moment each request was due; ` +
  `${TEAMS} team ping keys and ${KEYED} UUID ping keys minted through the API in ${mintS.toFixed(1)} s. ` +
  `Every heartbeat was first pinged once (its first ping, a status change new -> up): ${N} pings in ${primeS.toFixed(1)} s over 48 connections, ` +
  `${(N / primeS).toFixed(0)} first pings/s${primeErrors ? `, ${primeErrors} not answered 200` : ''}. ` +
  'Measured pings: random heartbeats, half /ping/{uuid}, half /ping/{team-key}/{slug}, half of each GET and half POST with a body; each answered `OK` after its commit.');
lines.push('');
lines.push('| requests | answered | answered/s | p50 ms | p90 ms | p99 ms | max ms | errors | in flight (max) | server CPU |');
lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const [name, r] of [['GET /healthz (baseline)', base], ['pings', pings]]) {
  const errText = r.errors ? ` (${[...r.errorKinds].map(([k, n]) => `${k}: ${n}`).join(', ')})` : '';
  lines.push(`| ${name} | ${r.lat.length} | ${(r.lat.length / r.elapsed).toFixed(0)} | ${fmt(pct(r.lat, 50))} | ${fmt(pct(r.lat, 90))} | ` +
    `${fmt(pct(r.lat, 99))} | ${fmt(pct(r.lat, 100))} | ${r.errors}${errText} | ${r.inFlightMax} | ${(r.cpu * 100).toFixed(0)}% |`);
}
lines.push('');
const p99 = pct(pings.lat, 99);
lines.push(`Verdict: p99 of the pings ${fmt(p99)} ms at ${(pings.lat.length / pings.elapsed).toFixed(0)} pings/s answered ` +
  `(goal: ${rate}/s, p99 <= 5 ms): ${p99 <= 5 && pings.errors === 0 && pings.lat.length / pings.elapsed >= rate * 0.98 ? 'met' : 'NOT met'}.${groups}`);
console.log(lines.join('\n'));
