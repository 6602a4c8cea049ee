// Tests of the demo organisation (demo/generate-org.mjs, demo/org/) and of the
// delivery history (demo/generate-history.mjs): output is up to date and
// valid, the generators' own checks can fail, and every deliberate smell that
// demo/README.md promises is really in the data. With CONWAY_BIN set, also
// imports the demo with the real binary and runs scripts/demo.sh end to end.
// Run: node --test demo/   (or CONWAY_BIN=build/conway node --test demo/)

import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildEntities, checkOrg, parseRef } from './generate-org.mjs';
import { generateHistory } from './generate-history.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const ORG = join(HERE, 'org');
const HOUR = 3600e3;
const DAY = 24 * HOUR;

// ---------------------------------------------------------------------------
// The organisation

test('checked-in demo/org is what generate-org.mjs produces', () => {
  const r = spawnSync(process.execPath, [join(HERE, 'generate-org.mjs'), '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

test('generate-org.mjs writes byte-identical files twice', () => {
  const dir = mkdtempSync(join(tmpdir(), 'conway-demo-org-'));
  try {
    for (const sub of ['a', 'b']) {
      const r = spawnSync(process.execPath, [join(HERE, 'generate-org.mjs'), '--out', join(dir, sub)], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }
    for (const f of readdirSync(join(dir, 'a'))) {
      assert.equal(readFileSync(join(dir, 'a', f), 'utf8'), readFileSync(join(dir, 'b', f), 'utf8'), f);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the organisation checks reject broken entities and lost smells', () => {
  assert.doesNotThrow(() => checkOrg(buildEntities()));
  const cases = {
    'invalid name': (e) => { e.components[0].metadata.name = 'has space'; },
    'invalid tag': (e) => { e.components[0].metadata.tags.push('Upper'); },
    'dependsOn without kind': (e) => { e.components[0].spec.dependsOn.push('billing-db'); },
    'Component without lifecycle': (e) => { delete e.components[0].spec.lifecycle; },
    'API without definition': (e) => { delete e.apis[0].spec.definition; },
    'Group without children': (e) => { delete e.groups[0].spec.children; },
    'two accountables': (e) => { e.responsibilities[0].spec.activities['ci-cd'].accountable = ['group:default/team-sre', 'group:default/team-platform']; },
    'no responsible': (e) => { e.responsibilities[0].spec.activities.logging.responsible = []; },
    'unknown activity': (e) => { e.responsibilities[0].spec.activities.backups = { responsible: ['group:default/team-sre'], accountable: 'group:default/team-sre' }; },
    'api ref in RACI': (e) => { e.responsibilities[0].spec.activities.logging.accountable = 'api:default/search-api'; },
    'cycle broken': (e) => { e.components.find((c) => c.metadata.name === 'playlist-service').spec.dependsOn = ['resource:playlist-db']; },
    'shared db owned by a user team': (e) => { e.resources.find((r) => r.metadata.name === 'legacy-users-db').spec.owner = 'team-commerce'; },
    'shared db written by one team': (e) => { delete e.components.find((c) => c.metadata.name === 'referral-service').metadata.annotations['conway.dev/writes']; },
    'spread team in three systems': (e) => { e.components.find((c) => c.metadata.name === 'campaign-web').spec.system = 'subscriptions'; },
    'deprecated dependency gone': (e) => { e.components.find((c) => c.metadata.name === 'payout-exporter').spec.dependsOn.pop(); },
    'second missing owner': (e) => { e.components[0].spec.owner = 'team-nobody'; },
    'empty team staffed': (e) => { e.users.find((u) => u.metadata.name === 'alex.morgan').spec.memberOf = ['team-data-governance']; },
    'royalties covered': (e) => { e.responsibilities[1].spec.target = 'system:default/royalties'; },
  };
  for (const [what, mutate] of Object.entries(cases)) {
    const e = buildEntities();
    mutate(e);
    assert.throws(() => checkOrg(e), /check failed/, what);
  }
});

test('every YAML document is one generated entity', () => {
  const ents = buildEntities();
  const all = Object.values(ents).flat();
  let docs = 0;
  const names = new Set();
  for (const f of readdirSync(ORG).filter((n) => n.endsWith('.yaml'))) {
    const text = readFileSync(join(ORG, f), 'utf8');
    assert.ok(!text.includes('\t'), `${f} has a tab`);
    docs += text.split('\n').filter((l) => l === '---').length;
    for (const m of text.matchAll(/^kind: (\S+)\nmetadata:\n {2}name: (\S+)$/gm)) names.add(`${m[1]}/${m[2]}`);
  }
  assert.equal(docs, all.length);
  assert.equal(names.size, all.length);
  for (const e of all) assert.ok(names.has(`${e.kind}/${e.metadata.name}`), e.metadata.name);
  const rf = readFileSync(join(ORG, 'responsibilities.yaml'), 'utf8');
  assert.equal(rf.split('\n').filter((l) => l === 'kind: Responsibilities').length, ents.responsibilities.length);
  for (const f of readdirSync(ORG).filter((n) => n !== 'responsibilities.yaml')) {
    assert.ok(!readFileSync(join(ORG, f), 'utf8').includes('kind: Responsibilities'), f);
  }
});

test('YAML parses back to the generated entities (PyYAML, when installed)', (t) => {
  const py = spawnSync('python3', ['-c', 'import yaml'], { encoding: 'utf8' });
  if (py.error || py.status !== 0) { t.skip('python3 with PyYAML not available'); return; }
  const script = `
import sys, json, glob, yaml
out = []
for f in sorted(glob.glob(sys.argv[1] + '/*.yaml')):
    out += [d for d in yaml.safe_load_all(open(f)) if d is not None]
print(json.dumps(out))`;
  const r = spawnSync('python3', ['-c', script, ORG], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  const parsed = JSON.parse(r.stdout);
  const key = (e) => `${e.kind}/${e.metadata.name}`;
  const want = new Map(Object.values(buildEntities()).flat().map((e) => [key(e), JSON.parse(JSON.stringify(e))]));
  assert.equal(parsed.length, want.size);
  for (const e of parsed) assert.deepEqual(e, want.get(key(e)), key(e));
});

// ---------------------------------------------------------------------------
// The delivery history

const NOWS = ['2026-03-15T12:00:00.000Z', '2026-07-01T06:30:00.000Z'];

const ents = buildEntities();
const comps = ents.components;
const byName = new Map(comps.map((c) => [c.metadata.name, c]));
const ann = (c, k) => (c.metadata.annotations || {})[k];
const ownerOf = (c) => {
  const r = parseRef(c.spec.owner, 'group');
  return `${r.kind}:${r.namespace}/${r.name}`;
};

// Issue 3's linking rules.
function serviceComponent(id) {
  return comps.find((c) => ann(c, 'conway.dev/service-id') === id)
    || byName.get(id) || byName.get(id.split('/').pop()) || null;
}
function changeComponent(repo) {
  return comps.find((c) => ann(c, 'conway.dev/repository') === repo || ann(c, 'github.com/project-slug') === repo) || null;
}

const kindOf = (e) => e.context.type.split('.').slice(2, 4).join('.');
const isProd = (env) => /^prod/i.test(env);

// Deployments, changes and incidents per component, following issue 3's rules.
function model(events) {
  const deps = new Map(), merged = new Map(), created = new Map(), rollbacks = new Map(), incidents = new Map();
  const push = (m, k, v) => { if (!m.has(k)) m.set(k, []); m.get(k).push(v); };
  for (const e of events) {
    const t = Date.parse(e.context.timestamp);
    const k = kindOf(e);
    const c = e.subject.content;
    if (k.startsWith('change.')) {
      const comp = changeComponent(c.repository.id);
      if (!comp) continue;
      if (k === 'change.created') created.set(e.subject.id, t);
      if (k === 'change.merged') push(merged, comp.metadata.name, { t, id: e.subject.id });
    } else if (k.startsWith('service.')) {
      const comp = serviceComponent(e.subject.id);
      if (!comp || !isProd(c.environment.id)) continue;
      if (k === 'service.deployed' || k === 'service.upgraded') {
        push(deps, comp.metadata.name, { t, artifact: c.artifactId, chain: e.context.chainId, changes: e.customData && e.customData.changes });
      } else if (k === 'service.rolledback') push(rollbacks, comp.metadata.name, t);
    } else if (k.startsWith('incident.')) {
      const comp = serviceComponent(c.service.id);
      if (!comp) continue;
      const inc = incidents.get(e.subject.id) || { comp: comp.metadata.name };
      if (k === 'incident.resolved') inc.end = t; else inc.start = Math.min(inc.start ?? t, t);
      if (c.artifactId) inc.artifact = c.artifactId;
      incidents.set(e.subject.id, inc);
    }
  }
  for (const l of deps.values()) l.sort((a, b) => a.t - b.t);
  for (const l of merged.values()) l.sort((a, b) => a.t - b.t);
  return { deps, merged, created, rollbacks, incidents };
}

const p50 = (v) => { const s = [...v].sort((a, b) => a - b); return s.length ? s[Math.ceil(0.5 * s.length) - 1] : null; };

function teamStats(m, team, from, to) {
  let n = 0, failed = 0;
  const lead = [];
  for (const [name, list] of m.deps) {
    if (ownerOf(byName.get(name)) !== team) continue;
    const mergedList = m.merged.get(name) || [];
    list.forEach((d, i) => {
      if (d.t < from || d.t > to) return;
      n++;
      const prev = i ? list[i - 1].t : -Infinity;
      const next = i + 1 < list.length ? list[i + 1].t : Infinity;
      const ids = d.changes || mergedList.filter((c) => c.t > prev && c.t <= d.t).map((c) => c.id);
      for (const id of ids) {
        const start = m.created.get(id) ?? mergedList.find((c) => c.id === id).t;
        if (d.t - start > 0) lead.push(d.t - start);
      }
      const rolled = (m.rollbacks.get(name) || []).some((t) => t > d.t && t < next);
      const inc = [...m.incidents.values()].some((x) => x.comp === name && (x.artifact === d.artifact
        || (!x.artifact && x.start > d.t && x.start < Math.min(next, d.t + DAY))));
      if (rolled || inc) failed++;
    });
  }
  return { n, failed, cfr: n ? failed / n : null, leadP50: p50(lead) };
}

function coupling(m, from, to, windowMs = 15 * 60e3) {
  const prod = new Map();
  for (const [name, list] of m.deps) prod.set(name, list.filter((d) => d.t >= from && d.t <= to));
  const names = [...prod.keys()].sort();
  const pairs = [];
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const a = prod.get(names[i]), b = prod.get(names[j]);
      if (!a.length || !b.length) continue;
      const together = a.filter((x) => b.some((y) => Math.abs(x.t - y.t) <= windowMs || (x.chain && x.chain === y.chain))).length;
      pairs.push({ a: names[i], b: names[j], together, confidence: together / Math.min(a.length, b.length) });
    }
  }
  return pairs;
}

const HISTORY_TYPES = new Set(['change.created', 'change.merged', 'service.deployed', 'service.upgraded',
  'service.rolledback', 'incident.detected', 'incident.reported', 'incident.resolved']);
const TYPE_VERSION = { 'change.created': '0.4.0' };
const keysIn = (o, allowed, what) => {
  for (const k of Object.keys(o)) assert.ok(allowed.includes(k), `${what}: unexpected field ${k}`);
};

test('history is deterministic for --now and --seed, and the CLI prints the same', () => {
  const now = Date.parse(NOWS[0]);
  const a = generateHistory({ now });
  const b = generateHistory({ now });
  assert.deepEqual(a, b);
  const c = generateHistory({ now, seed: 'another' });
  assert.notDeepEqual(a.map((e) => e.context.id), c.map((e) => e.context.id));
  const r = spawnSync(process.execPath, [join(HERE, 'generate-history.mjs'), '--now', NOWS[0]], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, a.length);
  assert.deepEqual(lines.map((l) => JSON.parse(l)), a);
  const bad = spawnSync(process.execPath, [join(HERE, 'generate-history.mjs'), '--now', 'yesterday'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--now/);
});

for (const nowIso of NOWS) {
  const now = Date.parse(nowIso);
  const events = generateHistory({ now });
  const m = model(events);

  test(`history at ${nowIso}: plain CDEvents 0.5.1 with the fields the schemas require`, () => {
    assert.ok(events.length >= 2000 && events.length <= 10000, `${events.length} events`);
    const seen = new Set();
    let last = -Infinity;
    for (const e of events) {
      keysIn(e, ['context', 'subject', 'customData', 'customDataContentType'], 'event');
      const cx = e.context;
      keysIn(cx, ['specversion', 'id', 'source', 'type', 'timestamp', 'chainId'], 'context');
      assert.equal(cx.specversion, '0.5.1');
      const k = kindOf(e);
      assert.ok(HISTORY_TYPES.has(k), cx.type);
      assert.equal(cx.type, `dev.cdevents.${k}.${TYPE_VERSION[k] || '0.3.0'}`);
      assert.match(cx.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const t = Date.parse(cx.timestamp);
      assert.ok(t >= last && t <= now && t >= now - 120 * DAY, cx.timestamp);
      last = t;
      const key = `${cx.source}\n${cx.id}`;
      assert.ok(!seen.has(key), `duplicate ${key}`);
      seen.add(key);
      assert.match(cx.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      keysIn(e.subject, ['id', 'content'], 'subject');
      assert.ok(e.subject.id.length > 0);
      const c = e.subject.content;
      if (k.startsWith('change.')) {
        keysIn(c, k === 'change.created' ? ['description', 'repository'] : ['repository'], k);
        keysIn(c.repository, ['id', 'source'], 'repository');
        assert.ok(c.repository.id.length > 0);
      } else if (k.startsWith('service.')) {
        keysIn(c, ['environment', 'artifactId'], k);
        assert.ok(['production', 'staging'].includes(c.environment.id));
        assert.match(c.artifactId, /^pkg:(oci\/[a-z0-9-]+@sha256%3A[0-9a-f]{64}|generic\/[a-z0-9-]+@\d+\.\d+\.\d+)$/);
      } else {
        keysIn(c, ['description', 'environment', 'service', 'artifactId', ...(k === 'incident.reported' ? ['ticketURI'] : [])], k);
        assert.equal(c.environment.id, 'production');
        assert.ok(c.service.id.length > 0);
        if (k === 'incident.reported') assert.match(c.ticketURI, /^https:\/\//);
      }
      if (e.customData !== undefined) {
        assert.equal(e.customDataContentType, 'application/json');
        if (e.customData.changes) assert.ok(Array.isArray(e.customData.changes) && e.customData.changes.length > 0);
      }
    }
  });

  test(`history at ${nowIso}: every event links to a component except the documented unmatched ones`, () => {
    const unmatched = new Set();
    const libraries = new Set(comps.filter((c) => c.spec.type === 'library').map((c) => c.metadata.name));
    for (const e of events) {
      const k = kindOf(e);
      const c = e.subject.content;
      const ref = k.startsWith('change.') ? `repo:${c.repository.id}`
        : `service:${k.startsWith('service.') ? e.subject.id : c.service.id}`;
      const comp = ref.startsWith('repo:') ? changeComponent(c.repository.id) : serviceComponent(ref.slice(8));
      if (!comp) unmatched.add(ref);
      else assert.ok(!libraries.has(comp.metadata.name), `${comp.metadata.name} is a library`);
    }
    assert.deepEqual([...unmatched].sort(), ['repo:github.com/tunewave/monolith', 'service:legacy-radio', 'service:podcast-transcoder']);
    // browse-service is only reachable through the last-segment rule.
    assert.ok(events.some((e) => e.subject.id === 'eu-west-1/browse-service'));
    // Changes of components with only a project slug use the slug.
    assert.ok(events.some((e) => kindOf(e) === 'change.merged' && e.subject.content.repository.id === 'tunewave/web-player'));
  });

  test(`history at ${nowIso}: exactly one open incident, on the streamer`, () => {
    const open = [...m.incidents.entries()].filter(([, x]) => x.end === undefined);
    assert.equal(open.length, 1);
    const [id, inc] = open[0];
    assert.equal(inc.comp, 'stream-delivery-service');
    assert.equal(inc.start, now - 3 * HOUR - 7 * 60e3);
    const lastDeploy = m.deps.get('stream-delivery-service').at(-1);
    assert.equal(inc.artifact, lastDeploy.artifact);
    const maxNo = Math.max(...[...m.incidents.keys()].map((k) => Number(k.slice(4))));
    assert.equal(id, `INC-${maxNo}`);
    for (const x of m.incidents.values()) if (x.end !== undefined) assert.ok(x.end > x.start && x.end <= now);
  });

  test(`history at ${nowIso}: subscription-service and entitlement-service are the only coupled pair`, () => {
    for (const days of [30, 90]) {
      const pairs = coupling(m, now - days * DAY, now);
      const flagged = pairs.filter((p) => p.together >= 5 && p.confidence >= 0.8);
      assert.deepEqual(flagged.map((p) => `${p.a}+${p.b}`), ['entitlement-service+subscription-service'], `${days} days`);
      assert.ok(flagged[0].confidence >= 0.85, `${days} days: ${flagged[0].confidence}`);
      for (const p of pairs) if (p !== flagged[0]) assert.ok(p.confidence < 0.7 || p.together < 5, `${p.a}+${p.b} ${p.together} ${p.confidence}`);
    }
    const sub = m.deps.get('subscription-service');
    const ent = m.deps.get('entitlement-service');
    const chained = sub.filter((d) => d.chain && ent.some((x) => x.chain === d.chain));
    assert.ok(chained.length >= 3, 'some trains share a chainId');
    for (const d of chained) {
      const mate = ent.find((x) => x.chain === d.chain);
      assert.ok(mate.t - d.t >= 60e3 && mate.t - d.t <= 6 * 60e3, 'entitlement follows within minutes');
    }
  });

  test(`history at ${nowIso}: invoice-service holds the stale undeployed changes`, () => {
    const undeployed = new Map();
    for (const c of comps) {
      const last = (m.deps.get(c.metadata.name) || []).at(-1);
      const rest = (m.merged.get(c.metadata.name) || []).filter((x) => !last || x.t > last.t);
      if (rest.length) undeployed.set(c.metadata.name, rest);
    }
    const inv = undeployed.get('invoice-service');
    assert.equal(inv.length, 7);
    assert.ok(now - inv[0].t >= 45 * DAY, 'oldest merged about 50 days ago');
    assert.ok(now - m.deps.get('invoice-service').at(-1).t >= 55 * DAY);
    for (const [name, rest] of undeployed) {
      if (name !== 'invoice-service') assert.ok(now - rest[0].t <= 20 * DAY + HOUR, `${name}: ${(now - rest[0].t) / DAY} days`);
    }
  });

  test(`history at ${nowIso}: team-discovery delivers like an elite team, team-content like a low one`, () => {
    const from = now - 30 * DAY;
    const elite = teamStats(m, 'group:default/team-discovery', from, now);
    const low = teamStats(m, 'group:default/team-content', from, now);
    assert.ok(elite.n / 30 > 3, `discovery deploys/day ${elite.n / 30}`);
    assert.ok(elite.leadP50 < DAY, `discovery lead ${elite.leadP50 / HOUR} h`);
    assert.ok(elite.cfr <= 0.1, `discovery cfr ${elite.cfr}`);
    const low90 = teamStats(m, 'group:default/team-content', now - 90 * DAY, now);
    assert.ok(low.n / 30 < 0.6, `content deploys/day ${low.n / 30}`);
    assert.ok(low90.leadP50 > 30 * DAY, `content lead ${low90.leadP50 / DAY} days`);
    assert.ok(low90.cfr >= 0.3, `content cfr ${low90.cfr}`);
    // Each content component deploys about monthly at most.
    for (const [name, list] of m.deps) {
      if (ownerOf(byName.get(name)) === 'group:default/team-content') assert.ok(list.filter((d) => d.t >= from).length <= 2, name);
    }
  });
}

// ---------------------------------------------------------------------------
// With the real binary

const BIN = process.env.CONWAY_BIN;
const haveBin = !!BIN && existsSync(BIN);

test('the real binary imports the whole demo organisation without a rejection', { skip: !haveBin && 'CONWAY_BIN not set' }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'conway-demo-import-'));
  try {
    const db = join(dir, 'demo.db');
    const files = readdirSync(ORG).filter((f) => f.endsWith('.yaml') && f !== 'responsibilities.yaml').map((f) => join(ORG, f));
    const r = spawnSync(BIN, ['import', '--db', db, ...files], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    // Importing again changes nothing and still succeeds.
    const again = spawnSync(BIN, ['import', '--db', db, ...files], { encoding: 'utf8' });
    assert.equal(again.status, 0, `${again.stdout}\n${again.stderr}`);
    const rr = spawnSync(BIN, ['import', '--db', db, join(ORG, 'responsibilities.yaml')], { encoding: 'utf8' });
    if (rr.status !== 0) t.diagnostic('this build does not accept Responsibilities yet');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('conway check architecture finds each architecture smell of the demo, and only those', { skip: !haveBin && 'CONWAY_BIN not set' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'conway-demo-arch-'));
  try {
    const db = join(dir, 'demo.db');
    const files = readdirSync(ORG).filter((f) => f.endsWith('.yaml')).map((f) => join(ORG, f));
    const imp = spawnSync(BIN, ['import', '--db', db, ...files], { encoding: 'utf8' });
    assert.ok(imp.status === 0 || imp.status === 1, imp.stderr);
    // the release train comes from the delivery history
    const hist = spawnSync(process.execPath, [join(HERE, 'generate-history.mjs')], { encoding: 'utf8', maxBuffer: 256 << 20 });
    assert.equal(hist.status, 0, hist.stderr);
    const ev = spawnSync(BIN, ['events', 'import', '--db', db, '--quiet', '-'], { input: hist.stdout, encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(ev.status, 0, ev.stderr);
    const r = spawnSync(BIN, ['check', 'architecture', '--db', db, '--json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(r.status, 1, r.stderr); // the cycle and the shared database are errors
    const { findings } = JSON.parse(r.stdout);
    const byRule = (rule) => findings.filter((f) => f.rule === rule);
    // a dependency cycle of three components
    assert.deepEqual(byRule('dependency-cycle').map((f) => f.cycle), [[
      'component:default/listening-history-service', 'component:default/playlist-service', 'component:default/recommendation-service']]);
    // a shared database written by two teams
    assert.deepEqual(byRule('shared-datastore').map((f) => [f.entityRef, f.severity, f.writerTeams]), [[
      'resource:default/legacy-users-db', 'error', ['group:default/team-commerce', 'group:default/team-growth']]]);
    // a spread team
    assert.deepEqual(byRule('team-spread').map((f) => [f.entityRef, f.numbers.systems, f.numbers.domains]), [['group:default/team-growth', 4, 3]]);
    // a release train across teams
    assert.deepEqual(byRule('cross-team-release-train').map((f) => f.teams), [['group:default/team-commerce', 'group:default/team-playback']]);
    // a production component on a deprecated one
    assert.deepEqual(byRule('deprecated-dependency').map((f) => f.entities), [['component:default/payout-exporter', 'component:default/royalty-batch-legacy']]);
    assert.deepEqual(byRule('cross-team-dependency').map((f) => f.entityRef), ['group:default/team-growth', 'group:default/team-playback', 'group:default/team-recommendations']);
    assert.equal(findings.length, 8);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
  });
}

test('scripts/demo.sh keeps the old database, loads the demo and serves it', { skip: !haveBin && 'CONWAY_BIN not set', timeout: 90000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'conway-demo-sh-'));
  const db = join(dir, 'conway.db');
  writeFileSync(db, 'previous database');
  const port = await freePort();
  const listen = `127.0.0.1:${port}`;
  const child = spawn(join(ROOT, 'scripts', 'demo.sh'), [resolve(BIN), db, listen], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b) => { out += b; });
  child.stderr.on('data', (b) => { out += b; });
  const exited = new Promise((res) => child.on('exit', (code, sig) => res({ code, sig })));
  try {
    let ok = false;
    // (the script takes 35 daily scorecard snapshots before it serves)
    for (let i = 0; i < 450 && !ok && child.exitCode === null; i++) {
      try { ok = (await fetch(`http://${listen}/healthz`)).ok; } catch { await new Promise((r) => setTimeout(r, 100)); }
    }
    assert.ok(ok, `server did not come up:\n${out}`);
    assert.equal(readFileSync(`${db}.bak`, 'utf8'), 'previous database');
    assert.match(out, new RegExp(`http://${listen.replace(/\./g, '\\.')}/`));
    const res = await fetch(`http://${listen}/api/v1/entities?kind=Component&limit=1`);
    assert.equal(res.status, 200, 'public reads');
    assert.equal((await res.json()).totalItems, comps.length);
    const team = await fetch(`http://${listen}/api/v1/entities/group/default/team-data-governance`);
    assert.equal(team.status, 200);
    const ghost = await fetch(`http://${listen}/api/v1/entities/group/default/team-podcasts`);
    assert.equal(ghost.status, 404);
    // Once the build can import events, the history must load cleanly.
    if (spawnSync(BIN, ['events', '--help'], { stdio: 'ignore' }).status === 0) {
      assert.doesNotMatch(out, /delivery events were not imported|could not generate/);
      const ev = await fetch(`http://${listen}/api/v1/events?limit=1`);
      assert.equal(ev.status, 200);
      assert.equal((await ev.json()).items.length, 1);
    }
    // Once the build has initiatives, the demo's has a burn-up of 35 past days and today.
    if (spawnSync(BIN, ['snapshot', '--help'], { stdio: 'ignore' }).status === 0) {
      const ini = await fetch(`http://${listen}/api/v1/initiatives/ship-safely`);
      assert.equal(ini.status, 200);
      const body = await ini.json();
      assert.deepEqual(body.problems, []);
      assert.equal(body.burnup.length, 36);
      assert.ok(body.burnup.every((p) => p.total > 0 && p.done <= p.total));
      assert.ok(['on-pace', 'behind'].includes(body.pace.verdict), body.pace.reason);
    }
    // the heartbeats, pinged by the demo: untested-backup only where it is
    // deliberately true (demo/heartbeats.yaml), one backup down, one running
    for (let i = 0; i < 100 && !/heartbeat playlist-db-replica-check:/.test(out); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(out, /demo: heartbeat royalties-db-backup: failed/);
    assert.doesNotMatch(out, /could not be pinged/);
    const findings = async (rule) => (await (await fetch(`http://${listen}/api/v1/insights/ownership?rule=${rule}`)).json()).findings;
    const untested = await findings('untested-backup');
    assert.deepEqual(untested.map((f) => f.entityRef).sort(), ['resource:default/legacy-users-db', 'resource:default/promo-db']);
    assert.match(untested.find((f) => f.entityRef.endsWith('legacy-users-db')).detail, /backed up but no restore test/);
    assert.match(untested.find((f) => f.entityRef.endsWith('promo-db')).detail, /no backup heartbeat/);
    assert.deepEqual((await findings('heartbeat-down')).map((f) => f.entityRef), ['heartbeat:default/royalties-db-backup']);
    const hbs = (await (await fetch(`http://${listen}/api/v1/heartbeats`)).json()).items;
    const byStatus = {};
    for (const h of hbs) byStatus[h.status] = (byStatus[h.status] || 0) + 1;
    assert.equal(byStatus.down, 1);
    assert.equal(byStatus.started, 1);
    assert.ok(byStatus.up >= 19, JSON.stringify(byStatus)); // the replica check is late after a minute
  } finally {
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
});
