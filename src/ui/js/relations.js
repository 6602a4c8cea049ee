// relations.js — an entity's relations as grouped link lists and as a small
// SVG dependency diagram: what uses it on the left, what it uses on the right.

import { h, s } from './dom.js';
import { displayRef, parseRef, refLink, refPath, refString } from './format.js';

export const RELATION_LABELS = {
  ownedBy: 'Owned by',
  ownerOf: 'Owns',
  partOf: 'Part of',
  hasPart: 'Has part',
  dependsOn: 'Depends on',
  dependencyOf: 'Dependency of',
  providesApi: 'Provides API',
  apiProvidedBy: 'API provided by',
  consumesApi: 'Consumes API',
  apiConsumedBy: 'API consumed by',
  memberOf: 'Member of',
  hasMember: 'Has member',
  childOf: 'Child of',
  parentOf: 'Parent of',
};

const OUTGOING = { dependsOn: 'depends on', consumesApi: 'consumes API', providesApi: 'provides API' };
const INCOMING = { dependencyOf: 'is used by', apiConsumedBy: 'consumed by', apiProvidedBy: 'provided by' };
const MAX_PER_COLUMN = 10;

export function relationTarget(rel) {
  return parseRef(rel.target || rel.targetRef || '');
}

export function relationsOf(entity, type) {
  return (entity.relations || []).filter((r) => r.type === type).map(relationTarget);
}

// Definition list: relation type -> links.
export function relationList(entity) {
  const groups = new Map();
  for (const rel of entity.relations || []) {
    if (!groups.has(rel.type)) groups.set(rel.type, []);
    groups.get(rel.type).push(relationTarget(rel));
  }
  if (groups.size === 0) return h('p', { class: 'notice notice-empty' }, 'No relations.');
  const list = h('dl', { class: 'relations' });
  const order = Object.keys(RELATION_LABELS);
  const types = [...groups.keys()].sort((a, b) => (order.indexOf(a) + 99 * (order.indexOf(a) < 0)) -
    (order.indexOf(b) + 99 * (order.indexOf(b) < 0)));
  for (const type of types) {
    const targets = groups.get(type).sort((a, b) => refString(a).localeCompare(refString(b)));
    list.append(h('dt', null, RELATION_LABELS[type] || type),
      h('dd', null, h('ul', { class: 'inline-list' }, targets.map((t) => h('li', null, refLink(t, { kind: true }))))));
  }
  return list;
}

function short(text, n = 24) {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

let markerSeq = 0;

// The dependency diagram, or null when the entity has no such relations.
export function dependencyDiagram(entity) {
  const pickSide = (map) => (entity.relations || [])
    .filter((r) => map[r.type])
    .map((r) => ({ ref: relationTarget(r), label: map[r.type] }))
    .sort((a, b) => refString(a.ref).localeCompare(refString(b.ref)));
  const left = pickSide(INCOMING);
  const right = pickSide(OUTGOING);
  if (left.length === 0 && right.length === 0) return null;
  const NW = 220;
  const NH = 40;
  const GAP = 12;
  const TOP = 34;
  const SPAN = 100; // room for the edges between columns
  // Columns only for the sides that have nodes, so that narrow screens fit.
  const cols = { left: 8 };
  cols.mid = left.length ? cols.left + NW + SPAN : 8;
  cols.right = cols.mid + NW + SPAN;
  const W = (right.length ? cols.right : cols.mid) + NW + 8;
  const shown = (list) => list.slice(0, MAX_PER_COLUMN);
  const rows = Math.max(shown(left).length + (left.length > MAX_PER_COLUMN), shown(right).length + (right.length > MAX_PER_COLUMN), 1);
  const H = TOP + rows * (NH + GAP) + 8;
  const marker = `arrow-${++markerSeq}`;
  const selfRef = { kind: entity.kind, namespace: entity.metadata?.namespace || 'default', name: entity.metadata?.name };
  const svg = s('svg', {
    viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: 'diagram', role: 'group',
    'aria-label': `Dependency diagram of ${displayRef(selfRef)}: ${left.length} incoming, ${right.length} outgoing`,
  }, s('defs', null, s('marker', {
    id: marker, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse',
  }, s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }))));
  if (left.length) svg.append(s('text', { x: cols.left + NW / 2, y: 18, 'text-anchor': 'middle', class: 'column-title' }, 'Uses this'));
  if (right.length) svg.append(s('text', { x: cols.right + NW / 2, y: 18, 'text-anchor': 'middle', class: 'column-title' }, 'This uses'));
  const midY = TOP + ((rows - 1) * (NH + GAP)) / 2;
  const yOf = (i) => TOP + i * (NH + GAP);

  const node = (x, y, ref, label, cls) => {
    const text = displayRef(ref);
    const inner = [
      s('title', null, `${label ? `${label}: ` : ''}${refString(ref)}`),
      s('rect', { x, y, width: NW, height: NH, rx: 6, class: ['node', cls] }),
      s('text', { x: x + 10, y: y + 17, class: 'node-name' }, short(text)),
      s('text', { x: x + 10, y: y + 32, class: 'node-kind' }, `${ref.kind}${label ? ` · ${label}` : ''}`),
    ];
    if (cls === 'node-self' || !ref.name) return s('g', { class: 'node-group' }, inner);
    return s('a', { href: refPath(ref), 'data-nav': '', class: 'node-link' }, inner);
  };
  const edges = s('g', { class: 'edges' });
  const nodes = s('g', { class: 'nodes' });
  shown(left).forEach((n, i) => {
    const y = yOf(i);
    edges.append(s('path', {
      d: `M${cols.left + NW},${y + NH / 2} C${cols.mid - 30},${y + NH / 2} ${cols.left + NW + 30},${midY + NH / 2} ${cols.mid},${midY + NH / 2}`,
      class: 'edge edge-in', 'marker-end': `url(#${marker})`,
    }));
    nodes.append(node(cols.left, y, n.ref, n.label, 'node-in'));
  });
  shown(right).forEach((n, i) => {
    const y = yOf(i);
    edges.append(s('path', {
      d: `M${cols.mid + NW},${midY + NH / 2} C${cols.right - 30},${midY + NH / 2} ${cols.mid + NW + 30},${y + NH / 2} ${cols.right},${y + NH / 2}`,
      class: 'edge edge-out', 'marker-end': `url(#${marker})`,
    }));
    nodes.append(node(cols.right, y, n.ref, n.label, 'node-out'));
  });
  const more = (list, x) => {
    if (list.length <= MAX_PER_COLUMN) return;
    nodes.append(s('text', { x: x + NW / 2, y: yOf(MAX_PER_COLUMN) + NH / 2, 'text-anchor': 'middle', class: 'more' },
      `+${list.length - MAX_PER_COLUMN} more (see list)`));
  };
  more(left, cols.left);
  more(right, cols.right);
  nodes.append(node(cols.mid, midY, { ...parseRef(selfRef) }, '', 'node-self'));
  svg.append(edges, nodes);
  return h('figure', { class: 'diagram-figure' },
    h('figcaption', null, 'Dependencies: arrows point from the user to what it uses.'),
    h('div', { class: 'chart-scroll', tabindex: 0, role: 'region', 'aria-label': 'Dependency diagram (scrollable)' }, svg));
}
