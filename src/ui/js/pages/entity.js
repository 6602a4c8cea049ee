// pages/entity.js — one entity: description, links, annotations, owner, RACI
// matrix, relations with a dependency diagram, recent events and DORA charts.
// Every value from the entity is shown as text; only http(s) links are links.

import { api, ApiError } from '../api.js';
import { dl, externalLink, h, notice, section, table } from '../dom.js';
import { loadDora } from '../dora.js';
import { displayRef, entityRefOf, fmtTime, parseRef, pick, pickArray, refLink, refList, refPath } from '../format.js';
import { errorNotice, loadInto } from '../panel.js';
import { scorecardPanel } from './scorecards.js';
import { dependencyDiagram, relationList, relationsOf } from '../relations.js';
import { graphPath } from './graph.js';
import { catalogUrl } from './catalog.js';
import { openIncidentBanner, postmortemSections } from './incidents.js';
import { heartbeatPanel, heartbeatPath } from './heartbeats.js';

const DORA_KINDS = new Set(['component', 'system', 'group']);
const RACI_KINDS = new Set(['component', 'system', 'domain']);

export function tagList(tags) {
  if (!Array.isArray(tags) || tags.length === 0) return null;
  return h('ul', { class: 'tags', 'aria-label': 'Tags' }, tags.map((t) =>
    h('li', null, h('a', { href: catalogUrl({ tag: String(t) }), 'data-nav': '', class: 'tag' }, String(t)))));
}

function scalarText(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function linksBlock(links) {
  if (!Array.isArray(links) || links.length === 0) return notice('empty', 'No links.');
  return h('ul', { class: 'links' }, links.map((l) =>
    h('li', null, externalLink(scalarText(l?.url), scalarText(l?.title || l?.url)),
      l?.type ? h('span', { class: 'muted small' }, ` (${scalarText(l.type)})`) : null)));
}

function keyValueTable(caption, obj, empty) {
  const entries = Object.entries(obj || {});
  if (entries.length === 0) return notice('empty', empty);
  return table(caption, ['Key', 'Value'], entries.sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => [h('code', null, k), h('span', { class: 'break' }, scalarText(v))]), { rowHeaders: true });
}

// Spec fields not already shown in the summary, flattened one level.
function specRows(spec) {
  const skip = new Set(['owner', 'system', 'domain', 'type', 'lifecycle', 'dependsOn', 'providesApis',
    'consumesApis', 'subcomponentOf', 'memberOf', 'children', 'parent', 'definition',
    // a Postmortem's fields have their own sections
    'incidents', 'summary', 'impact', 'timeline', 'whys', 'contributingFactors', 'lessons', 'actionItems']);
  const rows = [];
  for (const [k, v] of Object.entries(spec || {})) {
    if (skip.has(k)) continue;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v)) rows.push([h('code', null, `${k}.${k2}`), h('span', { class: 'break' }, scalarText(v2))]);
    } else {
      rows.push([h('code', null, k), h('span', { class: 'break' }, Array.isArray(v) ? v.map(scalarText).join(', ') : scalarText(v))]);
    }
  }
  return rows;
}

// ---- RACI ------------------------------------------------------------------

// The effective matrix: {activities: [{activity, responsible, accountable,
// consulted, informed, source: {responsibilities, target, inherited}}],
// missing: [activity names nobody declared]}.
export function raciRows(data) {
  const acts = pick(data, 'activities', 'matrix', 'rows', 'items') ?? data;
  const norm = (name, a) => ({
    activity: pick(a, 'activity', 'name') ?? name,
    responsible: pick(a, 'responsible') ?? [],
    accountable: pick(a, 'accountable'),
    consulted: pick(a, 'consulted') ?? [],
    informed: pick(a, 'informed') ?? [],
    source: pick(a, 'source', 'from', 'inheritedFrom', 'origin'),
  });
  let rows = [];
  if (Array.isArray(acts)) rows = acts.map((a) => norm(undefined, a));
  else if (acts && typeof acts === 'object') rows = Object.entries(acts).map(([k, v]) => norm(k, v));
  for (const name of pickArray(data, 'missing')) rows.push({ activity: String(name), missing: true });
  return rows;
}

// Where a row was declared: the Responsibilities' target, marked when inherited.
function sourceCell(src) {
  if (!src) return '—';
  if (typeof src === 'string') return refLink(src, { kind: true });
  const target = pick(src, 'target', 'ref', 'entityRef');
  const decl = pick(src, 'responsibilities');
  return h('span', null, target ? refLink(target, { kind: true }) : '—',
    src.inherited ? ' (inherited)' : '',
    decl ? h('span', { class: 'muted small' }, ' via ', refLink(decl, { kind: true, preferTeam: false })) : null);
}

export function raciTable(rows, caption = 'Responsibilities (RACI)') {
  if (rows.length === 0) return notice('empty', 'No responsibilities are defined for this entity or its system and domain.');
  return table(caption, ['Activity', 'Responsible', 'Accountable', 'Consulted', 'Informed', 'Defined on'],
    rows.map((r) => (r.missing
      ? [r.activity, '—', h('strong', { class: 'flag' }, 'None (gap)'), '—', '—', 'Not defined']
      : [
        r.activity,
        refList(r.responsible),
        r.accountable ? refList(r.accountable) : h('strong', { class: 'flag' }, 'None (gap)'),
        refList(r.consulted),
        refList(r.informed),
        sourceCell(r.source),
      ])), { rowHeaders: true, id: 'raci' });
}

// ---- events ----------------------------------------------------------------

export function eventFields(e) {
  const ctx = e.context || e.event?.context || e.data?.context || {};
  const subj = e.subject || e.event?.subject || e.data?.subject || {};
  const type = pick(e, 'type') ?? ctx.type ?? '';
  return {
    type: String(type),
    short: String(type).replace(/^dev\.cdevents\./, '').replace(/\.\d+\.\d+\.\d+(-[\w.]+)?$/, ''),
    time: pick(e, 'time', 'timestamp') ?? ctx.timestamp,
    environment: pick(e, 'environment', 'environmentId') ?? subj.content?.environment?.id ?? '',
    subject: pick(e, 'subjectId') ?? subj.id ?? '',
    artifact: pick(e, 'artifactId') ?? subj.content?.artifactId ?? '',
  };
}

function eventsTable(items) {
  if (items.length === 0) return notice('empty', 'No events recorded for this service.');
  return table('Recent events, newest first', ['Time', 'Event', 'Environment', 'Subject'], items.map((e) => {
    const f = eventFields(e);
    return [h('time', { datetime: f.time || '' }, fmtTime(f.time)), h('span', { title: f.type }, f.short),
      String(f.environment || '—'), h('span', { class: 'break' }, String(f.artifact || f.subject || '—'))];
  }));
}

// ---- page ------------------------------------------------------------------

export async function render(main, ctx) {
  const { kind, namespace, name } = ctx.params;
  const { signal } = ctx;
  let entity;
  try {
    entity = await api.entity(kind, namespace, name, { signal });
  } catch (e) {
    if (signal.aborted) return 'Entity';
    // 400: the address holds a name that cannot exist.
    const missing = e instanceof ApiError && (e.status === 404 || e.status === 400);
    main.append(h('h1', { tabindex: -1 }, missing ? 'Entity not found' : 'Entity'),
      missing ? notice('empty', `There is no ${kind} called ${namespace}/${name} in the catalog.`) : errorNotice(e, 'this entity'),
      h('p', null, h('a', { href: '/catalog', 'data-nav': '' }, 'Back to the catalog')));
    return missing ? 'Entity not found' : 'Entity';
  }
  const md = entity.metadata || {};
  const spec = entity.spec || {};
  const ref = entityRefOf(entity);
  const kindLc = String(entity.kind || kind).toLowerCase();
  const ns = md.namespace || 'default';
  const owner = relationsOf(entity, 'ownedBy')[0] || (spec.owner ? parseRef(spec.owner, 'group', ns) : null);
  const system = relationsOf(entity, 'partOf').find((r) => r.kind === 'system') || (spec.system ? parseRef(spec.system, 'system', ns) : null);
  const domain = relationsOf(entity, 'partOf').find((r) => r.kind === 'domain') || (spec.domain ? parseRef(spec.domain, 'domain', ns) : null);
  const title = md.title || md.name;
  // a component with an open incident says so at the top
  const bannerBox = h('div', { class: 'incident-banners', id: 'incident-banners' });
  if (kindLc === 'component') openIncidentBanner(bannerBox, ref, { signal });

  main.append(
    h('nav', { 'aria-label': 'Breadcrumb', class: 'breadcrumb' }, h('ol', null,
      h('li', null, h('a', { href: '/catalog', 'data-nav': '' }, 'Catalog')),
      h('li', null, h('a', { href: catalogUrl({ kind: entity.kind }), 'data-nav': '' }, String(entity.kind))),
      h('li', null, h('span', { 'aria-current': 'page' }, displayRef(ref))))),
    kindLc === 'component' ? bannerBox : null,
    h('header', { class: 'page-header' },
      h('h1', { tabindex: -1 }, title),
      h('p', { class: 'subtitle' }, `${entity.kind} · ${ns}/${md.name}`,
        spec.type ? ` · ${spec.type}` : '', spec.lifecycle ? ` · ${spec.lifecycle}` : ''),
      tagList(md.tags),
      kindLc === 'group' ? h('p', null, h('a', { href: refPath(ref), 'data-nav': '' }, 'Open the team page')) : null,
      kindLc === 'heartbeat' ? h('p', null, h('a', { href: heartbeatPath(ref), 'data-nav': '' }, 'Status, ping log and status changes')) : null,
      ['component', 'system', 'domain', 'resource', 'api'].includes(kindLc)
        ? h('p', null, h('a', { href: graphPath(ref, kindLc === 'domain' ? 0 : 1), 'data-nav': '' }, 'Dependency graph')) : null));

  main.append(section('About', 'about',
    md.description ? h('p', { class: 'description' }, String(md.description)) : notice('empty', 'No description.'),
    dl([
      ['Owner', owner ? refLink(owner) : (['component', 'api', 'resource', 'system', 'domain'].includes(kindLc)
        ? h('strong', { class: 'flag' }, 'No owner') : null)],
      ['System', system ? refLink(system) : null],
      ['Domain', domain ? refLink(domain) : null],
      ['Type', spec.type ? String(spec.type) : null],
      ['Lifecycle', spec.lifecycle ? String(spec.lifecycle) : null],
      ['Reference', h('code', null, ref)],
      ['UID', md.uid ? h('code', null, String(md.uid)) : null],
    ])));

  if (kindLc === 'postmortem') main.append(...postmortemSections(entity, { signal }));

  main.append(section('Links', 'links', linksBlock(md.links)));

  const specTable = specRows(spec);
  main.append(h('div', { class: 'two-col' },
    section('Annotations', 'annotations', keyValueTable('Annotations', md.annotations, 'No annotations.')),
    section('Labels and other fields', 'labels',
      keyValueTable('Labels', md.labels, 'No labels.'),
      specTable.length ? table('Other spec fields', ['Field', 'Value'], specTable, { rowHeaders: true }) : null)));

  if (kindLc === 'resource' || kindLc === 'component') {
    const hbBox = h('div');
    main.append(section('Heartbeats', 'heartbeats',
      h('p', { class: 'muted' }, 'Backups, restore tests and jobs that protect it (spec.target), with their last ping and when the next is due.'),
      hbBox));
    heartbeatPanel(hbBox, { target: ref }, { signal: ctx.signal, omit: 'Protects',
      empty: `No heartbeat protects this ${kindLc}: nothing tells conway that its backups run.` });
  }

  if (RACI_KINDS.has(kindLc)) {
    const raciBox = h('div');
    main.append(section('Responsibilities (RACI)', 'responsibilities',
      h('p', { class: 'muted' }, 'Who is responsible, accountable, consulted and informed for each activity, including what is inherited from the system and domain.'),
      raciBox));
    loadInto(raciBox, 'responsibilities', async () =>
      raciTable(raciRows(await api.raci(kindLc, ns, md.name, { signal }))), { signal });
  }

  main.append(section('Relations', 'relations',
    dependencyDiagram(entity) || notice('empty', 'No dependencies or APIs recorded.'),
    relationList(entity)));

  if (kindLc === 'component') {
    const evBox = h('div');
    main.append(section('Recent events', 'events', evBox));
    loadInto(evBox, 'recent events', async () => {
      const page = await api.events({ service: ref, limit: 20 }, { signal });
      return eventsTable(pickArray(page, 'items', 'events'));
    }, { signal });
  }

  if (DORA_KINDS.has(kindLc)) {
    const doraBox = h('div');
    main.append(section('Delivery performance (DORA)', 'delivery', doraBox));
    loadDora(doraBox, ref, { signal });
  }

  // the entity's level in every scorecard that judges it (issue #15)
  const scoreBox = h('div');
  main.append(section('Scorecards', 'scorecards', scoreBox));
  scorecardPanel(scoreBox, ref, { signal });
  return `${title} (${entity.kind})`;
}

