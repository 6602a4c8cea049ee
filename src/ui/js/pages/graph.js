// pages/graph.js — the dependency graph of a system, domain, team, component,
// resource or API (/graph/{kind}/{namespace}/{name}?depth=N): the drawing the
// server makes with Graphviz, a link on every node, the architecture findings
// that name the graph's nodes (each can be highlighted on the drawing), and
// the same nodes and edges as tables for readers who cannot use the drawing.

import { api, ApiError, withQuery } from '../api.js';
import { appLink, clear, h, notice, section, table } from '../dom.js';
import { severityBadge } from '../findings.js';
import { displayRef, fmtNumber, refLink, refList, refString } from '../format.js';
import { graphLegend, highlight, sanitizeSvg } from '../graph.js';
import { errorNotice, loadInto } from '../panel.js';

const KINDS = new Set(['system', 'domain', 'group', 'component', 'resource', 'api', 'user']);
const DEPTHS = ['0', '1', '2', '3'];

export function graphPath(ref, depth) {
  const r = typeof ref === 'string' ? ref : refString(ref);
  const m = /^([^:]+):([^/]+)\/(.+)$/.exec(r);
  if (!m) return null;
  const path = `/graph/${encodeURIComponent(m[1].toLowerCase())}/${encodeURIComponent(m[2])}/${encodeURIComponent(m[3])}`;
  return depth === undefined ? path : withQuery(path, { depth });
}

function findingRow(f, svgBox) {
  const entities = Array.isArray(f.entities) ? f.entities : [];
  const button = h('button', { type: 'button', class: 'toggle-button', 'aria-pressed': 'false' }, 'Show on the graph');
  button.addEventListener('click', () => {
    const svg = svgBox.querySelector('svg.dep-graph');
    if (!svg) return;
    const on = button.getAttribute('aria-pressed') !== 'true';
    for (const b of document.querySelectorAll('.finding-highlight [aria-pressed="true"]')) b.setAttribute('aria-pressed', 'false');
    button.setAttribute('aria-pressed', on ? 'true' : 'false');
    highlight(svg, on ? [f.entityRef, ...entities] : []);
  });
  return [
    f.silenced ? h('span', { class: 'severity severity-silenced' }, 'Silenced') : severityBadge(f.severity),
    h('code', { class: 'nowrap' }, String(f.rule ?? '')),
    f.entityRef ? refLink(f.entityRef, { kind: true, preferTeam: false }) : '—',
    h('span', { class: 'break' }, String(f.detail ?? ''),
      f.silenced ? h('span', { class: 'muted' }, ` Silenced: ${String(f.silenced.reason ?? '')}`) : null),
    h('span', { class: 'finding-highlight' }, button),
  ];
}

function nodesTable(nodes) {
  return table('Nodes of the graph', ['Entity', 'Kind', 'Owner', 'System', 'Lifecycle', 'Finding'], nodes.map((n) => [
    n.exists === false ? h('span', { class: 'muted' }, `${displayRef(n.ref, { kind: true })} (not in the catalog)`)
      : refLink(n.ref, { kind: true, preferTeam: false }),
    String(n.kind ?? ''),
    n.owner ? refLink(n.owner) : '—',
    n.system ? refLink(n.system) : '—',
    n.lifecycle ? String(n.lifecycle) : '—',
    n.finding ? severityBadge(n.finding) : '—',
  ]), { rowHeaders: true, id: 'graph-nodes' });
}

function edgesTable(edges) {
  const label = { dependsOn: 'depends on', consumesApi: 'consumes the API of', providesApi: 'provides', subcomponentOf: 'is part of' };
  return table('Edges of the graph', ['From', 'Relation', 'To', 'Notes'], edges.map((e) => [
    refLink(e.from, { kind: true, preferTeam: false }),
    label[e.type] || String(e.type ?? ''),
    refLink(e.to, { kind: true, preferTeam: false }),
    [e.api && e.api !== e.to ? `via ${displayRef(e.api, { kind: true })}` : null,
      e.writes ? 'writes' : null, e.cycle ? 'on a cycle' : null].filter(Boolean).join(', ') || '—',
  ]), { id: 'graph-edges' });
}

export async function render(main, ctx) {
  const { kind, namespace, name } = ctx.params;
  const kindLc = String(kind).toLowerCase();
  const ref = `${kindLc}:${namespace}/${name}`;
  if (!KINDS.has(kindLc)) {
    main.append(h('h1', { tabindex: -1 }, 'No graph'),
      notice('empty', `A graph is drawn for a system, domain, team, component, resource or API, not a ${kind}.`));
    return 'No graph';
  }
  const depth = DEPTHS.includes(ctx.query.get('depth')) ? ctx.query.get('depth') : '1';
  const drawing = h('div', { class: 'graph-drawing' });
  const findingsBox = h('div');
  const tablesBox = h('div');
  const depthSelect = h('select', { id: 'graph-depth', name: 'depth' },
    DEPTHS.map((d) => h('option', { value: d, selected: d === depth }, d === '0' ? '0 (the scope only)' : `${d}`)));
  depthSelect.addEventListener('change', () => ctx.navigate(graphPath(ref, depthSelect.value)));
  main.append(
    h('header', { class: 'page-header' },
      h('h1', { tabindex: -1 }, `Dependency graph: ${name}`),
      h('p', { class: 'subtitle' }, refLink(ref, { kind: true, preferTeam: kindLc === 'group' }),
        ` · everything within ${depth} step${depth === '1' ? '' : 's'} of it`)),
    h('form', { class: 'filters', 'aria-label': 'Graph options' },
      h('div', { class: 'field' }, h('label', { for: 'graph-depth' }, 'Depth (steps from the scope)'), depthSelect)),
    section('Graph', 'graph', drawing, graphLegend()),
    section('Architecture findings in this graph', 'graph-findings', findingsBox),
    section('Nodes and edges', 'graph-tables', tablesBox));

  let data = null;
  const jsonLoaded = loadInto(tablesBox, 'the graph', async () => {
    data = await api.graph({ scope: ref, depth }, { signal: ctx.signal });
    const nodes = Array.isArray(data?.nodes) ? data.nodes : [];
    const edges = Array.isArray(data?.edges) ? data.edges : [];
    return [h('p', { class: 'result-count' }, `${fmtNumber(nodes.length)} nodes, ${fmtNumber(edges.length)} edges.`),
      h('details', null, h('summary', null, 'Nodes as a table'), nodesTable(nodes)),
      h('details', null, h('summary', null, 'Edges as a table'), edgesTable(edges))];
  }, { signal: ctx.signal });

  const drawn = (async () => {
    clear(drawing);
    drawing.setAttribute('aria-busy', 'true');
    drawing.append(notice('loading', 'Drawing the graph…'));
    try {
      const text = await api.graphSvg({ scope: ref, depth }, { signal: ctx.signal });
      const svg = sanitizeSvg(text);
      clear(drawing);
      if (!svg) {
        drawing.append(notice('error', 'The drawing could not be read.'));
        return;
      }
      svg.setAttribute('aria-label', `Dependency graph of ${ref}, depth ${depth}. Every node links to its entity page.`);
      drawing.append(h('div', { class: 'graph-scroll', tabindex: 0, role: 'region', 'aria-label': 'Dependency graph (scrollable)' }, svg));
    } catch (e) {
      if (ctx.signal.aborted) return;
      clear(drawing);
      if (e instanceof ApiError && (e.status === 413 || e.status === 501)) {
        drawing.append(notice('empty', `${e.message} The nodes and edges are listed below.`));
      } else {
        drawing.append(errorNotice(e, 'the drawing'));
      }
    } finally {
      drawing.removeAttribute('aria-busy');
    }
  })();

  await jsonLoaded;
  clear(findingsBox);
  if (data) {
    const findings = Array.isArray(data.findings) ? data.findings : [];
    findingsBox.append(findings.length
      ? table('Architecture findings naming nodes of this graph', ['Severity', 'Rule', 'Subject', 'Detail', 'Highlight'],
        findings.map((f) => findingRow(f, drawing)), { id: 'graph-findings-table' })
      : notice('empty', 'No architecture finding names a node of this graph.'),
    h('p', null, appLink('/insights/architecture', 'All architecture findings')));
    const teams = [...new Set((data.nodes || []).filter((n) => n.scope && n.owner).map((n) => n.owner))];
    if (teams.length && kindLc !== 'group') findingsBox.append(h('p', null, 'Owners in the scope: ', refList(teams)));
  } else {
    findingsBox.append(notice('empty', 'No findings to show.'));
  }
  await drawn;
  return `Dependency graph: ${name}`;
}
