// pages/insights.js — the insight pages: ownership findings (filterable),
// release coupling (pairs and release trains) and undeployed work. Filters
// are kept in the URL.

import { api, withQuery } from '../api.js';
import { clear, h, notice, section, table } from '../dom.js';
import { countFindings, findingsOf, findingsTable, severityBadge } from '../findings.js';
import { displayRef, fmtDuration, fmtNumber, fmtPercent, fmtTime, pick, pickArray, plural, refLink, refList } from '../format.js';
import { errorNotice, isAbort, loadInto } from '../panel.js';
import { sortable } from '../sort.js';

const PAIRS_PAGE = 100;

// ---- normalising answers ---------------------------------------------------

const refOf = (x) => (x && typeof x === 'object' && !x.name ? pick(x, 'ref', 'entityRef', 'component') : x);

export function undeployedItems(data) {
  return pickArray(data, 'items', 'components', 'undeployed').map((it) => {
    const changes = pickArray(it, 'changes', 'list', 'items');
    return {
      ref: refOf(pick(it, 'entityRef', 'component', 'ref', 'service')),
      count: pick(it, 'count', 'undeployed', 'changeCount') ?? changes.length,
      oldest: pick(it, 'oldestMergedAt', 'oldestMerge', 'oldestMergeTime', 'oldest'),
      age: pick(it, 'oldestAgeSeconds', 'ageSeconds', 'oldestAge', 'age'),
      owner: pick(it, 'owner', 'team'),
      changes,
    };
  }).sort((a, b) => (b.age ?? 0) - (a.age ?? 0));
}

export function couplingPairs(data) {
  return pickArray(data, 'pairs').map((p) => {
    const comps = pickArray(p, 'components');
    const a = refOf(pick(p, 'a', 'componentA', 'first', 'left') ?? comps[0]);
    const b = refOf(pick(p, 'b', 'componentB', 'second', 'right') ?? comps[1]);
    return {
      a, b,
      together: pick(p, 'together'),
      countA: pick(p, 'countA', 'deploymentsA', 'aCount', 'a.deployments', 'a.count'),
      countB: pick(p, 'countB', 'deploymentsB', 'bCount', 'b.deployments', 'b.count'),
      confidence: pick(p, 'confidence'),
      jaccard: pick(p, 'jaccard'),
      flagged: Boolean(pick(p, 'flagged')),
    };
  });
}

export function couplingTrains(data) {
  return pickArray(data, 'trains').map((t) => ({
    components: pickArray(t, 'components', 'members').map(refOf),
    teams: pickArray(t, 'teams', 'owners').map(refOf),
  }));
}

const TRAIN_SHOWN = 50;

// A long list of refs: the first TRAIN_SHOWN, the rest rendered only when
// asked for (a train of 2,000 services is 2,000 links).
function longRefList(refs, opts) {
  if (refs.length <= TRAIN_SHOWN) return refList(refs, opts);
  const rest = h('details', { class: 'more-refs' }, h('summary', null, `and ${fmtNumber(refs.length - TRAIN_SHOWN)} more`));
  rest.addEventListener('toggle', () => {
    if (rest.open && rest.childNodes.length === 1) rest.append(refList(refs.slice(TRAIN_SHOWN), opts));
  });
  return h('span', null, refList(refs.slice(0, TRAIN_SHOWN), opts), ' ', rest);
}

export function trainList(trains) {
  if (trains.length === 0) return notice('empty', 'No release trains: no group of services is always deployed together.');
  return h('ol', { class: 'trains' }, trains.map((t, i) => h('li', null,
    h('p', null, h('strong', null, `Train ${i + 1}: `), `${fmtNumber(t.components.length)} services released together`),
    h('p', null, 'Services: ', longRefList(t.components, { preferTeam: false })),
    h('p', null, 'Teams: ', t.teams.length ? longRefList(t.teams, {}) : '—'))));
}

// noData: no change has been sent at all, so "all deployed" is no verdict.
export function undeployedTable(items, { limit = Infinity, caption = 'Undeployed changes per service', noData = false } = {}) {
  if (items.length === 0 && noData) {
    return notice('empty', 'No merged changes are known yet: send change.merged and service.deployed CDEvents (docs/dora.md) to see what waits for production.');
  }
  if (items.length === 0) return notice('empty', 'Every merged change is in production.');
  const wrap = table(caption, ['Service', 'Team', 'Undeployed changes', 'Oldest merge', 'Waiting for'],
    items.slice(0, limit).map((it) => [refLink(it.ref, { preferTeam: false, defaultKind: 'component' }),
      it.owner ? refLink(it.owner, { defaultKind: 'group' }) : '—',
      fmtNumber(it.count), fmtTime(it.oldest), fmtDuration(it.age)]), { rowHeaders: true, id: 'undeployed' });
  // sortable, by the numbers behind the formatted cells
  const rows = wrap.querySelectorAll('tbody tr');
  items.slice(0, limit).forEach((it, i) => {
    const cells = rows[i]?.cells;
    if (!cells) return;
    cells[2].dataset.sort = String(it.count ?? '');
    cells[3].dataset.sort = it.oldest ? String(Date.parse(it.oldest)) : '';
    cells[4].dataset.sort = String(it.age ?? '');
  });
  return sortable(wrap);
}

// Whether no delivery event has been stored at all (then empty answers are
// no verdict).
export async function noDeliveryEvents(signal) {
  try {
    const page = await api.events({ limit: 1 }, { signal });
    return (page.items || []).length === 0;
  } catch (e) {
    if (isAbort(e)) throw e;
    return false;
  }
}

// Date pickers give days: from at its start, to through its end; an RFC 3339
// time in the address is passed on as it is.
const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;
export function dayWindow({ from, to }) {
  const out = {};
  if (from) out.from = DAY_RE.test(from) ? `${from}T00:00:00Z` : from;
  if (to) out.to = DAY_RE.test(to) ? new Date(Date.parse(`${to}T00:00:00Z`) + 86400000).toISOString().replace(/\.\d{3}Z$/, 'Z') : to;
  return out;
}

// ---- shared filter form ----------------------------------------------------

function filterForm(label, fields, values, onApply) {
  const form = h('form', { class: 'filters', 'aria-label': label },
    fields.map((f) => {
      const id = `f-${f.name}`;
      const control = f.options
        ? h('select', { id, name: f.name }, h('option', { value: '' }, 'Any'),
          f.options.map((o) => h('option', { value: o, selected: values[f.name] === o }, o)))
        : h('input', { id, name: f.name, type: f.type || 'text', value: values[f.name] ?? '', step: f.step, min: f.min, max: f.max, placeholder: f.placeholder });
      return h('div', { class: 'field' }, h('label', { for: id }, f.label), control);
    }),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary' }, 'Apply')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const next = {};
    for (const f of fields) next[f.name] = (form.elements[f.name].value || '').trim();
    onApply(next);
  });
  form.addEventListener('change', (e) => {
    if (e.target.tagName === 'SELECT') form.requestSubmit();
  });
  return form;
}

// ---- pages -----------------------------------------------------------------

const RULES = ['owner-missing', 'owner-is-user', 'team-without-members', 'no-accountable',
  'shared-resource-owner', 'team-overload', 'orphan-user', 'link-key-conflict', 'codeowners-mismatch'];

// Counts by severity and by rule, each linking to the filtered list.
export function findingsSummary(findings) {
  const c = countFindings(findings);
  const sevLink = (sev) => h('a', { href: withQuery('/insights/ownership', { severity: sev }), 'data-nav': '', class: 'metric-link' },
    h('span', { class: 'metric-value' }, fmtNumber(c.bySeverity.get(sev) || 0)), ' ', severityBadge(sev));
  return [
    h('div', { class: 'metrics metrics-small' },
      h('div', { class: 'metric' }, sevLink('error')),
      h('div', { class: 'metric' }, sevLink('warning'))),
    c.byRule.length ? h('ul', { class: 'rule-counts' }, c.byRule.map((r) => h('li', null,
      h('a', { href: withQuery('/insights/ownership', { rule: r.rule }), 'data-nav': '' }, h('code', null, String(r.rule))),
      `: ${fmtNumber(r.count)} (${r.severity})`))) : null,
  ];
}

async function ownership(main, ctx) {
  const values = { rule: ctx.query.get('rule') || '', severity: ctx.query.get('severity') || '', team: ctx.query.get('team') || '' };
  const body = h('div');
  main.append(h('h1', { tabindex: -1 }, 'Ownership findings'),
    h('p', { class: 'lead' }, 'The buck always stops somewhere: gaps in who owns and who is accountable for each service.'),
    filterForm('Filter findings', [
      { name: 'severity', label: 'Severity', options: ['error', 'warning'] },
      { name: 'rule', label: 'Rule', options: RULES.includes(values.rule) || !values.rule ? RULES : [...RULES, values.rule] },
      { name: 'team', label: 'Team', placeholder: 'group:default/payments' },
    ], values, (next) => ctx.navigate(withQuery('/insights/ownership', next))),
    body);
  await loadInto(body, 'ownership findings', async () => {
    const findings = findingsOf(await api.ownership(values, { signal: ctx.signal }));
    return [section('Summary', 'summary', findingsSummary(findings)),
      section('Findings', 'list', findingsTable(findings))];
  }, { signal: ctx.signal });
  return 'Ownership findings';
}

async function coupling(main, ctx) {
  const q = ctx.query;
  const values = {
    windowMinutes: q.get('windowMinutes') || '', minTogether: q.get('minTogether') || '',
    minConfidence: q.get('minConfidence') || '', from: q.get('from') || '', to: q.get('to') || '',
  };
  const trainsBox = h('div');
  const pairsBox = h('div');
  main.append(h('h1', { tabindex: -1 }, 'Release coupling'),
    h('p', { class: 'lead' }, 'Services that are always released together are a monolith creeping back in. Pairs over both thresholds are flagged and grouped into release trains.'),
    filterForm('Coupling thresholds', [
      { name: 'windowMinutes', label: 'Window (minutes)', type: 'number', min: 1, placeholder: '15' },
      { name: 'minTogether', label: 'Minimum releases together', type: 'number', min: 1, placeholder: '5' },
      { name: 'minConfidence', label: 'Minimum confidence (0–1)', type: 'number', min: 0, max: 1, step: 0.05, placeholder: '0.8' },
      { name: 'from', label: 'From (day)', type: 'date' },
      { name: 'to', label: 'To (day, included)', type: 'date' },
    ], values, (next) => ctx.navigate(withQuery('/insights/coupling', next))),
    section('Release trains', 'trains', trainsBox), section('Pairs', 'pairs', pairsBox));
  let data = null;
  await loadInto(trainsBox, 'release coupling', async () => {
    data = await api.coupling({ ...values, ...dayWindow(values), limit: PAIRS_PAGE }, { signal: ctx.signal });
    return trainList(couplingTrains(data));
  }, { signal: ctx.signal });
  clear(pairsBox);
  if (!data) {
    pairsBox.append(notice('empty', 'No pairs to show.'));
    return 'Release coupling';
  }
  // The server answers one page of pairs at a time, flagged first, then the
  // most confident: with thousands of services released together there are
  // millions of pairs, and the page never holds more than it shows.
  const first = couplingPairs(data);
  const total = data.totalPairs ?? first.length;
  const flagged = data.flaggedPairs ?? first.filter((p) => p.flagged).length;
  if (first.length === 0) {
    pairsBox.append(notice('empty', 'No two services were deployed together.'));
    return 'Release coupling';
  }
  const rowOf = (p) => h('tr', null, [refLink(p.a, { preferTeam: false }), refLink(p.b, { preferTeam: false }), fmtNumber(p.together),
    fmtNumber(p.countA), fmtNumber(p.countB), fmtPercent(p.confidence), fmtNumber(p.jaccard, 2),
    p.flagged ? h('strong', { class: 'flag' }, 'Yes') : 'No'].map((c) => h('td', null, c)));
  const shownTable = table('Pairs of services deployed together',
    ['Service A', 'Service B', 'Together', 'Deploys A', 'Deploys B', 'Confidence', 'Jaccard', 'Flagged'], [], { id: 'pairs-table' });
  const tbody = shownTable.querySelector('tbody');
  const status = h('p', { class: 'result-count', role: 'status' });
  const more = h('button', { type: 'button' }, `Show ${fmtNumber(PAIRS_PAGE)} more pairs`);
  let shown = 0;
  let cursor = null;
  const show = (page) => {
    const pairs = couplingPairs(page);
    tbody.append(...pairs.map(rowOf));
    shown += pairs.length;
    cursor = page.nextCursor || null;
    more.hidden = !cursor;
    more.disabled = false;
    status.textContent = `${fmtNumber(total)} pairs were deployed together at least once; ${fmtNumber(flagged)} flagged.` +
      (shown < total ? ` Showing the first ${fmtNumber(shown)}.` : '');
  };
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      show(await api.coupling({ ...values, ...dayWindow(values), limit: PAIRS_PAGE, cursor }, { signal: ctx.signal }));
    } catch (e) {
      if (isAbort(e)) return;
      more.replaceWith(errorNotice(e, 'more pairs'));
    }
  });
  show(data);
  pairsBox.append(status, shownTable, more);
  return 'Release coupling';
}

async function undeployed(main, ctx) {
  const values = { scope: ctx.query.get('scope') || '' };
  const box = h('div');
  main.append(h('h1', { tabindex: -1 }, 'Undeployed work'),
    h('p', { class: 'lead' }, 'Merged changes that are not in production yet: value that users do not have.'),
    filterForm('Scope', [
      { name: 'scope', label: 'Scope (entity ref)', placeholder: 'group:default/payments' },
    ], values, (next) => ctx.navigate(withQuery('/insights/undeployed', next))),
    section('Undeployed changes', 'undeployed-list', box));
  await loadInto(box, 'undeployed work', async () => {
    const items = undeployedItems(await api.undeployed(values, { signal: ctx.signal }));
    const noData = items.length === 0 && await noDeliveryEvents(ctx.signal);
    const out = [undeployedTable(items, { noData })];
    const withChanges = items.filter((it) => it.changes.length);
    if (withChanges.length) {
      out.push(h('h3', null, 'Changes waiting, per service'));
      out.push(...withChanges.slice(0, 50).map((it) => h('details', { class: 'changes' },
        h('summary', null, `${it.ref ? displayRef(it.ref) : '?'}: ${plural(it.count ?? it.changes.length, 'change')} waiting${it.changes.length < (it.count ?? 0) ? ` (first ${it.changes.length} listed)` : ''}`),
        h('ul', null, it.changes.map((c) => h('li', null,
          typeof c === 'object'
            ? `${String(pick(c, 'id', 'changeId', 'subjectId') ?? '')} merged ${fmtTime(pick(c, 'mergedAt', 'merged', 'time'))}`
            : String(c)))))));
    }
    return out;
  }, { signal: ctx.signal });
  return 'Undeployed work';
}

export async function render(main, ctx) {
  if (ctx.params.view === 'ownership') return ownership(main, ctx);
  if (ctx.params.view === 'coupling') return coupling(main, ctx);
  return undeployed(main, ctx);
}

