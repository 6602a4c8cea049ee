// findings.js — ownership findings (rule, severity, entity, detail) as a table
// and as counts, shared by the overview, team and ownership pages.

import { h, notice, table } from './dom.js';
import { pickArray, refLink } from './format.js';

export function findingsOf(data) {
  return pickArray(data, 'findings', 'items');
}

export function severityBadge(sev) {
  const s = String(sev || '').toLowerCase();
  const text = s === 'error' ? 'Error' : s === 'warning' ? 'Warning' : (sev || 'Info');
  // The symbol repeats the word's meaning for people who cannot tell the colours apart.
  const symbol = s === 'error' ? '✖' : s === 'warning' ? '▲' : '●';
  return h('span', { class: ['severity', `severity-${s || 'info'}`] },
    h('span', { 'aria-hidden': 'true' }, `${symbol} `), text);
}

export function findingsTable(findings, { caption = 'Ownership findings', limit = 1000 } = {}) {
  if (findings.length === 0) return notice('empty', 'No findings: every rule passes.');
  const shown = findings.slice(0, limit);
  const withOwner = shown.some((f) => f.owner);
  const t = table(caption, ['Severity', 'Rule', 'Entity', ...(withOwner ? ['Owner'] : []), 'Detail'], shown.map((f) => [
    severityBadge(f.severity),
    h('code', { class: 'nowrap' }, String(f.rule ?? '')),
    f.entityRef ? refLink(f.entityRef, { kind: true, preferTeam: false }) : '—',
    ...(withOwner ? [f.owner ? refLink(f.owner) : '—'] : []),
    h('span', { class: 'break' }, String(f.detail ?? '')),
  ]), { id: 'findings' });
  if (findings.length > limit) {
    return [t, notice('empty', `Showing the first ${limit} of ${findings.length} findings; filter to narrow them down.`)];
  }
  return t;
}

// {error: n, warning: n}, and per rule.
export function countFindings(findings) {
  const bySeverity = new Map();
  const byRule = new Map();
  for (const f of findings) {
    const sev = String(f.severity || 'info').toLowerCase();
    bySeverity.set(sev, (bySeverity.get(sev) || 0) + 1);
    const key = `${sev}\u0000${f.rule}`;
    byRule.set(key, (byRule.get(key) || 0) + 1);
  }
  return {
    bySeverity,
    byRule: [...byRule.entries()].map(([k, n]) => {
      const [severity, rule] = k.split('\u0000');
      return { severity, rule, count: n };
    }).sort((a, b) => (a.severity === b.severity ? b.count - a.count : a.severity === 'error' ? -1 : 1)),
  };
}
