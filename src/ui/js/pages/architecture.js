// pages/architecture.js — the architecture findings (/insights/architecture):
// the monolith creeping back (dependency cycles, shared datastores, teams that
// do not match the services they own, release trains across teams, hot spots,
// deprecated dependencies), filterable in the URL, with the organisation's
// Conway congruence, each team's figures and a link from every finding to the
// graph that shows it. Also the overview's summary panel.

import { api, withQuery } from '../api.js';
import { appLink, h, notice, section, table } from '../dom.js';
import { severityBadge } from '../findings.js';
import { fmtNumber, fmtPercent, refLink, refList } from '../format.js';
import { loadInto } from '../panel.js';
import { graphPath } from './graph.js';

export const ARCH_RULES = ['cross-team-dependency', 'cross-team-release-train', 'dependency-cycle',
  'deprecated-dependency', 'fan-in', 'fan-out', 'shared-datastore', 'team-spread'];

function findingsOf(data) {
  return Array.isArray(data?.findings) ? data.findings : [];
}

function silencedBadge() {
  return h('span', { class: 'severity severity-silenced' }, h('span', { 'aria-hidden': 'true' }, '◌ '), 'Silenced');
}

// Where a finding is best seen: its subject's graph (a team's own graph).
function graphOf(f) {
  const ref = String(f.entityRef || '');
  if (!ref) return null;
  const depth = /^group:/i.test(ref) ? 0 : 1;
  const path = graphPath(ref, depth);
  return path ? appLink(path, 'Graph', { 'aria-label': `Graph of ${ref}` }) : null;
}

export function architectureTable(findings, { caption = 'Architecture findings' } = {}) {
  if (findings.length === 0) return notice('empty', 'No architecture findings: no cycle, no shared datastore, teams match their services.');
  return table(caption, ['Severity', 'Rule', 'Subject', 'Teams', 'Detail', 'Graph'], findings.map((f) => [
    f.silenced ? silencedBadge() : severityBadge(f.severity),
    h('code', { class: 'nowrap' }, String(f.rule ?? '')),
    f.entityRef ? refLink(f.entityRef, { kind: true }) : '—',
    refList(Array.isArray(f.teams) ? f.teams : []),
    h('span', { class: 'break' }, String(f.detail ?? ''),
      f.silenced ? h('span', { class: 'silenced-reason' }, ` Silenced: ${String(f.silenced.reason ?? '')}`) : null),
    graphOf(f) || '—',
  ]), { id: 'arch-findings' });
}

// Counts by severity (each linking to the filtered list) and the congruence.
export function architectureSummary(data) {
  const sum = data?.summary || {};
  const cong = data?.congruence;
  const link = (sev) => h('a', { href: withQuery('/insights/architecture', { severity: sev }), 'data-nav': '', class: 'metric-link' },
    h('span', { class: 'metric-value' }, fmtNumber(sum[sev] || 0)), ' ', severityBadge(sev));
  return [
    h('div', { class: 'metrics metrics-small' },
      h('div', { class: 'metric' }, link('error')),
      h('div', { class: 'metric' }, link('warning')),
      h('div', { class: 'metric' }, h('span', { class: 'metric-value' }, fmtNumber(sum.silenced || 0)), ' ', silencedBadge())),
    cong ? h('p', { class: 'congruence' }, 'Conway congruence: ', h('strong', null, fmtPercent(cong.congruence)),
      ` — ${fmtNumber(cong.crossTeamEdges)} of ${fmtNumber(cong.edges)} dependencies between components cross a team boundary.`) : null,
    sum.byRule && Object.keys(sum.byRule).length
      ? h('ul', { class: 'rule-counts' }, Object.entries(sum.byRule).map(([rule, n]) => h('li', null,
        h('a', { href: withQuery('/insights/architecture', { rule }), 'data-nav': '' }, h('code', null, rule)), `: ${fmtNumber(n)}`)))
      : null,
  ];
}

function teamsTable(cong) {
  const teams = Array.isArray(cong?.teams) ? cong.teams : [];
  if (teams.length === 0) return notice('empty', 'No team owns components with dependencies.');
  return table('Dependencies of each team', ['Team', 'Components', 'Dependencies', 'On other teams', 'Share', 'Systems', 'Domains', 'Graph'],
    teams.map((t) => [refLink(t.team), fmtNumber(t.components), fmtNumber(t.edges), fmtNumber(t.crossTeamEdges),
      fmtPercent(t.share), fmtNumber(t.systems), fmtNumber(t.domains),
      graphPath(t.team, 0) ? appLink(graphPath(t.team, 0), 'Graph', { 'aria-label': `Graph of ${t.team}` }) : '—']),
    { rowHeaders: true, id: 'arch-teams' });
}

function filterForm(values, onApply) {
  const sel = (name, label, options) => h('div', { class: 'field' }, h('label', { for: `af-${name}` }, label),
    h('select', { id: `af-${name}`, name }, h('option', { value: '' }, 'Any'),
      options.map((o) => h('option', { value: o, selected: values[name] === o }, o))));
  const form = h('form', { class: 'filters', 'aria-label': 'Filter findings' },
    sel('severity', 'Severity', ['error', 'warning']),
    sel('rule', 'Rule', ARCH_RULES),
    h('div', { class: 'field' }, h('label', { for: 'af-team' }, 'Team'),
      h('input', { id: 'af-team', name: 'team', value: values.team || '', placeholder: 'group:default/payments' })),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary' }, 'Apply')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    onApply({ severity: form.elements.severity.value, rule: form.elements.rule.value, team: form.elements.team.value.trim() });
  });
  form.addEventListener('change', (e) => {
    if (e.target.tagName === 'SELECT') form.requestSubmit();
  });
  return form;
}

export async function render(main, ctx) {
  const values = { severity: ctx.query.get('severity') || '', rule: ctx.query.get('rule') || '', team: ctx.query.get('team') || '' };
  const body = h('div');
  main.append(h('h1', { tabindex: -1 }, 'Architecture findings'),
    h('p', { class: 'lead' }, 'See the monolith creeping back: services joined at the database or released together, dependency tangles, and teams that do not match the services they own.'),
    filterForm(values, (next) => ctx.navigate(withQuery('/insights/architecture', next))),
    body);
  await loadInto(body, 'architecture findings', async () => {
    const data = await api.architecture(values, { signal: ctx.signal });
    return [section('Summary', 'arch-summary', architectureSummary(data)),
      section('Findings', 'arch-list', architectureTable(findingsOf(data))),
      section('Teams and the dependency graph', 'arch-teams-panel', teamsTable(data?.congruence))];
  }, { signal: ctx.signal });
  return 'Architecture findings';
}
