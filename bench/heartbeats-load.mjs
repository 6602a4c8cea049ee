// heartbeats-load.mjs — the load of bench/heartbeats.sh: mints the team
// ping keys and KEYED UUID ping keys through the management API, pings
// every heartbeat once, then has LOAD_BIN (bench_http_load) run two
// open-loop phases at RATE requests/s on the same server: the baseline
// (GET /healthz) and the pings (random heartbeats, half the UUID form
// /ping/{uuid} and half the slug form /ping/{team-key}/{slug}, GET and POST
// with a small body). Latency is measured from the moment each request was
// due (no coordinated omission). Prints Markdown.
//
// usage: node heartbeats-load.mjs URL TOKEN PID N TEAMS KEYED RATE WARMUP_S MEASURE_S LOAD_BIN
import { spawnSync } from 'node:child_process';
import { unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';

const [url, token, pidText, nText, teamsText, keyedText, rateText, warmText, measureText, loadBin] = process.argv.slice(2);
const [pid, N, TEAMS, KEYED, rate] = [pidText, nText, teamsText, keyedText, rateText].map(Number);
if (!url || !token || !pid || !N || !TEAMS || !rate || !loadBin) {
  console.error('usage: node heartbeats-load.mjs URL TOKEN PID N TEAMS KEYED RATE WARMUP_S MEASURE_S LOAD_BIN');
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

// The measured phases run in bench_http_load (C, one epoll thread): a
// Node loop's own timers added about 1 ms at p50 and more at p99 to every
// figure on 2 CPUs. It picks random lines of a paths file: every
// heartbeat's slug form, then as many UUID-form lines (cycling through the
// keyed heartbeats), so half the pings use each form.
const pathsFile = join(tmpdir(), `conway-hb-paths-${process.pid}.txt`);
{
  const lines = new Array(2 * N);
  for (let h = 0; h < N; h++) lines[h] = `/ping/${teamKeys[h % TEAMS]}/hb-${h}`;
  for (let j = 0; j < N; j++) lines[N + j] = KEYED ? `/ping/${uuidKeys[j % KEYED]}` : lines[j];
  writeFileSync(pathsFile, lines.join('\n') + '\n');
}

const pct = (r, p) => r[`p${p}_ms`];
const fmt = (v) => (Number.isFinite(v) ? v.toFixed(v < 10 ? 2 : 1) : '-');

// One open-loop phase: a warm-up, then `measure` seconds at `rate`/s.
function phase(extra) {
  const args = ['--url', url, '--rate', String(rate), '--warmup', warmText, '--measure', measureText,
    '--connections', '48', '--pid', String(pid), ...extra];
  const r = spawnSync(loadBin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${loadBin} ${args.join(' ')}: exit ${r.status}`);
  return JSON.parse(r.stdout);
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

let base, pings;
try {
  base = phase([]);
  pings = phase(['--paths', pathsFile, '--expect', 'OK', '--post-every-other', ...(process.env.TIMELINE ? ['--timeline'] : [])]);
} finally {
  unlinkSync(pathsFile);
}

// How many pings a transaction carried (the group commit), from /metrics.
let groups = '';
try {
  const m = await (await fetch(`${url}/metrics`, { headers: auth })).text();
  const v = (name) => Number((new RegExp(`^${name} (\\d+)`, 'm').exec(m) || [])[1]);
  const tx = v('conway_heartbeat_ping_transactions_total'), n = v('conway_heartbeat_pings_total');
  if (tx && n) groups = ` Pings per transaction (group commit): ${(n / tx).toFixed(1)} on average (${n} pings in ${tx} transactions, warm-up included).`;
} catch { /* no figure */ }

const lines = [];
lines.push(`Open-loop load at ${rate} requests/s for ${measureText} s after a ${warmText} s warm-up each (bench_http_load: one C thread, 48 keep-alive connections), latency from the moment each request was due; ` +
  `${TEAMS} team ping keys and ${KEYED} UUID ping keys minted through the API in ${mintS.toFixed(1)} s. ` +
  `Every heartbeat was first pinged once (its first ping, a status change new -> up): ${N} pings in ${primeS.toFixed(1)} s over 48 connections, ` +
  `${(N / primeS).toFixed(0)} first pings/s${primeErrors ? `, ${primeErrors} not answered 200` : ''}. ` +
  'Measured pings: random heartbeats, half /ping/{uuid}, half /ping/{team-key}/{slug}, half of each GET and half POST with a body; each answered `OK` after its commit.');
lines.push('');
lines.push('| requests | answered | answered/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors | in flight (max) | server CPU | client CPU |');
lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const [name, r] of [['GET /healthz (baseline)', base], ['pings', pings]]) {
  const kinds = Object.entries(r.error_kinds || {});
  const errText = r.errors ? ` (${kinds.map(([k, n]) => `${k}: ${n}`).join(', ')})` : '';
  lines.push(`| ${name} | ${r.answered} | ${r.answered_per_s.toFixed(0)} | ${fmt(pct(r, 50))} | ${fmt(pct(r, 90))} | ` +
    `${fmt(pct(r, 99))} | ${fmt(pct(r, 999))} | ${fmt(r.max_ms)} | ${r.errors}${errText} | ${r.in_flight_max} | ` +
    `${r.server_cpu === null ? '-' : `${(r.server_cpu * 100).toFixed(0)}%`} | ${(r.client_cpu * 100).toFixed(0)}% |`);
}
lines.push('');
const p99 = pct(pings, 99);
lines.push(`Verdict: p99 of the pings ${fmt(p99)} ms at ${pings.answered_per_s.toFixed(0)} pings/s answered ` +
  `(goal: ${rate}/s, p99 <= 5 ms): ${p99 <= 5 && pings.errors === 0 && pings.answered_per_s >= rate * 0.98 ? 'met' : 'NOT met'}. ` +
  `Baseline: the pings' p99 is ${(p99 / pct(base, 99)).toFixed(1)}x the healthz p99.${groups}`);
console.log(lines.join('\n'));
