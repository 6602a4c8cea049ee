// service.js — what a manager looks for first on a service's page: a status
// banner (open incidents, heartbeats down, findings about the service) and
// a summary (owner, who is accountable on call, the DORA tiles and the last
// deployments). Each part loads on its own; a part that fails says so.

import { api, getOptional, withQuery } from './api.js';
import { appLink, dl, h, notice, section, table } from './dom.js';
import { doraTiles, windowRange } from './dora.js';
import { findingsOf, findingsTable } from './findings.js';
import { fmtTime, pickArray, plural, refLink, refList } from './format.js';
import { loadInto } from './panel.js';

const ONCALL = 'incident-resolution';

// Heartbeats down and findings about ref, as one status line (incidents have
// their own banner, incidents.js).
// findingsBox, when given, lists the findings.
export async function statusBanner(box, ref, { signal, findingsBox } = {}) {
  const parts = [];
  const [hb, own] = await Promise.allSettled([
    fetchHeartbeats(ref, signal),
    api.ownership({}, { signal }),
  ]);
  if (signal?.aborted) return;
  const down = hb.status === 'fulfilled' ? hb.value.filter((b) => b.status === 'down') : [];
  if (down.length) {
    parts.push(h('span', { class: 'status-bad' }, h('strong', null, `${plural(down.length, 'heartbeat')} down: `),
      down.map((b) => String(b.name || b.entityRef || '')).join(', ')));
  }
  const mine = own.status === 'fulfilled'
    ? findingsOf(own.value).filter((f) => String(f.entityRef || '').toLowerCase() === ref.toLowerCase()) : [];
  if (mine.length) {
    const errors = mine.filter((f) => f.severity === 'error').length;
    parts.push(h('span', { class: errors ? 'status-bad' : 'status-warn' },
      appLink('#findings-of-service', `${plural(mine.length, 'finding')}${errors ? ` (${errors} error${errors === 1 ? '' : 's'})` : ''}`)));
  }
  box.replaceChildren(parts.length
    ? h('div', { class: 'status-banner', role: 'status' }, h('strong', null, 'Status: '), ...parts.flatMap((p, i) => (i ? [' · ', p] : [p])))
    : h('div', { class: 'status-banner status-ok', role: 'status' }, h('strong', null, 'Status: '),
      'no heartbeat down, no findings.'));
  if (findingsBox) {
    findingsBox.replaceChildren(own.status === 'fulfilled'
      ? (mine.length ? findingsTable(mine, { caption: 'Findings about this service' }) : notice('empty', 'No findings about this service.'))
      : notice('error', 'Could not load the findings.'));
  }
}

async function fetchHeartbeats(ref, signal) {
  try {
    const page = await getOptional('/api/v1/heartbeats', withQuery('/api/v1/heartbeats', { target: ref }), { signal });
    return pickArray(page, 'items');
  } catch {
    return [];
  }
}

// The summary section: owner, accountable on call, DORA tiles, last deployments.
export function summarySection(ref, owner, raciPromise, { signal } = {}) {
  const onCall = h('span', null, '…');
  const tiles = h('div');
  const deploys = h('div');
  raciPromise.then((rows) => {
    const r = (rows || []).find((x) => x.activity === ONCALL);
    onCall.replaceChildren(r?.accountable ? refList(r.accountable) : h('strong', { class: 'flag' }, 'Nobody accountable'),
      r?.responsible?.length ? h('span', { class: 'muted' }, ' (responsible: ', refList(r.responsible), ')') : '');
  }).catch(() => onCall.replaceChildren('—'));
  const load = () => {
    loadInto(tiles, 'delivery metrics', async () => {
      const win = windowRange();
      const d = await api.dora({ scope: ref, from: win.from, to: win.to }, { signal });
      if (!d.deployments && !d.openIncidents) return notice('empty', `No deployments in this window (${win.text}).`);
      return [h('p', { class: 'period' }, `${win.text}.`), doraTiles(d)];
    }, { signal });
  };
  load();
  const follow = () => (tiles.isConnected ? load() : window.removeEventListener('conway:window', follow));
  window.addEventListener('conway:window', follow);
  signal?.addEventListener('abort', () => window.removeEventListener('conway:window', follow));
  loadInto(deploys, 'the last deployments', async () => {
    const page = await api.events({ service: ref, type: 'service.deployed', limit: 5 }, { signal });
    const items = pickArray(page, 'items');
    if (!items.length) return notice('empty', 'No deployment recorded.');
    return table('The last deployments', ['Time', 'Environment', 'Artifact'], items.map((e) =>
      [h('time', { datetime: e.timestamp || '' }, fmtTime(e.timestamp)), String(e.environment || '—'),
        h('span', { class: 'break' }, String(e.artifactId || e.subjectId || '—'))]), { id: 'last-deployments' });
  }, { signal });
  return section('At a glance', 'summary',
    dl([
      ['Owner', owner ? refLink(owner) : h('strong', { class: 'flag' }, 'No owner')],
      ['Accountable on call', onCall],
    ]),
    h('h3', null, 'Delivery'), tiles,
    h('h3', null, 'Last deployments'), deploys);
}
