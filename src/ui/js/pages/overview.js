// pages/overview.js — organisation health on one screen: counts by kind,
// ownership and architecture findings by severity, the trend of all findings
// over 90 days, DORA summary with 90-day charts, release trains and the
// oldest undeployed changes. Each panel loads on its own.

import { api, NotAvailable } from '../api.js';
import { findingsTrendChart } from '../charts.js';
import { appLink, h, section } from '../dom.js';
import { loadDora } from '../dora.js';
import { findingsOf } from '../findings.js';
import { fmtNumber } from '../format.js';
import { loadInto } from '../panel.js';
import { architectureSummary } from './architecture.js';
import { catalogUrl } from './catalog.js';
import { couplingTrains, findingsSummary, noDeliveryEvents, trainList, undeployedItems, undeployedTable } from './insights.js';

const KINDS = ['Component', 'API', 'Resource', 'System', 'Domain', 'Group', 'User'];

async function kindCounts(signal) {
  try {
    const res = await api.facets(['kind'], { signal });
    const list = res?.facets?.kind;
    if (Array.isArray(list)) return list.map((x) => ({ kind: String(x.value), count: x.count }));
  } catch (e) {
    if (!(e instanceof NotAvailable)) throw e;
  }
  // Without facets: one tiny page per kind, reading totalItems.
  return Promise.all(KINDS.map(async (kind) => {
    const page = await api.entities({ kind, limit: 1 }, { signal });
    return { kind, count: page.totalItems ?? 0 };
  }));
}

function countTiles(counts) {
  const order = (k) => {
    const i = KINDS.findIndex((x) => x.toLowerCase() === k.toLowerCase());
    return i < 0 ? KINDS.length : i;
  };
  const sorted = counts.filter((c) => c.count > 0).sort((a, b) => order(a.kind) - order(b.kind) || a.kind.localeCompare(b.kind));
  return h('ul', { class: 'kind-counts' }, sorted.map((c) => h('li', null,
    h('a', { href: catalogUrl({ kind: c.kind }), 'data-nav': '', class: 'metric-link' },
      h('span', { class: 'metric-value' }, fmtNumber(c.count)), h('span', { class: 'metric-label' }, c.kind)))));
}

// An empty organisation: what to send first, and no verdicts.
function firstRun() {
  const code = (t) => h('pre', { class: 'snippet' }, h('code', null, t));
  return h('section', { class: 'panel first-run', id: 'first-run', 'aria-labelledby': 'first-run-h' },
    h('h2', { id: 'first-run-h' }, 'Nothing here yet: start with your catalog'),
    h('p', null, 'This conway holds no entities, so there is nothing to rate. Three steps get you a catalog with delivery metrics:'),
    h('ol', null,
      h('li', null, h('strong', null, 'Import your catalog'), ' — Backstage-format YAML (Components, Systems, Groups, Users):',
        code('conway import --db conway.db ./catalog/\n# or, against a running server:\ncurl -X POST -H "Authorization: Bearer $TOKEN" \\\n  -H "Content-Type: application/yaml" --data-binary @catalog-info.yaml \\\n  http://localhost:7700/api/v1/import')),
      h('li', null, h('strong', null, 'Send delivery events'), ' — CDEvents from your pipelines (a deployment, a merged change, an incident):',
        code('curl -X POST -H "Authorization: Bearer $TOKEN" \\\n  -H "Content-Type: application/json" --data @service-deployed.json \\\n  http://localhost:7700/api/v1/events')),
      h('li', null, h('strong', null, 'Read the metrics'), ' — this overview, each service\'s page, or ',
        h('code', null, 'GET /api/v1/insights/dora?scope=org'), '.')),
    h('p', null, 'Tokens come from ', h('code', null, 'conway token create --role editor'),
      '. The README walks through a first run; docs/catalog.md and docs/dora.md describe what to send; the API is described in ',
      h('a', { href: '/api/v1/openapi.json' }, '/api/v1/openapi.json'), '.'));
}

async function isEmptyOrganisation(signal) {
  try {
    const page = await api.entities({ limit: 1 }, { signal });
    return (page.totalItems ?? (page.items || []).length) === 0;
  } catch {
    return false; // the panels say what failed
  }
}

export async function render(main, ctx) {
  const { signal } = ctx;
  if (await isEmptyOrganisation(signal)) {
    main.append(h('h1', { tabindex: -1 }, 'Organisation overview'), firstRun());
    return 'Overview';
  }
  const kinds = h('div');
  const findings = h('div');
  const dora = h('div');
  const arch = h('div');
  const trend = h('div');
  const trains = h('div');
  const undeployed = h('div');
  main.append(
    h('h1', { tabindex: -1 }, 'Organisation overview'),
    h('p', { class: 'lead' }, 'Strategy, feedback and responsibilities at a glance.'),
    h('div', { class: 'two-col' },
      section('Catalog', 'catalog-counts', kinds),
      section('Ownership findings', 'ownership-summary', findings)),
    h('div', { class: 'two-col' },
      section('Architecture findings', 'architecture-summary', arch),
      section('Findings trend, last 90 days', 'findings-trend', trend)),
    section('Delivery performance', 'org-delivery', dora),
    h('div', { class: 'two-col' },
      section('Release trains', 'release-trains', trains),
      section('Oldest undeployed changes', 'oldest-undeployed', undeployed)));

  await Promise.all([
    loadInto(kinds, 'entity counts', async () => countTiles(await kindCounts(signal)), { signal }),
    loadInto(findings, 'ownership findings', async () => [
      ...findingsSummary(findingsOf(await api.ownership({}, { signal }))),
      h('p', null, appLink('/insights/ownership', 'All ownership findings')),
    ], { signal }),
    loadDora(dora, 'org', { signal }),
    loadInto(arch, 'architecture findings', async () => [
      ...architectureSummary(await api.architecture({}, { signal })),
      h('p', null, appLink('/insights/architecture', 'All architecture findings')),
    ], { signal }),
    loadInto(trend, 'the findings history', async () => {
      const hist = await api.history({}, { signal });
      return findingsTrendChart(hist?.days, { from: hist?.from, to: hist?.to });
    }, { signal }),
    loadInto(trains, 'release coupling', async () => [
      trainList(couplingTrains(await api.coupling({}, { signal }))),
      h('p', null, appLink('/insights/coupling', 'All coupled pairs')),
    ], { signal }),
    loadInto(undeployed, 'undeployed work', async () => {
      const items = undeployedItems(await api.undeployed({}, { signal }));
      const noData = items.length === 0 && await noDeliveryEvents(signal);
      return [undeployedTable(items, { limit: 5, caption: 'The five services waiting longest', noData }),
      h('p', null, appLink('/insights/undeployed', 'All undeployed work'))];
    }, { signal }),
  ]);
  return 'Overview';
}
