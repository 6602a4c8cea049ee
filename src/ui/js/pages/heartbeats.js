// pages/heartbeats.js — heartbeats (docs/heartbeats.md): the status page of
// all heartbeats with filters by status and team, one heartbeat's page (its
// facts, the ping log with bodies, the status changes), and the heartbeat
// panel that resource, component and team pages show. Everything from the
// API is shown as text: names, user agents and ping bodies are the pinger's.

import { api } from '../api.js';
import { appLink, dl, h, notice, section, table } from '../dom.js';
import { displayRef, fmtDuration, fmtNumber, fmtTime, parseRef, pickArray, refLink } from '../format.js';
import { loadInto } from '../panel.js';

const STATUSES = ['up', 'grace', 'down', 'started', 'new', 'paused'];
// what a person reads: "grace" is a late heartbeat
const STATUS_LABEL = { up: 'up', grace: 'late', down: 'down', started: 'running', new: 'new', paused: 'paused' };

export const heartbeatPath = (ref) => {
  const r = parseRef(ref, 'heartbeat');
  const tail = r.name.includes('.') ? '/' : '';
  return `/heartbeats/${encodeURIComponent(r.namespace)}/${encodeURIComponent(r.name)}${tail}`;
};

export function statusBadge(status) {
  const s = STATUSES.includes(status) ? status : 'unknown';
  return h('span', { class: ['hb-status', `hb-status-${s}`], title: s === 'grace' ? 'late: past its expected time, within its grace' : null },
    STATUS_LABEL[s] || String(status ?? 'unknown'));
}

function scheduleText(sc) {
  if (!sc) return '—';
  if (sc.kind === 'cron') return `cron ${sc.cron} (${sc.tz}), grace ${sc.grace}`;
  return `every ${sc.period}, grace ${sc.grace}`;
}

function nameLink(hb) {
  return appLink(heartbeatPath(hb.entityRef), displayRef(hb.entityRef), { title: String(hb.entityRef) });
}

function when(t) {
  return t ? h('time', { datetime: t }, fmtTime(t)) : '—';
}

// The table of a list of heartbeats; `omit` drops a column the page already says.
export function heartbeatTable(items, caption, { omit = '' } = {}) {
  const cols = [
    ['Heartbeat', (hb) => nameLink(hb)],
    ['Status', (hb) => statusBadge(hb.status)],
    ['Purpose', (hb) => String(hb.purpose)],
    ['Protects', (hb) => (hb.target ? refLink(hb.target, { kind: true }) : h('strong', { class: 'flag' }, 'nothing (no target)'))],
    ['Owner', (hb) => refLink(hb.owner, { defaultKind: 'group' })],
    ['Last ping', (hb) => when(hb.lastPing)],
    ['Next due', (hb) => when(hb.nextExpected)],
    ['Schedule', (hb) => scheduleText(hb.schedule)],
  ].filter(([name]) => name !== omit);
  return table(caption, cols.map(([name]) => name), items.map((hb) => cols.map(([, cell]) => cell(hb))),
    { rowHeaders: true, class: 'heartbeats' });
}

// The panel of an entity or team page: heartbeats whose target (or owner) is ref.
export function heartbeatPanel(box, params, { signal, omit, empty }) {
  return loadInto(box, 'heartbeats', async () => {
    const page = await api.heartbeats(params, { signal });
    const items = pickArray(page, 'items');
    if (items.length === 0) return notice('empty', empty);
    const down = items.filter((x) => x.status === 'down').length;
    return [
      down ? h('p', null, h('strong', { class: 'flag' }, `${down} down.`)) : null,
      heartbeatTable(items, 'Heartbeats', { omit }),
    ];
  }, { signal });
}

// ---- the status page ---------------------------------------------------------------

async function renderList(main, ctx) {
  const { signal, query } = ctx;
  const status = STATUSES.includes(query.get('status')) ? query.get('status') : '';
  const team = query.get('owner') || '';
  main.append(h('header', { class: 'page-header' },
    h('h1', { tabindex: -1 }, 'Heartbeats'),
    h('p', { class: 'subtitle' }, 'Backups, restore tests and scheduled jobs that ping conway; silence raises the alarm.')));

  const statusSel = h('select', { id: 'hb-status', name: 'status' },
    [['', 'Any'], ...STATUSES.map((s) => [s, STATUS_LABEL[s]])]
      .map(([v, t]) => h('option', { value: v, selected: v === status }, t)));
  const teamInput = h('input', { id: 'hb-owner', name: 'owner', type: 'text', value: team, placeholder: 'e.g. team-dba', autocomplete: 'off' });
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter heartbeats' },
    h('label', { for: 'hb-status' }, 'Status '), statusSel,
    h('label', { for: 'hb-owner' }, ' Team '), teamInput,
    h('button', { type: 'submit' }, 'Filter'));
  const apply = () => {
    const q = new URLSearchParams();
    if (statusSel.value) q.set('status', statusSel.value);
    if (teamInput.value.trim()) q.set('owner', teamInput.value.trim());
    const qs = q.toString();
    ctx.navigate(qs ? `/heartbeats?${qs}` : '/heartbeats');
  };
  statusSel.addEventListener('change', apply);
  form.addEventListener('submit', (e) => { e.preventDefault(); apply(); });

  const summary = h('div');
  const box = h('div');
  main.append(section('Heartbeats', 'heartbeats', form, summary, box));
  await loadInto(box, 'heartbeats', async () => {
    const params = {};
    if (team) params.owner = team;
    const page = await api.heartbeats(params, { signal });
    const all = pickArray(page, 'items');
    // the counts are of the team's heartbeats, whatever the status filter
    const counts = Object.fromEntries(STATUSES.map((s) => [s, all.filter((x) => x.status === s).length]));
    summary.append(h('ul', { class: 'hb-counts', id: 'hb-counts', 'aria-label': 'Heartbeats by status' },
      STATUSES.filter((s) => counts[s]).map((s) => h('li', null, statusBadge(s), ` ${fmtNumber(counts[s])}`))));
    const items = status ? all.filter((x) => x.status === status) : all;
    // what needs attention first: down, late, then the rest by name
    const rank = { down: 0, grace: 1, started: 2, new: 3, up: 4, paused: 5 };
    items.sort((a, b) => (rank[a.status] ?? 9) - (rank[b.status] ?? 9) || String(a.entityRef).localeCompare(String(b.entityRef)));
    const shown = h('p', { class: 'result-count', role: 'status' },
      items.length ? `Showing ${fmtNumber(items.length)} heartbeat${items.length === 1 ? '' : 's'}.` : 'No heartbeats match.');
    return [shown, items.length ? heartbeatTable(items, 'Heartbeats, down and late first') : null];
  }, { signal });
  return 'Heartbeats';
}

// ---- one heartbeat -----------------------------------------------------------------

function bodyCell(p) {
  if (p.body) return h('pre', { class: 'ping-body' }, String(p.body));
  if (p.bodyBase64url) return h('span', { class: 'muted' }, `${fmtNumber(p.bodySize)} bytes, not text`);
  return '—';
}

function pingTable(pings) {
  if (pings.length === 0) return notice('empty', 'No pings yet.');
  return table('Pings, newest first', ['#', 'Time', 'Kind', 'Exit status', 'Duration', 'From', 'User agent', 'Body'],
    pings.map((p) => [
      String(p.n),
      when(p.time),
      String(p.kind),
      p.exitStatus == null ? '—' : String(p.exitStatus),
      p.durationMs == null ? '—' : fmtDuration(p.durationMs / 1000),
      `${p.method} ${p.remote}`,
      h('span', { class: 'break' }, String(p.userAgent || '—')),
      bodyCell(p),
    ]), { rowHeaders: true, id: 'ping-log' });
}

function changesTable(changes) {
  if (changes.length === 0) return notice('empty', 'No status changes yet.');
  return table('Status changes, newest first', ['Time', 'From', 'To', 'Why'],
    changes.map((c) => [when(c.time), statusBadge(c.from), statusBadge(c.to), String(c.reason ?? '')]),
    { id: 'status-changes' });
}

async function renderOne(main, ctx) {
  const { namespace, name } = ctx.params;
  const { signal } = ctx;
  const ref = `heartbeat:${namespace}/${name}`;
  main.append(h('nav', { 'aria-label': 'Breadcrumb', class: 'breadcrumb' }, h('ol', null,
    h('li', null, h('a', { href: '/heartbeats', 'data-nav': '' }, 'Heartbeats')),
    h('li', null, h('span', { 'aria-current': 'page' }, displayRef(ref))))));
  const head = h('header', { class: 'page-header' }, h('h1', { tabindex: -1 }, name));
  const box = h('div');
  main.append(head, box);
  let title = name;
  await loadInto(box, 'this heartbeat', async () => {
    const hb = await api.heartbeat(namespace, name, { pings: 50 }, { signal });
    head.append(h('p', { class: 'subtitle' }, statusBadge(hb.status), ` · ${hb.purpose} · ${namespace}/${name}`),
      h('p', null, appLink(`/entity/heartbeat/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}${name.includes('.') ? '/' : ''}`, 'Entity details')));
    title = `${name} (heartbeat)`;
    return [
      section('About', 'about', dl([
        ['Status', statusBadge(hb.status)],
        ['Protects', hb.target ? refLink(hb.target, { kind: true }) : h('strong', { class: 'flag' }, 'nothing (no target)')],
        ['Owner', refLink(hb.owner, { defaultKind: 'group' })],
        ['Purpose', String(hb.purpose)],
        ['Schedule', scheduleText(hb.schedule)],
        ['Depends on', hb.dependsOn ? appLink(heartbeatPath(hb.dependsOn), displayRef(hb.dependsOn)) : null],
        ['Last ping', when(hb.lastPing)],
        ['Last success', when(hb.lastSuccess)],
        ['Running since', hb.runningSince ? when(hb.runningSince) : null],
        ['Last run took', hb.lastDurationMs == null ? null : fmtDuration(hb.lastDurationMs / 1000)],
        ['Next due', when(hb.nextExpected)],
        ['Down at', when(hb.downAt)],
        ['Pings received', fmtNumber(hb.pings)],
        ['Ping key', hb.hasPingKey ? 'set (shown once when made)' : 'none yet'],
      ])),
      section('Ping log', 'pings', pingTable(pickArray(hb, 'lastPings'))),
      section('Status changes', 'changes', changesTable(pickArray(hb, 'statusChanges'))),
    ];
  }, { signal });
  return title;
}

export function render(main, ctx) {
  return ctx.params.name ? renderOne(main, ctx) : renderList(main, ctx);
}
