// dora.js — the delivery metrics block shared by the overview, entity and team
// pages: four DORA figures with their performance levels, and the charts, over
// one window chosen with one selector (7, 30 or 90 days, or dates) that every
// page shares: the choice is kept for the browser session.

import { api } from './api.js';
import { changeFailureChart, deploymentsChart, leadTimeChart, timeToRestoreChart } from './charts.js';
import { h } from './dom.js';
import { fmtDuration, fmtNumber, fmtPercent, plural, windowDays } from './format.js';
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
  // no deployments, no verdict: a level needs data to rate
  const lvl = d.deployments ? (d.level || {}) : {};
  return h('div', { class: 'metrics' },
    tile('Deployment frequency', `${fmtNumber(d.deploymentFrequencyPerDay, 2)} / day`,
      `${fmtNumber(d.deployments)} deployments on ${fmtNumber(d.deploymentDays)} days`, lvl.deploymentFrequency),
    tile('Lead time for changes (p50)', fmtDuration(d.leadTimeSeconds?.p50),
      `p90 ${fmtDuration(d.leadTimeSeconds?.p90)} · ${fmtNumber(d.leadTimeSeconds?.count ?? 0)} changes`, lvl.leadTime),
    tile('Change failure rate', fmtPercent(d.changeFailureRate),
      `${fmtNumber(d.failedDeployments ?? 0)} failed deployments`, lvl.changeFailureRate),
    tile('Time to restore (p50)', fmtDuration(d.timeToRestoreSeconds?.p50),
      `p90 ${fmtDuration(d.timeToRestoreSeconds?.p90)} · ${plural(d.openIncidents ?? 0, 'open incident')}`,
      lvl.timeToRestore));
}

export function doraCharts(d) {
  return h('div', { class: 'charts' },
    deploymentsChart(d.daily, { from: d.from, to: d.to }),
    leadTimeChart(d),
    changeFailureChart(d),
    timeToRestoreChart(d));
}

// ---- the shared window ------------------------------------------------------

const WINDOW_KEY = 'conway.doraWindow';
export const WINDOW_DAYS = [7, 30, 90];
const DAY = 86400000;

// {days} or {from, to} (YYYY-MM-DD, to inclusive); 30 days as the API.
export function getWindow() {
  try {
    const w = JSON.parse(sessionStorage.getItem(WINDOW_KEY) || 'null');
    if (w && WINDOW_DAYS.includes(w.days)) return { days: w.days };
    if (w && /^\d{4}-\d{2}-\d{2}$/.test(w.from) && /^\d{4}-\d{2}-\d{2}$/.test(w.to) && w.from <= w.to) return { from: w.from, to: w.to };
  } catch {
    // unreadable: the default
  }
  return { days: 30 };
}

export function setWindow(w) {
  try {
    sessionStorage.setItem(WINDOW_KEY, JSON.stringify(w));
  } catch {
    // storage refused: this page still follows the choice
  }
  window.dispatchEvent(new CustomEvent('conway:window', { detail: w }));
}

// The API window and a sentence describing it.
export function windowRange(w = getWindow()) {
  if (w.days) {
    const r = windowDays(w.days);
    return { ...r, text: `Last ${w.days} days (${r.from.slice(0, 10)} to ${r.to.slice(0, 10)})` };
  }
  const to = new Date(Date.parse(`${w.to}T00:00:00Z`) + DAY).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return { from: `${w.from}T00:00:00Z`, to, text: `${w.from} to ${w.to}` };
}

let selectorSeq = 0;

// The selector: 7/30/90 days as radio buttons, or two dates.
export function windowSelector() {
  const w = getWindow();
  const n = ++selectorSeq;
  const name = `window-${n}`;
  const radios = WINDOW_DAYS.map((days) => h('label', { class: 'window-choice' },
    h('input', { type: 'radio', name, value: String(days), checked: w.days === days }), ` ${days} days`));
  const today = new Date().toISOString().slice(0, 10);
  const from = h('input', { type: 'date', id: `window-from-${n}`, name: 'from', max: today, value: w.from || '' });
  const to = h('input', { type: 'date', id: `window-to-${n}`, name: 'to', max: today, value: w.to || '' });
  const apply = h('button', { type: 'submit' }, 'Show dates');
  const form = h('form', { class: 'window-selector', 'aria-label': 'Time window' },
    h('fieldset', null, h('legend', null, 'Window'), radios),
    h('div', { class: 'window-dates' },
      h('label', { for: from.id }, 'From'), from, h('label', { for: to.id }, 'To'), to, apply));
  form.addEventListener('change', (e) => {
    if (e.target.type === 'radio') setWindow({ days: Number(e.target.value) });
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (from.value && to.value && from.value <= to.value) setWindow({ from: from.value, to: to.value });
    else {
      to.setCustomValidity('Pick a start date on or before the end date.');
      to.reportValidity();
      to.setCustomValidity('');
    }
  });
  return form;
}

// Fills container with the metrics of scope over the shared window, and
// follows the window when any selector changes it.
export function loadDora(container, scope, { signal, charts = true, selector = true } = {}) {
  const box = h('div');
  container.replaceChildren(selector ? windowSelector() : '', box);
  const load = () => loadInto(box, 'delivery metrics', async () => {
    const win = windowRange();
    const d = await api.dora({ scope, from: win.from, to: win.to }, { signal });
    const period = h('p', { class: 'period' }, `${win.text}.`);
    if (!d.deployments && !(d.leadTimeSeconds?.count) && !(d.timeToRestoreSeconds?.count) && !d.openIncidents) {
      return [period, h('div', { class: 'notice notice-empty no-data' },
        h('p', null, 'No deployments, changes or incidents in this window: nothing to rate yet.'),
        h('p', null, 'Send CDEvents to ', h('code', null, 'POST /api/v1/events'),
          ' (or ', h('code', null, 'conway events import FILE'), '), e.g. a service.deployed event whose subject names the service; docs/dora.md tells which fields link an event to a component.'))];
    }
    return [period, doraTiles(d), charts ? doraCharts(d) : null];
  }, { signal });
  const follow = () => {
    if (signal?.aborted || !container.isConnected) {
      window.removeEventListener('conway:window', follow);
      return;
    }
    for (const f of container.querySelectorAll('.window-selector')) f.replaceWith(windowSelector());
    load();
  };
  window.addEventListener('conway:window', follow);
  signal?.addEventListener('abort', () => window.removeEventListener('conway:window', follow));
  return load();
}
