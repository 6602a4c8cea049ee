// pages/catalog.js — the searchable, filterable, paged entity table. Filters and
// the page cursor live in the URL (/catalog?kind=Component&q=pay) so that a
// view can be shared; only one page (50 or 100 entities) is loaded at a time.

import { api, withQuery } from '../api.js';
import { announce, appLink, clear, h, notice } from '../dom.js';
import { displayRef, fmtNumber, parseRef, refLink, refPath } from '../format.js';
import { errorNotice, isAbort } from '../panel.js';
import { sortable } from '../sort.js';

export const FILTERS = ['q', 'kind', 'namespace', 'type', 'lifecycle', 'owner', 'system', 'tag'];
const LIMITS = [50, 100];
const STANDARD_KINDS = ['Component', 'API', 'Resource', 'System', 'Domain', 'Group', 'User', 'Location'];

const FIELDS = {
  q: { label: 'Search', hint: 'Name, title or description', kind: 'search' },
  kind: { label: 'Kind', facet: 'kind', select: true },
  namespace: { label: 'Namespace', facet: 'metadata.namespace', select: true },
  type: { label: 'Type', facet: 'spec.type', select: true },
  lifecycle: { label: 'Lifecycle', facet: 'spec.lifecycle', select: true },
  owner: { label: 'Owner', facet: 'spec.owner' },
  system: { label: 'System', facet: 'spec.system' },
  tag: { label: 'Tag', facet: 'metadata.tags' },
};

// cursor -> {prev, offset}: lets "Previous page" work within this tab.
const pages = new Map();

function readState(query) {
  const st = {};
  for (const f of FILTERS) st[f] = query.get(f) || '';
  const limit = Number(query.get('limit'));
  st.limit = LIMITS.includes(limit) ? limit : 50;
  st.cursor = query.get('cursor') || '';
  return st;
}

function stateUrl(st) {
  const params = {};
  for (const f of FILTERS) params[f] = st[f];
  if (st.limit !== 50) params.limit = st.limit;
  params.cursor = st.cursor;
  return withQuery('/catalog', params);
}

export function catalogUrl(filters) {
  return withQuery('/catalog', filters);
}

function ownerOf(entity) {
  const rel = (entity.relations || []).find((r) => r.type === 'ownedBy');
  if (rel) return rel.target || rel.targetRef;
  const owner = entity.spec?.owner;
  return owner ? parseRef(owner, 'group', entity.metadata?.namespace || 'default') : null;
}

function systemOf(entity) {
  const rel = (entity.relations || []).find((r) => r.type === 'partOf' &&
    parseRef(r.target || r.targetRef).kind === 'system');
  if (rel) return rel.target || rel.targetRef;
  const sys = entity.spec?.system;
  return sys ? parseRef(sys, 'system', entity.metadata?.namespace || 'default') : null;
}

function truncate(text, n) {
  if (!text) return '';
  const t = String(text);
  return t.length > n ? `${t.slice(0, n - 1)}…` : t;
}

function entityRow(e) {
  const md = e.metadata || {};
  const ref = { kind: e.kind, namespace: md.namespace || 'default', name: md.name };
  const nameCell = h('span', { class: 'name-cell' },
    appLink(refPath(ref, { preferTeam: false }), md.title || md.name || '(unnamed)',
      { title: `${String(e.kind).toLowerCase()}:${ref.namespace}/${md.name}` }),
    md.title && md.title !== md.name ? h('span', { class: 'muted small' }, ` ${displayRef(ref)}`) : null);
  const desc = md.description ? h('span', { title: truncate(md.description, 500) }, truncate(md.description, 120)) : '';
  return [nameCell, e.kind || '', e.spec?.type || '', refLink(ownerOf(e)), refLink(systemOf(e)),
    e.spec?.lifecycle || '', desc];
}

function field(name, st, facets) {
  const def = FIELDS[name];
  const id = `f-${name}`;
  const values = (facets?.[def.facet] || []).map((x) => x.value).filter((v) => v !== undefined && v !== null);
  if (name === 'kind') for (const k of STANDARD_KINDS) if (!values.some((v) => v.toLowerCase() === k.toLowerCase())) values.push(k);
  let control;
  if (def.select && values.length > 0) {
    const current = st[name];
    const opts = [...new Set(values.map(String))].sort((a, b) => a.localeCompare(b));
    if (current && !opts.some((o) => o.toLowerCase() === current.toLowerCase())) opts.push(current);
    const counts = new Map((facets?.[def.facet] || []).map((x) => [String(x.value), x.count]));
    control = h('select', { id, name },
      h('option', { value: '' }, 'Any'),
      opts.map((v) => h('option', {
        value: v, selected: Boolean(current) && v.toLowerCase() === current.toLowerCase(),
      }, counts.has(v) ? `${v} (${fmtNumber(counts.get(v))})` : v)));
  } else {
    const listId = values.length ? `${id}-list` : null;
    control = [
      h('input', {
        id, name, type: def.kind === 'search' ? 'search' : 'text', value: st[name], list: listId,
        autocomplete: 'off', spellcheck: 'false', 'aria-describedby': def.hint ? `${id}-hint` : null,
      }),
      listId ? h('datalist', { id: listId }, [...new Set(values.map(String))].slice(0, 200)
        .map((v) => h('option', { value: v }))) : null,
    ];
  }
  return h('div', { class: ['field', `field-${name}`] },
    h('label', { for: id }, def.label), control,
    def.hint ? h('span', { id: `${id}-hint`, class: 'hint' }, def.hint) : null);
}

export async function render(main, ctx) {
  const { signal } = ctx;
  let st = readState(ctx.query);
  const heading = h('h1', { tabindex: -1 }, 'Catalog');
  const formBox = h('div', { class: 'filters-box' }, notice('loading', 'Loading filters…'));
  const count = h('p', { id: 'result-count', class: 'result-count', role: 'status' });
  const results = h('div', { id: 'results' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Catalog pages' });
  main.append(heading,
    h('p', { class: 'lead' }, 'Every entity conway knows: services, APIs, resources, systems, domains, teams and people.'),
    formBox,
    h('section', { class: 'panel', 'aria-labelledby': 'results-title' },
      h('h2', { id: 'results-title', class: 'visually-hidden' }, 'Results'), count, results, pager));

  let facets = null;
  try {
    const res = await api.facets(Object.values(FIELDS).map((f) => f.facet).filter(Boolean), { signal });
    facets = res?.facets || null;
  } catch (e) {
    if (isAbort(e) || signal.aborted) return 'Catalog';
    facets = null; // filters still work as free text
  }
  if (signal.aborted) return 'Catalog';

  let tableCtl = null;
  const loadTable = async () => {
    if (tableCtl) tableCtl.abort();
    tableCtl = new AbortController();
    const local = tableCtl;
    const onAbort = () => local.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    results.setAttribute('aria-busy', 'true');
    if (!results.firstChild) results.append(notice('loading', 'Loading entities…'));
    try {
      const params = { limit: st.limit, cursor: st.cursor };
      for (const f of FILTERS) params[f] = st[f];
      const page = await api.entities(params, { signal: local.signal });
      if (local.signal.aborted) return;
      const items = page.items || [];
      const info = pages.get(st.cursor || '') || (st.cursor ? null : { prev: null, offset: 0 });
      clear(results);
      clear(pager);
      if (items.length === 0) {
        results.append(notice('empty', 'No entity matches these filters.'));
      } else {
        results.append(renderTable(items));
      }
      const total = page.totalItems;
      const first = info ? info.offset + 1 : null;
      const last = info ? info.offset + items.length : null;
      count.textContent = items.length === 0
        ? `No matching entities (of ${fmtNumber(total ?? 0)}).`
        : info
          ? `Showing ${fmtNumber(first)}–${fmtNumber(last)} of ${fmtNumber(total)} entities.`
          : `Showing ${fmtNumber(items.length)} of ${fmtNumber(total)} matching entities.`;
      if (st.cursor) {
        pager.append(pagerLink('First page', { ...st, cursor: '' }));
        if (info && info.prev !== null && info.prev !== '') pager.append(pagerLink('Previous page', { ...st, cursor: info.prev }));
      }
      if (page.nextCursor) {
        pages.set(page.nextCursor, { prev: st.cursor || '', offset: (info ? info.offset : 0) + items.length });
        pager.append(pagerLink('Next page', { ...st, cursor: page.nextCursor }, 'next'));
      }
      announce(count.textContent);
    } catch (e) {
      if (isAbort(e) || local.signal.aborted) return;
      clear(results);
      clear(pager);
      count.textContent = '';
      results.append(errorNotice(e, 'the catalog'));
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (tableCtl === local) results.removeAttribute('aria-busy');
    }
  };

  const pagerLink = (text, next, rel) => h('a', {
    href: stateUrl(next), rel, class: 'button-link',
    onclick: (e) => {
      if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
      e.preventDefault();
      e.stopPropagation();
      st = next;
      ctx.setUrl(stateUrl(st));
      loadTable().then(() => count.focus?.());
    },
  }, text);

  // The search stays in view; the other filters fold into a <details>,
  // closed unless the URL sets one of them (issue 18).
  const summaryText = h('span', { class: 'muted' });
  const more = h('details', { id: 'catalog-filters', class: 'filter-more', open: moreFiltersSet(st) },
    h('summary', null, 'Filters', summaryText),
    h('div', { class: 'filter-grid' },
      FILTERS.filter((f) => f !== 'q').map((f) => field(f, st, facets)),
      h('div', { class: ['field', 'field-limit'] },
        h('label', { for: 'f-limit' }, 'Rows per page'),
        h('select', { id: 'f-limit', name: 'limit' },
          LIMITS.map((n) => h('option', { value: n, selected: n === st.limit }, String(n)))))));
  const showSummary = () => {
    const set = FILTERS.filter((f) => f !== 'q' && st[f]).map((f) => `${FIELDS[f].label} ${st[f]}`);
    if (st.limit !== 50) set.push(`${st.limit} rows`);
    summaryText.textContent = set.length ? ` (${set.join(', ')})` : ' (none set)';
  };
  showSummary();
  const form = h('form', { role: 'search', 'aria-label': 'Filter entities', class: 'filters', novalidate: true },
    field('q', st, facets),
    more,
    h('div', { class: 'form-actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Apply filters'),
      h('a', { href: '/catalog', 'data-nav': '', class: 'button-link' }, 'Clear filters')));

  const apply = ({ replace = false } = {}) => {
    const next = { limit: Number(form.elements.limit.value) || 50, cursor: '' };
    for (const f of FILTERS) next[f] = (form.elements[f]?.value || '').trim();
    const changed = FILTERS.some((f) => next[f] !== st[f]) || next.limit !== st.limit || st.cursor;
    if (!changed) return;
    st = next;
    showSummary();
    ctx.setUrl(stateUrl(st), { replace });
    loadTable();
  };

  let timer = null;
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearTimeout(timer);
    apply();
  });
  form.addEventListener('change', (e) => {
    if (e.target.tagName === 'SELECT') apply();
  });
  form.addEventListener('input', (e) => {
    if (e.target.tagName !== 'INPUT') return;
    clearTimeout(timer);
    timer = setTimeout(() => apply({ replace: false }), 400);
  });
  signal.addEventListener('abort', () => clearTimeout(timer), { once: true });

  clear(formBox);
  formBox.append(form);
  count.setAttribute('tabindex', '-1');
  await loadTable();
  return describe(st);
}

// Whether the URL sets a filter of the folded part: any but the search, the
// navigation's default kind (Components) and the default page size.
function moreFiltersSet(st) {
  return st.limit !== 50 || FILTERS.some((f) => f !== 'q' && st[f] &&
    !(f === 'kind' && st[f].toLowerCase() === 'component'));
}

function describe(st) {
  const parts = FILTERS.filter((f) => st[f]).map((f) => `${FIELDS[f].label.toLowerCase()} ${st[f]}`);
  return parts.length ? `Catalog: ${parts.join(', ')}` : 'Catalog';
}

// Sortable by every column within the page shown (the server pages by name).
function renderTable(items) {
  const headers = ['Name', 'Kind', 'Type', 'Owner', 'System', 'Lifecycle', 'Description'];
  return sortable(h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'Entities' },
    h('table', { class: 'data', id: 'entity-table' },
      h('caption', { class: 'visually-hidden' }, 'Entities matching the filters'),
      h('thead', null, h('tr', null, headers.map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', null, items.map((e) => {
        const cells = entityRow(e);
        return h('tr', null, h('th', { scope: 'row' }, cells[0]), cells.slice(1).map((c) => h('td', null, c)));
      })))));
}
