#!/usr/bin/env node
// Prints ~90 days of delivery history for the demo organisation as CDEvents
// 0.5.1 NDJSON (one plain CDEvent per line) on stdout: changes created and
// merged, staging and production deployments, rollbacks and incidents, shaped
// so that conway's delivery insights have something to find (see
// demo/README.md, "Delivery history"): elite and low-performing teams, a pair
// of components always released together, a component with stale undeployed
// changes, one unresolved incident and a few events that match no component.
//
// Usage: node demo/generate-history.mjs [--now ISO] [--seed TEXT] [--days N]
// Deterministic for a given --now and --seed (default: the current time and
// seed "tunewave"). Node 20, no npm packages.

import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { buildEntities, makeRng } from './generate-org.mjs';

const MIN = 60 * 1000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

// Delivery profiles. Times in hours unless said otherwise.
//   gap: mean/min/max hours between production deployments (exponential, clamped)
//   changes: merged changes per deployment; wait: merge -> deploy; review: created -> merged
//   cfr: share of deployments that fail; restore: incident duration
//   staging: share of deployments preceded by a staging deployment
//   upgraded: share of later deployments sent as service.upgraded instead of service.deployed
//   explicit: share of deployments listing their changes in customData.changes
//   chain: share of deployments whose pipeline sets context.chainId
//   wip: merged-but-not-yet-deployed changes left at the end, [lo, hi]
const PROFILES = {
  elite: { gap: [12, 0.5, 36], changes: [1, 2], wait: [0.2, 3], review: [0.5, 5], cfr: 0.03, restore: [0.15, 0.9], staging: 0.2, upgraded: 0.9, explicit: 0.6, chain: 0.7, wip: [0, 1] },
  high: { gap: [48, 4, 24 * 5], changes: [1, 2], wait: [2, 24], review: [4, 36], cfr: 0.08, restore: [1, 8], staging: 0.6, upgraded: 0.8, explicit: 0.4, chain: 0.5, wip: [0, 2] },
  medium: { gap: [24 * 8, 72, 24 * 16], changes: [2, 5], wait: [48, 24 * 8], review: [72, 24 * 7], cfr: 0.12, restore: [2, 20], staging: 0.8, upgraded: 0.6, explicit: 0.2, chain: 0.3, wip: [1, 3] },
  low: { gap: [24 * 40, 24 * 28, 24 * 55], changes: [4, 8], waitFrac: [0.4, 0.95], review: [24 * 8, 24 * 20], cfr: 0.45, restore: [24 * 6, 24 * 16], staging: 1, upgraded: 0.3, explicit: 0, chain: 0, wip: [2, 4] },
};

const TEAM_PROFILE = {
  'team-discovery': 'elite',
  'team-playback': 'high',
  'team-recommendations': 'high',
  'team-growth': 'high',
  'team-platform': 'high',
  'team-commerce': 'medium',
  'team-content': 'low',
};

// Deployment tooling per team: context.source of deployment events.
const TEAM_SOURCE = {
  'team-content': '/jenkins/content',
  'team-growth': '/github-actions/tunewave',
};

const COUPLED = ['subscription-service', 'entitlement-service'];
const STALE = 'invoice-service';
const OPEN_INCIDENT = 'stream-delivery-service';
const LAST_SEGMENT = { 'browse-service': 'eu-west-1/browse-service' };
const STAGING_ONLY = ['radio-generator'];

const PR_TITLES = [
  'Fix race when the cache is cold', 'Bump dependencies', 'Add retry with jitter to the client',
  'Reduce p99 latency of the hot path', 'Remove dead feature flag', 'Add metrics for queue depth',
  'Handle empty responses from upstream', 'Migrate config to the new schema', 'Improve error messages',
  'Split the handler into smaller functions', 'Add integration test for the happy path',
  'Paginate the listing endpoint', 'Log request ids on every error', 'Tune connection pool sizes',
  'Support the new market', 'Fix timezone handling in reports', 'Rotate signing keys automatically',
];
const INCIDENT_TEXT = [
  'Error rate above 5% on the public endpoints', 'p99 latency above 800 ms', 'Consumer lag above 10 minutes',
  'Spike of HTTP 500 answers', 'Health checks failing on several pods', 'Memory usage above 90%, pods restarting',
  'Timeouts calling a downstream dependency',
];

function parseArgs(argv) {
  const o = { now: Date.now(), seed: 'tunewave', days: 90 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--now') {
      const s = val();
      const t = Date.parse(s);
      if (!Number.isFinite(t)) throw new Error(`--now: not an ISO time: ${s}`);
      o.now = t;
    } else if (a === '--seed') o.seed = val();
    else if (a === '--days') {
      const s = val();
      const n = Number(s);
      if (!Number.isInteger(n) || n < 7 || n > 3650) throw new Error(`--days: expected an integer 7..3650, got ${s}`);
      o.days = n;
    } else if (a === '--help' || a === '-h') o.help = true;
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

const iso = (t) => new Date(Math.round(t)).toISOString();
const sha256 = (s) => createHash('sha256').update(s).digest('hex');
function uuidFrom(s) {
  const h = sha256(s);
  // UUIDv8 layout (custom, here name-based on SHA-256).
  const v = `8${h.slice(13, 16)}`;
  const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16) + h.slice(17, 20);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${v}-${variant}-${h.slice(20, 32)}`;
}

// Moves t into working hours (Mon-Fri 08:00-18:00 UTC). A time outside them
// moves to a random point of the next working day, not to its start: piling
// deployments up at 08:00 would make unrelated components look coupled.
function workTime(t, rng) {
  for (let guard = 0; guard < 10; guard++) {
    const d = new Date(t);
    const dow = d.getUTCDay();
    const h = d.getUTCHours() + d.getUTCMinutes() / 60;
    const dayStart = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    if (dow === 0 || dow === 6) { t = dayStart + (dow === 6 ? 2 : 1) * DAY + 8 * HOUR + rng.next() * 9.5 * HOUR; continue; }
    if (h < 8) { t = dayStart + 8 * HOUR + rng.next() * 9.5 * HOUR; continue; }
    if (h >= 18) { t = dayStart + DAY + 8 * HOUR + rng.next() * 9.5 * HOUR; continue; }
    return t;
  }
  return t;
}

const uni = (rng, lo, hi) => lo + rng.next() * (hi - lo);
function expo(rng, [mean, lo, hi]) {
  const v = -mean * Math.log(1 - rng.next());
  return Math.min(hi, Math.max(lo, v)) * HOUR;
}

export function generateHistory({ now, seed = 'tunewave', days = 90 }) {
  const start = now - days * DAY;
  const openAt = now - 3 * HOUR - 7 * MIN; // the one incident left unresolved
  const ents = buildEntities();
  const events = [];
  let seq = 0;
  const emit = (ts, type, source, subject, extra = {}) => {
    const context = { specversion: '0.5.1', id: '', source, type, timestamp: iso(ts) };
    context.id = uuidFrom(`${seed}|${seq}|${type}|${subject.id}|${context.timestamp}`);
    if (extra.chainId) context.chainId = extra.chainId;
    const ev = { context, subject };
    if (extra.customData) {
      ev.customData = extra.customData;
      ev.customDataContentType = 'application/json';
    }
    events.push({ ts, seq: seq++, ev });
  };

  const incidents = [];

  const team = (c) => {
    const o = c.spec.owner;
    return o.startsWith('user:') ? null : o.replace(/^group:(default\/)?/, '');
  };
  const sidOf = (c) => c.metadata.annotations['conway.dev/service-id'] || c.metadata.name;
  const repoOf = (c) => c.metadata.annotations['conway.dev/repository'] || c.metadata.annotations['github.com/project-slug'];
  const repoName = (repo) => repo.split('/').pop();

  const deployables = ents.components.filter((c) => c.spec.lifecycle === 'production' && c.spec.type !== 'library');
  const byName = new Map(ents.components.map((c) => [c.metadata.name, c]));

  // Shared release train of the coupled pair.
  const pairRng = makeRng(`${seed}|pair`);
  const trains = [];
  for (let t = start + uni(pairRng, 0, 3) * DAY; ;) {
    t = workTime(t, pairRng);
    if (t >= now - 2 * HOUR) break;
    const r = pairRng.next();
    trains.push({ t, who: r < 0.06 ? [COUPLED[0]] : r < 0.1 ? [COUPLED[1]] : COUPLED.slice(), chain: pairRng.next() < 0.5 ? uuidFrom(`${seed}|train|${t}`) : null, lag: uni(pairRng, 1, 6) * MIN });
    t += expo(pairRng, [24 * 3.5, 24, 24 * 7]);
  }

  for (const c of deployables) {
    const name = c.metadata.name;
    const rng = makeRng(`${seed}|${name}`);
    const owner = team(c);
    const p = PROFILES[TEAM_PROFILE[owner] || 'medium'];
    const sid = sidOf(c);
    const subjectId = LAST_SEGMENT[name] || sid;
    const repo = repoOf(c);
    const deploySource = TEAM_SOURCE[owner] || '/argocd/prod-eu-west-1';
    const stagingSource = TEAM_SOURCE[owner] || '/argocd/staging';
    const purlGeneric = c.spec.type === 'website' || owner === 'team-content';
    let prNo = 100 + rng.int(0, 3000);

    // 1. The production deployment schedule.
    let times = [];
    if (COUPLED.includes(name)) {
      for (const tr of trains) if (tr.who.includes(name)) times.push({ t: tr.t + (name === COUPLED[1] ? tr.lag : 0), chain: tr.chain });
    } else {
      const stop = name === STALE ? now - 55 * DAY : now - 20 * MIN;
      for (let t = start + rng.next() * p.gap[0] * HOUR; ;) {
        t = workTime(t, rng);
        if (t >= stop) break;
        times.push({ t, chain: null });
        t += expo(rng, p.gap);
      }
    }
    if (name === OPEN_INCIDENT) times = times.filter((d) => d.t < now - 4 * HOUR);

    // 2. Changes, deployments and failures along the schedule.
    let major = 1 + rng.int(0, 3), minor = rng.int(0, 20), patch = rng.int(0, 9);
    let prevArtifact = null;
    let prevT = start;
    const mkArtifact = () => {
      if (rng.next() < 0.25) { minor++; patch = 0; } else patch++;
      const version = `${major}.${minor}.${patch}`;
      return purlGeneric ? `pkg:generic/${sid}@${version}`
        : `pkg:oci/${sid}@sha256%3A${sha256(`${seed}|${sid}|${version}`)}`;
    };
    const mkChanges = (n, lo, hi, reviewLo, reviewHi) => {
      const out = [];
      for (let i = 0; i < n; i++) {
        const merged = uni(rng, lo, hi);
        const created = merged - uni(rng, reviewLo, reviewHi) * HOUR;
        out.push({ id: `github.com/tunewave/${repoName(repo)}/pull/${prNo++}`, created, merged, title: rng.pick(PR_TITLES) });
      }
      return out.sort((a, b) => a.merged - b.merged);
    };
    const emitChange = (ch) => {
      const repository = { id: repo, source: 'https://github.com' };
      emit(ch.created, 'dev.cdevents.change.created.0.4.0', '/github/tunewave', { id: ch.id, content: { description: ch.title, repository } });
      emit(ch.merged, 'dev.cdevents.change.merged.0.3.0', '/github/tunewave', { id: ch.id, content: { repository } });
    };

    times.forEach((d, i) => {
      const t = d.t;
      const next = i + 1 < times.length ? times[i + 1].t : now;
      // Changes merged after the previous deployment and before this one.
      const n = rng.int(p.changes[0], p.changes[1]);
      const interval = t - prevT;
      let lo, hi;
      if (p.waitFrac) { lo = t - p.waitFrac[1] * interval; hi = t - p.waitFrac[0] * interval; } else {
        const wHi = Math.min(p.wait[1] * HOUR, interval * 0.95);
        const wLo = Math.min(p.wait[0] * HOUR, wHi * 0.5);
        lo = t - wHi; hi = t - wLo;
      }
      const changes = mkChanges(n, lo, hi, p.review[0], p.review[1]);
      changes.forEach(emitChange);

      const artifact = mkArtifact();
      const chainId = d.chain || (rng.next() < p.chain ? uuidFrom(`${seed}|chain|${name}|${t}`) : null);
      const lastMerge = changes.length ? changes[changes.length - 1].merged : prevT;
      if (rng.next() < p.staging) {
        const st = Math.max(lastMerge + 5 * MIN, t - uni(rng, 20, 90) * MIN);
        if (st < t - MIN) {
          emit(st, prevArtifact ? 'dev.cdevents.service.upgraded.0.3.0' : 'dev.cdevents.service.deployed.0.3.0', stagingSource,
            { id: subjectId, content: { environment: { id: 'staging', source: '/k8s/staging' }, artifactId: artifact } }, { chainId });
        }
      }
      const type = prevArtifact && rng.next() < p.upgraded ? 'dev.cdevents.service.upgraded.0.3.0' : 'dev.cdevents.service.deployed.0.3.0';
      const customData = changes.length && rng.next() < p.explicit ? { changes: changes.map((ch) => ch.id) } : undefined;
      emit(t, type, deploySource, { id: subjectId, content: { environment: { id: 'production', source: '/k8s/prod-eu-west-1' }, artifactId: artifact } }, { chainId, customData });

      // Failures: a rollback, an incident naming the artifact, or an incident
      // without an artifact shortly after the deployment.
      if (rng.next() < p.cfr) {
        const kind = rng.next();
        const roomH = Math.max(0.2, (next - t) / HOUR - 0.1);
        const rollbackAt = t + Math.min(uni(rng, 10, 60) * MIN, roomH * HOUR * 0.9);
        let incident = null;
        if (kind >= 0.5) {
          const detected = t + Math.min(uni(rng, 5 / 60, 6), roomH * 0.9) * HOUR;
          const resolved = detected + uni(rng, p.restore[0], p.restore[1]) * HOUR;
          if (resolved < now - 10 * MIN) incident = { sid, detected, resolved, artifactId: kind < 0.8 ? artifact : null, rng };
        }
        if (incident) incidents.push(incident);
        else if (rollbackAt < now - MIN) {
          const back = prevArtifact || `pkg:oci/${sid}@sha256%3A${sha256(`${seed}|${sid}|before`)}`;
          emit(rollbackAt, 'dev.cdevents.service.rolledback.0.3.0', deploySource,
            { id: subjectId, content: { environment: { id: 'production', source: '/k8s/prod-eu-west-1' }, artifactId: back } }, { chainId });
        }
      }
      prevArtifact = artifact;
      prevT = t;
    });

    // 3. Work merged after the last deployment, not deployed yet.
    if (name === STALE) {
      for (const ago of [50, 43, 36, 29, 22, 15, 8]) {
        const merged = workTime(now - ago * DAY, rng);
        emitChange({ id: `github.com/tunewave/${repoName(repo)}/pull/${prNo++}`, created: merged - uni(rng, 24, 72) * HOUR, merged, title: rng.pick(PR_TITLES) });
      }
    } else {
      const n = rng.int(p.wip[0], p.wip[1]);
      const lo = Math.max(prevT + 10 * MIN, now - 20 * DAY);
      if (lo < now - 2 * HOUR) mkChanges(n, lo, now - HOUR, Math.min(p.review[0], 48), Math.min(p.review[1], 96)).forEach(emitChange);
    }

    // 4. Incidents not caused by a deployment (only where no deployment
    // happened in the 30 hours before, so they fail no deployment).
    if (p === PROFILES.low || p === PROFILES.medium) {
      const k = p === PROFILES.low ? 2 : 1;
      for (let j = 0; j < k; j++) {
        const detected = start + uni(rng, 0.1, 0.9) * days * DAY;
        const before = times.filter((d) => d.t <= detected).pop();
        const resolved = detected + uni(rng, p.restore[0], p.restore[1]) * HOUR;
        if ((before && detected - before.t < 30 * HOUR) || resolved >= now - 10 * MIN) continue;
        incidents.push({ sid, detected, resolved, artifactId: null, rng });
      }
    }

    // 5. The one incident still open: the streamer, started three hours ago.
    if (name === OPEN_INCIDENT) {
      const last = times[times.length - 1];
      incidents.push({ sid, detected: openAt, resolved: null, artifactId: last ? prevArtifact : null, rng, text: 'Rebuffering ratio above 2% in eu-west-1', severity: 'sev1' });
    }
  }

  // Experimental components only reach staging.
  for (const name of STAGING_ONLY) {
    const c = byName.get(name);
    const rng = makeRng(`${seed}|${name}`);
    let v = 0;
    for (let t = start + uni(rng, 1, 5) * DAY; ;) {
      t = workTime(t, rng);
      if (t >= now - HOUR) break;
      v++;
      emit(t, v === 1 ? 'dev.cdevents.service.deployed.0.3.0' : 'dev.cdevents.service.upgraded.0.3.0', '/argocd/staging',
        { id: sidOf(c), content: { environment: { id: 'staging', source: '/k8s/staging' }, artifactId: `pkg:oci/${sidOf(c)}@sha256%3A${sha256(`${seed}|${name}|${v}`)}` } });
      t += uni(rng, 6, 14) * DAY;
    }
  }

  // Events that match no component.
  const um = makeRng(`${seed}|unmatched`);
  for (let i = 0; i < 6; i++) {
    const t = workTime(start + (i + uni(um, 0.1, 0.9)) * (days / 6) * DAY, um);
    if (t >= now) continue;
    emit(t, 'dev.cdevents.service.deployed.0.3.0', '/argocd/prod-eu-west-1',
      { id: 'podcast-transcoder', content: { environment: { id: 'production', source: '/k8s/prod-eu-west-1' }, artifactId: `pkg:oci/podcast-transcoder@sha256%3A${sha256(`${seed}|pt|${i}`)}` } });
  }
  for (let i = 0; i < 2; i++) {
    const detected = start + uni(um, 0.2, 0.8) * days * DAY;
    incidents.push({ sid: 'legacy-radio', detected, resolved: detected + uni(um, 1, 5) * HOUR, artifactId: null, rng: um });
  }
  for (let i = 0; i < 4; i++) {
    const merged = workTime(start + uni(um, 0.05, 0.95) * days * DAY, um);
    const id = `github.com/tunewave/monolith/pull/${9000 + i}`;
    const repository = { id: 'github.com/tunewave/monolith', source: 'https://github.com' };
    emit(merged - uni(um, 2, 30) * HOUR, 'dev.cdevents.change.created.0.4.0', '/github/tunewave', { id, content: { description: 'Patch the old monolith', repository } });
    emit(merged, 'dev.cdevents.change.merged.0.3.0', '/github/tunewave', { id, content: { repository } });
  }

  // Incidents get ticket numbers in the order they started; the open one is
  // the newest, so nothing else may start after it.
  incidents.splice(0, incidents.length, ...incidents.filter((x) => x.resolved === null || x.detected < openAt));
  incidents.sort((a, b) => a.detected - b.detected);
  incidents.forEach((inc, i) => {
    const id = `INC-${4100 + i}`;
    const r = inc.rng;
    const text = inc.text || r.pick(INCIDENT_TEXT);
    const base = () => {
      const content = { description: text, environment: { id: 'production', source: '/k8s/prod-eu-west-1' }, service: { id: inc.sid } };
      if (inc.artifactId) content.artifactId = inc.artifactId;
      return content;
    };
    const severity = inc.severity || r.pick(['sev2', 'sev3', 'sev3']);
    emit(inc.detected, 'dev.cdevents.incident.detected.0.3.0', '/prometheus/alertmanager', { id, content: base() }, { customData: { severity } });
    if (inc.resolved === null || r.next() < 0.7) {
      const content = base();
      content.ticketURI = `https://incidents.tunewave.example/${id}`;
      emit(inc.detected + uni(r, 2, 15) * MIN, 'dev.cdevents.incident.reported.0.3.0', '/pagerduty/tunewave', { id, content }, { customData: { severity } });
    }
    if (inc.resolved !== null) {
      const content = base();
      content.description = `Resolved: ${text}`;
      emit(inc.resolved, 'dev.cdevents.incident.resolved.0.3.0', '/pagerduty/tunewave', { id, content });
    }
  });

  events.sort((a, b) => a.ts - b.ts || a.seq - b.seq);
  return events.filter((e) => e.ts <= now).map((e) => e.ev);
}

function main(argv) {
  let o;
  try { o = parseArgs(argv); } catch (err) {
    process.stderr.write(`generate-history: ${err.message}\n`);
    return 2;
  }
  if (o.help) {
    process.stdout.write('usage: node demo/generate-history.mjs [--now ISO] [--seed TEXT] [--days N] > history.ndjson\n');
    return 0;
  }
  const lines = generateHistory(o).map((e) => JSON.stringify(e));
  process.stdout.write(lines.join('\n') + (lines.length ? '\n' : ''));
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = main(process.argv.slice(2));
}
