// format.js — entity references, app paths and human-readable numbers, dates
// and durations. Pure functions apart from appLink() building DOM.

import { appLink, h } from './dom.js';

// Parses "[kind:][namespace/]name" with Backstage's defaulting.
export function parseRef(text, defaultKind = '', defaultNamespace = 'default') {
  if (text && typeof text === 'object') {
    return {
      kind: String(text.kind || defaultKind).toLowerCase(),
      namespace: String(text.namespace || defaultNamespace).toLowerCase(),
      name: String(text.name || ''),
    };
  }
  let rest = String(text ?? '');
  let kind = defaultKind;
  let namespace = defaultNamespace;
  const colon = rest.indexOf(':');
  if (colon > 0) {
    kind = rest.slice(0, colon);
    rest = rest.slice(colon + 1);
  }
  const slash = rest.indexOf('/');
  if (slash > 0) {
    namespace = rest.slice(0, slash);
    rest = rest.slice(slash + 1);
  }
  return { kind: kind.toLowerCase(), namespace: namespace.toLowerCase(), name: rest };
}

export function refString(ref) {
  const r = typeof ref === 'string' ? parseRef(ref) : parseRef(ref);
  return `${r.kind}:${r.namespace}/${r.name}`;
}

export function entityRefOf(entity) {
  return refString({
    kind: entity?.kind,
    namespace: entity?.metadata?.namespace || 'default',
    name: entity?.metadata?.name,
  });
}

// App path of an entity page; groups open the team page. The server treats a
// path whose last segment has a dot as a missing asset, not as a UI route, so
// names like "jane.doe" get a trailing slash.
export function refPath(ref, { preferTeam = true } = {}) {
  const r = parseRef(ref);
  const enc = encodeURIComponent;
  const tail = r.name.includes('.') ? '/' : '';
  if (r.kind === 'group' && preferTeam) return `/team/${enc(r.namespace)}/${enc(r.name)}${tail}`;
  return `/entity/${enc(r.kind || 'component')}/${enc(r.namespace)}/${enc(r.name)}${tail}`;
}

// "payments-api", "user:jane", "other-ns/thing" depending on what is needed.
export function displayRef(ref, { kind = false } = {}) {
  const r = parseRef(ref);
  const ns = r.namespace && r.namespace !== 'default' ? `${r.namespace}/` : '';
  return `${kind && r.kind ? `${r.kind}:` : ''}${ns}${r.name}`;
}

export function refLink(ref, opts = {}) {
  if (!ref) return '—';
  const r = parseRef(ref, opts.defaultKind || '');
  if (!r.name) return '—';
  if (!r.kind) return displayRef(r);
  return appLink(refPath(r, opts), opts.text || displayRef(r, opts),
    { title: refString(r) });
}

// A comma-separated list of ref links.
export function refList(refs, opts = {}) {
  const list = (Array.isArray(refs) ? refs : refs ? [refs] : []).filter(Boolean);
  if (list.length === 0) return '—';
  const out = [];
  list.forEach((ref, i) => {
    if (i > 0) out.push(', ');
    out.push(refLink(ref, opts));
  });
  return h('span', null, out);
}

// First defined value among dotted paths: pick(obj, 'a.b', 'c').
export function pick(obj, ...paths) {
  for (const path of paths) {
    let cur = obj;
    for (const part of path.split('.')) {
      if (cur === null || cur === undefined) break;
      cur = cur[part];
    }
    if (cur !== undefined && cur !== null) return cur;
  }
  return undefined;
}

// First array found among dotted paths (or the value itself when an array).
export function pickArray(obj, ...paths) {
  if (Array.isArray(obj)) return obj;
  for (const p of paths) {
    const v = pick(obj, p);
    if (Array.isArray(v)) return v;
  }
  return [];
}

export function fmtNumber(n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return '—';
  return Number(n).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function fmtPercent(x, digits = 1) {
  if (x === null || x === undefined || Number.isNaN(Number(x))) return '—';
  return `${(Number(x) * 100).toFixed(digits)} %`;
}

// Seconds as the largest sensible unit: "45 s", "12 min", "3.5 h", "2.1 d".
export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(Number(seconds))) return '—';
  const s = Number(seconds);
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

// The unit fmtDuration would pick for a maximum, for chart axes.
export function durationUnit(maxSeconds) {
  if (maxSeconds < 3600) return { name: 'minutes', div: 60 };
  if (maxSeconds < 3 * 86400) return { name: 'hours', div: 3600 };
  return { name: 'days', div: 86400 };
}

// "2024-05-01 14:03 UTC": stable, unambiguous and locale-independent.
export function fmtTime(value) {
  if (!value) return '—';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function fmtDate(value) {
  if (!value) return '—';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return d.toISOString().slice(0, 10);
}

// ISO timestamps for "the last N days" windows, to the second.
export function windowDays(days, now = new Date()) {
  const to = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const from = new Date(to.getTime() - days * 86400 * 1000);
  const iso = (d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return { from: iso(from), to: iso(to) };
}

export function plural(n, one, many = `${one}s`) {
  return `${fmtNumber(n)} ${n === 1 ? one : many}`;
}
