// pages/incidents.js — incidents (docs/incidents.md): the list with filters
// and "show more" paging, one incident's page (facts, the deployment it most
// likely caused, timeline, alerts, postmortems), the banner a component page
// shows while it has an open incident, and the postmortem view of the entity
// page. Everything from the API is shown as text; only http(s) URLs are links.

import { api } from '../api.js';
import { appLink, clear, dl, externalLink, h, notice, section, table } from '../dom.js';
import { fmtDate, fmtDuration, fmtNumber, fmtTime, parseRef, pickArray, refLink } from '../format.js';
import { errorNotice, isAbort, loadInto } from '../panel.js';

const STATES = ['triggered', 'acknowledged', 'mitigated', 'resolved', 'closed'];
const SEVERITIES = ['critical', 'high', 'warning', 'low', 'info'];
const PAGE = 50;

export const incidentPath = (id) => `/incidents/${encodeURIComponent(String(id))}`;

export function stateBadge(state) {
  const s = STATES.includes(state) ? state : 'unknown';
  return h('span', { class: ['incident-state', `incident-state-${s}`] }, String(state ?? 'unknown'));
}

export function severityTag(sev, label) {
  const s = SEVERITIES.includes(sev) ? sev : 'none';
  // the word is always shown, colour only repeats it
  return h('span', { class: ['incident-sev', `incident-sev-${s}`], title: label ? `as sent: ${label}` : null },
    sev ? String(sev) : (label ? `unrated (${label})` : 'unrated'));
}

function titleOf(i) {
  return i.title ? String(i.title) : `Incident ${i.ref ?? i.id}`;
}

// ---- the list ----------------------------------------------------------------

function incidentRow(i) {
  return h('tr', null,
    h('td', null, h('time', { datetime: i.startedAt || '' }, fmtTime(i.startedAt))),
    h('th', { scope: 'row' }, appLink(incidentPath(i.id), titleOf(i)),
      h('span', { class: 'muted small block' }, String(i.ref ?? ''))),
    h('td', null, severityTag(i.severity, i.severityLabel)),
    h('td', null, stateBadge(i.state)),
    h('td', null, i.component ? refLink(i.component) : '—'),
    h('td', null, i.owner ? refLink(i.owner) : '—'),
    h('td', null, i.timeToRestoreSeconds != null ? fmtDuration(i.timeToRestoreSeconds) : '—'));
}

async function renderList(main, ctx) {
  const { signal, query } = ctx;
  const state = query.get('state') ?? 'open';
  const severity = query.get('severity') || '';
  const scope = query.get('scope') || '';
  main.append(h('header', { class: 'page-header' },
    h('h1', { tabindex: -1 }, 'Incidents'),
    h('p', { class: 'subtitle' }, 'From incident CDEvents and Alertmanager; newest first.')));

  const stateSel = h('select', { id: 'incident-state', name: 'state' },
    [['open', 'Open'], ['', 'All'], ...STATES.map((s) => [s, s[0].toUpperCase() + s.slice(1)])]
      .map(([v, t]) => h('option', { value: v, selected: v === state }, t)));
  const sevSel = h('select', { id: 'incident-severity', name: 'severity' },
    [['', 'Any'], ...SEVERITIES.map((s) => [s, s]), ['none', 'unrated']]
      .map(([v, t]) => h('option', { value: v, selected: v === severity }, t)));
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter incidents' },
    h('label', { for: 'incident-state' }, 'State '), stateSel,
    h('label', { for: 'incident-severity' }, ' Severity '), sevSel,
    scope ? h('p', { class: 'muted' }, 'Scope: ', refLink(scope, { kind: true }), ' ',
      h('a', { href: '/incidents', 'data-nav': '' }, '(all)')) : null);
  const apply = () => {
    const q = new URLSearchParams();
    q.set('state', stateSel.value);
    if (sevSel.value) q.set('severity', sevSel.value);
    if (scope) q.set('scope', scope);
    ctx.navigate(`/incidents?${q}`);
  };
  stateSel.addEventListener('change', apply);
  sevSel.addEventListener('change', apply);
  form.addEventListener('submit', (e) => { e.preventDefault(); apply(); });

  const tbody = h('tbody');
  const status = h('p', { class: 'result-count', role: 'status' });
  const more = h('button', { type: 'button', hidden: true }, 'Show more');
  const tbl = h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'Incidents' },
    h('table', { class: 'data', id: 'incident-table' },
      h('caption', { class: 'visually-hidden' }, 'Incidents, newest first'),
      h('thead', null, h('tr', null, ['Started', 'Incident', 'Severity', 'State', 'Component', 'Owner', 'Time to restore']
        .map((x) => h('th', { scope: 'col' }, x)))),
      tbody));
  const box = h('div');
  main.append(section('Incidents', 'incidents', form, box));
  let cursor = '';
  let shown = 0;
  const load = async () => {
    more.disabled = true;
    const page = await api.incidents({ state, severity, scope, limit: PAGE, cursor }, { signal });
    for (const i of pickArray(page, 'items')) tbody.append(incidentRow(i));
    shown += pickArray(page, 'items').length;
    cursor = page.nextCursor || '';
    more.hidden = !cursor;
    more.disabled = false;
    tbl.hidden = shown === 0;
    status.textContent = shown === 0 ? 'No incidents match.' : `Showing ${fmtNumber(shown)} incident${shown === 1 ? '' : 's'}.`;
  };
  more.addEventListener('click', () => load().catch((e) => {
    if (!isAbort(e)) box.append(errorNotice(e, 'incidents'));
  }));
  await loadInto(box, 'incidents', async () => {
    await load();
    return [status, tbl, more];
  }, { signal });
  return 'Incidents';
}

// ---- one incident --------------------------------------------------------------

function causeBlock(c) {
  if (!c) {
    return notice('empty', 'No deployment is likely to have caused it: it names no deployed artifact and no production deployment of its component happened within the failure window before it.');
  }
  return dl([
    ['Component', refLink(c.component)],
    ['Deployed', h('time', { datetime: c.deployedAt || '' }, fmtTime(c.deployedAt))],
    ['Artifact', c.artifactId ? h('code', { class: 'break' }, String(c.artifactId)) : '—'],
    ['Why', c.rule === 'artifact' ? 'the incident names this artifact'
      : `the component's last production deployment, ${fmtNumber(c.failureWindowHours)} h or less before the incident`],
  ]);
}

function timelineList(entries) {
  if (entries.length === 0) return notice('empty', 'Nothing on the timeline yet.');
  return h('ol', { class: 'timeline', id: 'incident-timeline' }, entries.map((e) => {
    const what = e.kind === 'transition'
      ? h('span', null, stateBadge(e.from), ' → ', stateBadge(e.to), e.text ? h('span', { class: 'break' }, ` — ${e.text}`) : null)
      : h('span', { class: 'break' }, String(e.text ?? ''));
    return h('li', { class: ['timeline-entry', `timeline-${String(e.kind)}`] },
      h('time', { datetime: e.at || '' }, fmtTime(e.at)), ' ',
      h('span', { class: 'timeline-kind' }, String(e.kind)), ' ',
      what,
      e.actor ? h('span', { class: 'muted small' }, ` — ${e.actor}`) : null);
  }));
}

function labelsText(obj) {
  if (!obj || typeof obj !== 'object') return '—';
  return h('span', { class: 'break' }, Object.entries(obj).map(([k, v]) => `${k}=${v}`).join(', '));
}

function alertsTable(alerts) {
  if (alerts.length === 0) return null;
  return table('Alerts of the Alertmanager group', ['Status', 'Labels', 'Summary', 'Started', 'Ended', 'Source'],
    alerts.map((a) => [
      String(a.status ?? ''), labelsText(a.labels),
      h('span', { class: 'break' }, String(a.annotations?.summary ?? '—')),
      fmtTime(a.startsAt), a.endsAt ? fmtTime(a.endsAt) : '—',
      a.generatorURL ? externalLink(String(a.generatorURL), 'graph') : '—',
    ]), { id: 'incident-alerts' });
}

function postmortemLinks(pms) {
  if (pms.length === 0) {
    return notice('warning', 'No postmortem lists this incident yet.');
  }
  return h('ul', { class: 'postmortems' }, pms.map((p) => {
    const r = parseRef(p.entityRef, 'postmortem');
    return h('li', null,
      appLink(`/entity/postmortem/${encodeURIComponent(r.namespace)}/${encodeURIComponent(r.name)}`, p.title || r.name),
      h('span', { class: 'muted small' }, ` — ${fmtNumber(p.openActionItems)} of ${fmtNumber(p.actionItems)} action items open`),
      p.summary ? h('p', { class: 'break' }, String(p.summary)) : null);
  }));
}

async function renderOne(main, ctx) {
  const { signal } = ctx;
  const id = ctx.params.id;
  let inc;
  try {
    inc = await api.incident(id, { signal });
  } catch (e) {
    if (signal.aborted) return 'Incident';
    main.append(h('h1', { tabindex: -1 }, 'Incident'), errorNotice(e, 'this incident'),
      h('p', null, h('a', { href: '/incidents', 'data-nav': '' }, 'All incidents')));
    return 'Incident';
  }
  const title = titleOf(inc);
  main.append(
    h('nav', { 'aria-label': 'Breadcrumb', class: 'breadcrumb' }, h('ol', null,
      h('li', null, h('a', { href: '/incidents', 'data-nav': '' }, 'Incidents')),
      h('li', null, h('span', { 'aria-current': 'page' }, String(inc.ref ?? id))))),
    h('header', { class: 'page-header' },
      h('h1', { tabindex: -1 }, title),
      h('p', { class: 'subtitle' }, stateBadge(inc.state), ' ', severityTag(inc.severity, inc.severityLabel),
        ` · ${inc.ref ?? ''}`)));
  main.append(section('About', 'incident-about', dl([
    ['Component', inc.component ? refLink(inc.component) : h('strong', { class: 'flag' }, 'Unknown (its service links to no component)')],
    ['Owner', inc.owner ? refLink(inc.owner) : '—'],
    ['Service', inc.service ? h('code', null, String(inc.service)) : null],
    ['Environment', inc.environment ? String(inc.environment) : null],
    ['Started', h('time', { datetime: inc.startedAt || '' }, fmtTime(inc.startedAt))],
    ['Resolved', inc.resolvedAt ? h('time', { datetime: inc.resolvedAt }, fmtTime(inc.resolvedAt)) : 'not yet'],
    ['Time to restore', inc.timeToRestoreSeconds != null ? fmtDuration(inc.timeToRestoreSeconds) : null],
    ['Artifact', inc.artifactId ? h('code', { class: 'break' }, String(inc.artifactId)) : null],
    ['Alert group', inc.alertGroup ? h('code', { class: 'break' }, String(inc.alertGroup)) : null],
    ['Source', inc.source ? h('code', null, String(inc.source)) : null],
  ])));
  main.append(section('Likely cause', 'incident-cause', causeBlock(inc.likelyCause)));
  main.append(section('Timeline', 'incident-timeline-section', timelineList(pickArray(inc, 'timeline'))));
  const alerts = alertsTable(pickArray(inc, 'alerts'));
  if (alerts) main.append(section('Alerts', 'incident-alerts-section', alerts));
  main.append(section('Postmortem', 'incident-postmortems', postmortemLinks(pickArray(inc, 'postmortems'))));
  return `${title} (incident)`;
}

export async function render(main, ctx) {
  return ctx.params.id ? renderOne(main, ctx) : renderList(main, ctx);
}

// ---- the component page's banner -------------------------------------------------

// Fills box with a banner per open incident of the component (nothing when
// there is none or incidents are not available).
export async function openIncidentBanner(box, ref, { signal } = {}) {
  let page;
  try {
    page = await api.incidents({ scope: ref, state: 'open', limit: 5 }, { signal });
  } catch {
    return; // the component page stands without it
  }
  if (signal?.aborted) return;
  clear(box);
  for (const i of pickArray(page, 'items')) {
    box.append(h('div', { class: 'incident-banner', role: 'status' },
      h('strong', null, 'Open incident: '),
      appLink(incidentPath(i.id), titleOf(i)), ' ',
      severityTag(i.severity, i.severityLabel), ' ', stateBadge(i.state),
      h('span', { class: 'muted small' }, ` since ${fmtTime(i.startedAt)}`)));
  }
}

// ---- the postmortem view -------------------------------------------------------------

const todayUtc = () => new Date().toISOString().slice(0, 10);

// Whether an action item is past its due day (dates: the whole day counts).
export function overdue(item, today = todayUtc()) {
  if (!['open', 'in-progress', undefined].includes(item.status)) return false;
  const due = String(item.due ?? '');
  if (/^\d{4}-\d{2}-\d{2}$/.test(due)) return due < today;
  const t = Date.parse(due);
  return !Number.isNaN(t) && t <= Date.now();
}

function textList(items, ordered = false) {
  if (!Array.isArray(items) || items.length === 0) return null;
  return h(ordered ? 'ol' : 'ul', { class: 'prose-list' }, items.map((t) => h('li', { class: 'break' }, String(t))));
}

function actionItemsTable(items, caption, { withPostmortem = false } = {}) {
  if (!Array.isArray(items) || items.length === 0) return notice('warning', 'No action items: every lesson should become someone\'s work.');
  return table(caption, ['Id', 'Action', 'Owner', 'Due', 'Status', ...(withPostmortem ? ['Postmortem'] : []), 'Activity', 'Issue'],
    items.map((a) => {
      const late = a.overdue ?? overdue(a);
      return [
        h('code', null, String(a.id ?? '')),
        h('span', { class: 'break' }, String(a.title ?? '')),
        a.owner ? refLink(a.owner) : '—',
        h('span', null, String(a.due ?? '—'), late ? h('strong', { class: 'flag' }, ' overdue') : null),
        String(a.status ?? 'open'),
        ...(withPostmortem ? [a.postmortem ? refLink(a.postmortem, { preferTeam: false }) : '—'] : []),
        a.activity ? String(a.activity) : '—',
        a.issueUrl ? externalLink(String(a.issueUrl), 'issue') : '—',
      ];
    }), { id: withPostmortem ? 'team-actions' : 'postmortem-actions' });
}

export { actionItemsTable };

// The incidents a postmortem lists, each linked to its page when conway knows it.
function incidentRefs(refs, signal) {
  const list = h('ul', { class: 'incident-refs' });
  for (const ref of Array.isArray(refs) ? refs : []) {
    const li = h('li', null, h('code', null, String(ref)));
    list.append(li);
    api.incidents({ ref: String(ref), limit: 1 }, { signal }).then((page) => {
      const [i] = pickArray(page, 'items');
      if (!i) {
        li.append(h('span', { class: 'muted small' }, ' (not known to conway)'));
        return;
      }
      clear(li);
      li.append(appLink(incidentPath(i.id), titleOf(i)), ' ', h('code', { class: 'muted small' }, String(ref)), ' ',
        stateBadge(i.state), ' ', severityTag(i.severity, i.severityLabel));
    }).catch(() => {});
  }
  return list;
}

// The sections of a Postmortem entity's page.
export function postmortemSections(entity, { signal } = {}) {
  const spec = entity.spec || {};
  const timeline = Array.isArray(spec.timeline) ? spec.timeline : [];
  return [
    section('Postmortem', 'postmortem',
      h('h3', null, 'Incidents'), incidentRefs(spec.incidents, signal),
      h('h3', null, 'Summary'), h('p', { class: 'break' }, String(spec.summary ?? '')),
      spec.impact ? [h('h3', null, 'Impact'), h('p', { class: 'break' }, String(spec.impact))] : null),
    section('Timeline', 'postmortem-timeline', timeline.length
      ? h('ol', { class: 'timeline' }, timeline.map((t) => h('li', { class: 'timeline-entry' },
        h('time', { datetime: String(t?.at ?? '') }, /T/.test(String(t?.at)) ? fmtTime(t.at) : fmtDate(t?.at)), ' ',
        h('span', { class: 'break' }, String(t?.text ?? '')))))
      : notice('empty', 'No timeline.')),
    section('Five whys', 'postmortem-whys', textList(spec.whys, true) || notice('empty', 'No whys written down.')),
    section('Contributing factors and lessons', 'postmortem-lessons',
      h('h3', null, 'Contributing factors'), textList(spec.contributingFactors) || notice('empty', 'None listed.'),
      h('h3', null, 'Lessons'), textList(spec.lessons) || notice('empty', 'None listed.')),
    section('Action items', 'postmortem-action-items', actionItemsTable(spec.actionItems, 'Action items of this postmortem')),
  ];
}
