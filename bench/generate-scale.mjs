#!/usr/bin/env node
// Generates the delivery benchmark's organisation at scale (bench/delivery.sh,
// bench/RESULTS.md): a Backstage catalog of N components plus the entities
// around them (13,250 entities for 1,000 components) as multi-document YAML,
// and ~1,000 CDEvents per component per 90 days as NDJSON, in the shapes of
// demo/generate-history.mjs (changes created and merged, staging and
// production deployments, some listing their changes, rollbacks, incidents
// with and without an artifact, release trains of coupled pairs, events that
// match no component, changes under two repository keys of one component).
//
// Usage: node bench/generate-scale.mjs --out DIR [--components N] [--days D]
//                                      [--now ISO] [--seed TEXT]
// Writes DIR/catalog.yaml and DIR/events.ndjson. Deterministic for given
// arguments; a longer --days prepends history (the last 90 days of
// --days 900 are the events of --days 90 with other random draws, so the
// answers differ but the window's size does not). Events are written one
// UTC day of deployments at a time, sorted within the day. Node 20, no npm
// packages, memory bounded by one day of events.

import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeRng } from '../demo/generate-org.mjs';

const MIN = 60 * 1000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

function parseArgs(argv) {
  const o = { components: 1000, days: 90, now: Date.parse('2026-12-01T00:00:00Z'), seed: 'scale', out: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--components') o.components = Number(val());
    else if (a === '--days') o.days = Number(val());
    else if (a === '--now') o.now = Date.parse(val());
    else if (a === '--seed') o.seed = val();
    else if (a === '--out') o.out = val();
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.out) throw new Error('--out DIR is required');
  if (!Number.isInteger(o.components) || o.components < 20) throw new Error('--components: an integer >= 20');
  if (!Number.isInteger(o.days) || o.days < 7) throw new Error('--days: an integer >= 7');
  if (!Number.isFinite(o.now)) throw new Error('--now: not an ISO time');
  return o;
}

// ---- catalog ------------------------------------------------------------------

const pad = (n, w = 4) => String(n).padStart(w, '0');
const compName = (i) => `svc-${pad(i)}`;
const teamOf = (i) => `team-${pad(Math.floor(i / 10), 3)}`;
const systemOf = (i) => `sys-${pad(Math.floor(i / 10), 3)}`;

// Link keys: a third with a service-id annotation, a third matched by name,
// a third deployed as "region/name" (matched by the last segment); a fifth
// of the repositories given only as a project slug, every 50th component
// with both (its changes arrive under both keys).
function componentKeys(i) {
  const name = compName(i);
  const a = {};
  let subject = name;
  if (i % 3 === 0) {
    a['conway.dev/service-id'] = `acme-${name}`;
    subject = a['conway.dev/service-id'];
  } else if (i % 3 === 2) {
    subject = `eu-west-1/${name}`;
  }
  const repos = [];
  if (i % 5 === 4) {
    a['github.com/project-slug'] = `acme/${name}`;
    repos.push(`acme/${name}`);
  } else {
    a['conway.dev/repository'] = `github.com/acme/${name}`;
    repos.push(`github.com/acme/${name}`);
  }
  if (i % 50 === 7) {
    a['github.com/project-slug'] = `acme/${name}-legacy`;
    repos.push(`acme/${name}-legacy`);
  }
  return { name, annotations: a, subject, repos };
}

function yamlValue(v, indent) {
  const sp = ' '.repeat(indent);
  if (Array.isArray(v)) {
    if (!v.length) return ' []';
    return '\n' + v.map((x) => `${sp}- ${JSON.stringify(x)}`).join('\n');
  }
  if (v && typeof v === 'object') {
    const keys = Object.keys(v);
    if (!keys.length) return ' {}';
    return '\n' + keys.map((k) => `${sp}${JSON.stringify(k)}:${yamlValue(v[k], indent + 2)}`).join('\n');
  }
  return ' ' + JSON.stringify(v);
}

const toYaml = (e) => Object.keys(e).map((k) => `${k}:${yamlValue(e[k], 2)}`).join('\n');

function* catalog(n, rng) {
  const V = 'backstage.io/v1alpha1';
  const nteams = Math.ceil(n / 10);
  const ndomains = Math.max(2, Math.ceil(n / 50));
  // users: the rest of 13.25 entities per component
  const nusers = Math.round(n * 13.25) - n /* components */ - n /* apis */ - n / 2 /* resources */ -
    nteams /* systems */ - nteams /* teams */ - ndomains - 1 /* org */;
  yield { apiVersion: V, kind: 'Group', metadata: { name: 'acme', description: 'The organisation' }, spec: { type: 'organization', children: [] } };
  for (let d = 0; d < ndomains; d++)
    yield { apiVersion: V, kind: 'Domain', metadata: { name: `domain-${pad(d, 2)}`, description: `Business domain ${d}` }, spec: { owner: `group:${teamOf(d * 50)}` } };
  for (let t = 0; t < nteams; t++) {
    yield {
      apiVersion: V, kind: 'Group',
      metadata: { name: `team-${pad(t, 3)}`, title: `Team ${t}`, description: `Delivery team ${t}` },
      spec: { type: 'team', parent: 'acme', children: [], profile: { displayName: `Team ${t}`, email: `team-${t}@acme.example` } },
    };
    yield {
      apiVersion: V, kind: 'System',
      metadata: { name: `sys-${pad(t, 3)}`, description: `System of team ${t}` },
      spec: { owner: `group:team-${pad(t, 3)}`, domain: `domain-${pad(Math.floor(t / 5) % ndomains, 2)}` },
    };
  }
  for (let u = 0; u < nusers; u++) {
    const name = `user-${pad(u, 5)}`;
    yield {
      apiVersion: V, kind: 'User',
      metadata: { name, description: rng.pick(['Backend engineer', 'Frontend engineer', 'SRE', 'Product manager', 'Data engineer']) },
      spec: { profile: { displayName: `User ${u}`, email: `${name}@acme.example` }, memberOf: [`team-${pad(u % nteams, 3)}`] },
    };
  }
  for (let i = 0; i < n; i++) {
    const k = componentKeys(i);
    yield {
      apiVersion: V, kind: 'Component',
      metadata: { name: k.name, description: `Service number ${i}`, tags: ['java', `tier-${i % 3}`], annotations: k.annotations },
      spec: {
        type: i % 20 === 19 ? 'website' : 'service', lifecycle: 'production', owner: `group:${teamOf(i)}`,
        system: systemOf(i), providesApis: [`api-${pad(i)}`], dependsOn: [`component:${compName((i + 1) % n)}`, `resource:db-${pad(Math.floor(i / 2))}`],
      },
    };
    yield {
      apiVersion: V, kind: 'API',
      metadata: { name: `api-${pad(i)}`, description: `API of ${k.name}` },
      spec: { type: 'openapi', lifecycle: 'production', owner: `group:${teamOf(i)}`, system: systemOf(i), definition: `openapi: 3.0.0\ninfo:\n  title: ${k.name}\n  version: 1.0.0\npaths: {}\n` },
    };
    if (i % 2 === 0)
      yield { apiVersion: V, kind: 'Resource', metadata: { name: `db-${pad(i / 2)}`, description: 'PostgreSQL database' }, spec: { type: 'database', owner: `group:${teamOf(i)}`, system: systemOf(i) } };
  }
}

// ---- events -----------------------------------------------------------------------

// Delivery profiles (hours): production gap mean/min/max, changes per
// deployment, merge -> deploy wait, review time, failure rate, restore time,
// share staged first, share sent as upgraded, share listing their changes,
// share with a chain id.
const PROFILES = {
  elite: { gap: [6, 0.5, 30], changes: [2, 3], wait: [0.2, 3], review: [0.5, 5], cfr: 0.03, restore: [0.15, 0.9], staging: 0.5, upgraded: 0.9, explicit: 0.6, chain: 0.7 },
  high: { gap: [24, 4, 24 * 5], changes: [2, 4], wait: [2, 24], review: [4, 36], cfr: 0.08, restore: [1, 8], staging: 1, upgraded: 0.8, explicit: 0.4, chain: 0.5 },
  medium: { gap: [24 * 7, 72, 24 * 16], changes: [2, 6], wait: [48, 24 * 6], review: [72, 24 * 7], cfr: 0.12, restore: [2, 20], staging: 1, upgraded: 0.6, explicit: 0.2, chain: 0.3 },
  low: { gap: [24 * 30, 24 * 20, 24 * 50], changes: [4, 8], wait: [24 * 5, 24 * 20], review: [24 * 8, 24 * 20], cfr: 0.45, restore: [24 * 3, 24 * 10], staging: 1, upgraded: 0.3, explicit: 0, chain: 0 },
};
const profileOf = (i) => {
  const r = (i * 7919) % 10;
  return r < 3 ? 'elite' : r < 7 ? 'high' : r < 9 ? 'medium' : 'low';
};

const PR_TITLES = [
  'Fix race when the cache is cold', 'Bump dependencies', 'Add retry with jitter to the client',
  'Reduce p99 latency of the hot path', 'Remove dead feature flag', 'Add metrics for queue depth',
  'Handle empty responses from upstream', 'Migrate config to the new schema', 'Improve error messages',
  'Split the handler into smaller functions', 'Add integration test for the happy path',
  'Paginate the listing endpoint', 'Log request ids on every error', 'Tune connection pool sizes',
];

const iso = (t) => new Date(Math.round(t)).toISOString();
const uni = (rng, lo, hi) => lo + rng.next() * (hi - lo);
function expo(rng, [mean, lo, hi]) {
  const v = -mean * Math.log(1 - rng.next());
  return Math.min(hi, Math.max(lo, v)) * HOUR;
}

function main() {
  const o = parseArgs(process.argv.slice(2));
  mkdirSync(o.out, { recursive: true });
  const catRng = makeRng(`${o.seed}|catalog`);
  const cat = createWriteStream(join(o.out, 'catalog.yaml'));
  let nent = 0;
  for (const e of catalog(o.components, catRng)) {
    cat.write((nent ? '---\n' : '') + toYaml(e) + '\n');
    nent++;
  }
  cat.end();

  const start = o.now - o.days * DAY;
  const ndays = o.days;
  // events of each day of deployments, flushed when the day is done
  const buckets = new Map();
  let seq = 0;
  let idHash = createHash('sha256').update(o.seed).digest();
  const uuid = () => {
    // ids: a running SHA-256 chain (unique, deterministic, cheap enough)
    idHash = createHash('sha256').update(idHash).digest();
    const h = idHash.toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  };
  const emit = (bucketDay, ts, type, source, subject, extra = {}) => {
    if (ts > o.now) return;
    const context = { specversion: '0.5.1', id: uuid(), source, type, timestamp: iso(ts) };
    if (extra.chainId) context.chainId = extra.chainId;
    const ev = { context, subject };
    if (extra.customData) {
      ev.customData = extra.customData;
      ev.customDataContentType = 'application/json';
    }
    let b = buckets.get(bucketDay);
    if (!b) buckets.set(bucketDay, (b = []));
    b.push({ ts, seq: seq++, line: JSON.stringify(ev) });
  };

  // Per component: its deployment schedule, generated lazily day by day.
  const comps = [];
  for (let i = 0; i < o.components; i++) {
    const k = componentKeys(i);
    const rng = makeRng(`${o.seed}|${k.name}`);
    const p = PROFILES[profileOf(i)];
    comps.push({ i, k, rng, p, next: start + rng.next() * p.gap[0] * HOUR, prevT: start, prevArtifact: null, version: 0, pr: 1 + rng.int(0, 5000) });
  }
  // Release trains of coupled pairs (2k, 2k+1), k < 10: the second follows
  // the first within minutes, half of the time under one chain id.
  const npairs = Math.min(10, Math.floor(o.components / 2));
  for (let k = 0; k < npairs; k++) {
    const a = comps[2 * k], b = comps[2 * k + 1];
    a.follower = b;
    b.leader = a;
  }
  let incNo = 1000;
  const incidents = (c, detected, resolved, artifactId, bucket) => {
    const id = `INC-${incNo++}`;
    const base = () => {
      const content = { description: 'Error rate above 5%', environment: { id: 'production', source: '/k8s/prod' }, service: { id: c.k.subject } };
      if (artifactId) content.artifactId = artifactId;
      return content;
    };
    emit(bucket, detected, 'dev.cdevents.incident.detected.0.3.0', '/prometheus/alertmanager', { id, content: base() }, { customData: { severity: 'sev2' } });
    if (c.rng.next() < 0.7) {
      const content = base();
      content.ticketURI = `https://incidents.acme.example/${id}`;
      emit(bucket, detected + uni(c.rng, 2, 15) * MIN, 'dev.cdevents.incident.reported.0.3.0', '/pagerduty/acme', { id, content });
    }
    if (resolved !== null) emit(bucket, resolved, 'dev.cdevents.incident.resolved.0.3.0', '/pagerduty/acme', { id, content: base() });
  };

  const deploy = (c, t, chainId, bucket) => {
    const { rng, p, k } = c;
    const n = rng.int(p.changes[0], p.changes[1]);
    const interval = t - c.prevT;
    const wHi = Math.min(p.wait[1] * HOUR, interval * 0.95);
    const wLo = Math.min(p.wait[0] * HOUR, wHi * 0.5);
    const changes = [];
    for (let j = 0; j < n; j++) {
      const merged = uni(rng, t - wHi, t - wLo);
      const created = merged - uni(rng, p.review[0], p.review[1]) * HOUR;
      const repo = k.repos[k.repos.length > 1 ? rng.int(0, k.repos.length - 1) : 0];
      const id = `${repo.startsWith('github.com/') ? '' : 'github.com/'}${repo}/pull/${c.pr++}`;
      changes.push({ id, created, merged, repo, title: rng.pick(PR_TITLES) });
    }
    changes.sort((x, y) => x.merged - y.merged);
    for (const ch of changes) {
      const repository = { id: ch.repo, source: 'https://github.com' };
      emit(bucket, ch.created, 'dev.cdevents.change.created.0.4.0', '/github/acme', { id: ch.id, content: { description: ch.title, repository } });
      emit(bucket, ch.merged, 'dev.cdevents.change.merged.0.3.0', '/github/acme', { id: ch.id, content: { description: ch.title, repository } });
    }
    c.version++;
    const sha = createHash('sha256').update(`${o.seed}|${k.name}|${c.version}`).digest('hex');
    const artifact = c.i % 20 === 19 ? `pkg:generic/${k.subject}@1.${c.version}.0` : `pkg:oci/${k.name}@sha256%3A${sha}`;
    const chain = chainId || (rng.next() < p.chain ? `chain-${k.name}-${c.version}` : null);
    const env = (id) => ({ id, source: `/k8s/${id}` });
    if (rng.next() < p.staging) {
      const st = t - uni(rng, 20, 90) * MIN;
      emit(bucket, st, c.prevArtifact ? 'dev.cdevents.service.upgraded.0.3.0' : 'dev.cdevents.service.deployed.0.3.0', '/argocd/staging',
        { id: k.subject, content: { environment: env('staging'), artifactId: artifact } }, { chainId: chain });
    }
    const type = c.prevArtifact && rng.next() < p.upgraded ? 'dev.cdevents.service.upgraded.0.3.0' : 'dev.cdevents.service.deployed.0.3.0';
    const customData = rng.next() < p.explicit ? { changes: changes.map((ch) => ch.id) } : undefined;
    emit(bucket, t, type, '/argocd/prod', { id: k.subject, content: { environment: env('production'), artifactId: artifact } }, { chainId: chain, customData });
    if (rng.next() < p.cfr) {
      const kind = rng.next();
      if (kind < 0.5) {
        emit(bucket, t + uni(rng, 10, 60) * MIN, 'dev.cdevents.service.rolledback.0.3.0', '/argocd/prod',
          { id: k.subject, content: { environment: env('production'), artifactId: c.prevArtifact || artifact } }, { chainId: chain });
      } else {
        const detected = t + uni(rng, 5 / 60, 6) * HOUR;
        const resolved = detected + uni(rng, p.restore[0], p.restore[1]) * HOUR;
        incidents(c, detected, resolved > o.now - 30 * MIN ? null : resolved, kind < 0.8 ? artifact : null, bucket);
      }
    }
    c.prevArtifact = artifact;
    c.prevT = t;
    return chain;
  };

  const out = createWriteStream(join(o.out, 'events.ndjson'));
  let written = 0;
  const flush = async (d) => {
    const b = buckets.get(d);
    if (!b) return;
    buckets.delete(d);
    b.sort((x, y) => x.ts - y.ts || x.seq - y.seq);
    const text = b.map((x) => x.line).join('\n') + '\n';
    written += b.length;
    if (!out.write(text)) await new Promise((r) => out.once('drain', r));
  };
  const um = makeRng(`${o.seed}|unmatched`);
  return (async () => {
    for (let d = 0; d < ndays; d++) {
      const dayEnd = start + (d + 1) * DAY;
      for (const c of comps) {
        if (c.leader) continue; // deployed by its leader's trains
        while (c.next < dayEnd && c.next < o.now - 20 * MIN) {
          const t = c.next;
          const chain = deploy(c, t, null, d);
          if (c.follower) {
            const f = c.follower;
            if (f.rng.next() < 0.92) deploy(f, t + uni(f.rng, 1, 6) * MIN, f.rng.next() < 0.5 ? chain || `train-${c.k.name}-${c.version}` : null, d);
          }
          c.next = t + expo(c.rng, c.p.gap);
        }
        // incidents not caused by a deployment, now and then
        if (c.rng.next() < 0.004) {
          const detected = start + d * DAY + c.rng.next() * DAY;
          incidents(c, detected, detected + uni(c.rng, 1, 12) * HOUR, null, d);
        }
      }
      // events that match no component
      if (um.next() < 0.5)
        emit(d, start + (d + um.next()) * DAY, 'dev.cdevents.service.deployed.0.3.0', '/argocd/prod',
          { id: 'legacy-transcoder', content: { environment: { id: 'production', source: '/k8s/prod' }, artifactId: `pkg:generic/legacy-transcoder@0.${d}.0` } });
      if (um.next() < 0.3) {
        const id = `github.com/acme/monolith/pull/${9000 + d}`;
        const repository = { id: 'github.com/acme/monolith', source: 'https://github.com' };
        const t = start + (d + um.next()) * DAY;
        emit(d, t - HOUR, 'dev.cdevents.change.created.0.4.0', '/github/acme', { id, content: { repository } });
        emit(d, t, 'dev.cdevents.change.merged.0.3.0', '/github/acme', { id, content: { repository } });
      }
      // changes merged since the last deployment, never deployed: the
      // open work of the last days
      if (d === ndays - 1) {
        for (const c of comps) {
          const n = c.rng.int(0, 3);
          for (let j = 0; j < n; j++) {
            const merged = Math.max(c.prevT + MIN, o.now - uni(c.rng, 1, 72) * HOUR);
            const repo = c.k.repos[0];
            const id = `${repo.startsWith('github.com/') ? '' : 'github.com/'}${repo}/pull/${c.pr++}`;
            const repository = { id: repo, source: 'https://github.com' };
            emit(d, merged - uni(c.rng, 1, 48) * HOUR, 'dev.cdevents.change.created.0.4.0', '/github/acme', { id, content: { repository } });
            emit(d, merged, 'dev.cdevents.change.merged.0.3.0', '/github/acme', { id, content: { repository } });
          }
        }
      }
      await flush(d);
    }
    for (const d of [...buckets.keys()].sort((a, b) => a - b)) await flush(d);
    await new Promise((r) => out.end(r));
    process.stderr.write(`generate-scale: ${nent} entities, ${written} events, ${o.components} components, ${o.days} days\n`);
  })();
}

main().catch((err) => {
  process.stderr.write(`generate-scale: ${err.message}\n`);
  process.exitCode = 1;
});
