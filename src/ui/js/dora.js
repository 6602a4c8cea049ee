// dora.js — the delivery metrics block shared by the overview, entity and team
// pages: four DORA figures with their performance levels, and the charts.

import { api } from './api.js';
import { changeFailureChart, deploymentsChart, leadTimeChart, timeToRestoreChart } from './charts.js';
import { h } from './dom.js';
import { fmtDuration, fmtNumber, fmtPercent, windowDays } from './format.js';
import { loadInto } from './panel.js';

const LEVEL_TEXT = { elite: 'Elite', high: 'High', medium: 'Medium', low: 'Low' };

export function levelBadge(level) {
  if (!level) return h('span', { class: 'level level-none' }, 'No level');
  const key = String(level).toLowerCase();
  return h('span', { class: ['level', `level-${LEVEL_TEXT[key] ? key : 'none'}`] },
    `${LEVEL_TEXT[key] || level} performer`);
}

function tile(label, value, sub, level) {
  return h('div', { class: 'metric' },
    h('p', { class: 'metric-label' }, label),
    h('p', { class: 'metric-value' }, value),
    sub ? h('p', { class: 'metric-sub' }, sub) : null,
    level !== undefined ? levelBadge(level) : null);
}

export function doraTiles(d) {
  const lvl = d.level || {};
  return h('div', { class: 'metrics' },
    tile('Deployment frequency', `${fmtNumber(d.deploymentFrequencyPerDay, 2)} / day`,
      `${fmtNumber(d.deployments)} deployments on ${fmtNumber(d.deploymentDays)} days`, lvl.deploymentFrequency),
    tile('Lead time for changes (p50)', fmtDuration(d.leadTimeSeconds?.p50),
      `p90 ${fmtDuration(d.leadTimeSeconds?.p90)} · ${fmtNumber(d.leadTimeSeconds?.count ?? 0)} changes`, lvl.leadTime),
    tile('Change failure rate', fmtPercent(d.changeFailureRate),
      `${fmtNumber(d.failedDeployments ?? 0)} failed deployments`, lvl.changeFailureRate),
    tile('Time to restore (p50)', fmtDuration(d.timeToRestoreSeconds?.p50),
      `p90 ${fmtDuration(d.timeToRestoreSeconds?.p90)} · ${fmtNumber(d.openIncidents ?? 0)} open incidents`,
      lvl.timeToRestore));
}

export function doraCharts(d) {
  return h('div', { class: 'charts' },
    deploymentsChart(d.daily, { from: d.from, to: d.to }),
    leadTimeChart(d),
    changeFailureChart(d),
    timeToRestoreChart(d));
}

// Fills container with the metrics of scope over the last `days` days.
export function loadDora(container, scope, { signal, days = 90, charts = true } = {}) {
  return loadInto(container, 'delivery metrics', async () => {
    const win = windowDays(days);
    const d = await api.dora({ scope, from: win.from, to: win.to }, { signal });
    const period = h('p', { class: 'period' },
      `Last ${days} days (${d.from?.slice(0, 10) ?? win.from.slice(0, 10)} to ${d.to?.slice(0, 10) ?? win.to.slice(0, 10)}).`);
    return [period, doraTiles(d), charts ? doraCharts(d) : null];
  }, { signal });
}
