// graph.js — the server-drawn dependency graph (GET /api/v1/graph?format=svg)
// in the page. The SVG text is parsed inertly (DOMParser, never innerHTML)
// and rebuilt element by element into the document from an allow-list of
// SVG shapes and presentation attributes: no script, no style, no event
// handler, no foreign object can come through, and the only links kept are
// the app's own entity paths. Nodes carry data-ref so that findings can be
// highlighted on them.

import { h, s } from './dom.js';

const ELEMENTS = new Set(['svg', 'g', 'title', 'polygon', 'polyline', 'path', 'ellipse', 'circle',
  'rect', 'line', 'text', 'a']);
const ATTRS = new Set(['id', 'class', 'transform', 'points', 'd', 'cx', 'cy', 'rx', 'ry', 'r', 'x', 'y',
  'x1', 'y1', 'x2', 'y2', 'width', 'height', 'viewBox', 'fill', 'stroke', 'stroke-width',
  'stroke-dasharray', 'stroke-opacity', 'fill-opacity', 'font-family', 'font-size', 'font-weight',
  'font-style', 'text-anchor']);
const XLINK = 'http://www.w3.org/1999/xlink';
// /entity/<kind>/<namespace>/<name>, each part percent-encoded by the server.
const ENTITY_PATH = /^\/entity\/[a-z0-9%._-]+\/[A-Za-z0-9%._-]+\/[A-Za-z0-9%._-]+\/?$/;

function safeValue(v) {
  // Presentation attributes never need these; url(...) or expressions would.
  return !/[<>]|url\s*\(|javascript:|expression\s*\(/i.test(v);
}

function copyAttrs(from, to) {
  for (const a of from.attributes) {
    const name = a.localName;
    if (a.namespaceURI && a.namespaceURI !== XLINK) continue;
    if (a.namespaceURI === XLINK) continue; // links are handled by the caller
    if (!ATTRS.has(name) || !safeValue(a.value)) continue;
    to.setAttribute(name, a.value);
  }
}

function rebuild(node) {
  if (node.nodeType === Node.TEXT_NODE) return document.createTextNode(node.nodeValue);
  if (node.nodeType !== Node.ELEMENT_NODE || node.namespaceURI !== 'http://www.w3.org/2000/svg') return null;
  const tag = node.localName;
  if (!ELEMENTS.has(tag)) return null;
  // Graphviz's own names of nodes and edges ("n12", "n1->n2") mean nothing
  // to a reader; the link titles carry the entity refs instead.
  if (tag === 'title' && /\b(node|edge|cluster|graph)\b/.test(node.parentNode?.getAttribute?.('class') || '')) return null;
  let el;
  if (tag === 'a') {
    const href = node.getAttributeNS(XLINK, 'href') || node.getAttribute('href') || '';
    const label = node.getAttributeNS(XLINK, 'title') || node.getAttribute('title') || '';
    if (ENTITY_PATH.test(href)) {
      el = s('a', { href, 'data-nav': '' });
      if (label) el.setAttribute('aria-label', label);
    } else {
      el = s('g');
    }
    if (label) el.append(s('title', null, label));
  } else {
    el = document.createElementNS('http://www.w3.org/2000/svg', tag);
    copyAttrs(node, el);
  }
  for (const child of node.childNodes) {
    const c = rebuild(child);
    if (c) el.append(c);
  }
  return el;
}

// The SVG document text as a live, inert <svg> element (or null).
export function sanitizeSvg(text) {
  const doc = new DOMParser().parseFromString(String(text), 'image/svg+xml');
  const root = doc.documentElement;
  if (!root || root.localName !== 'svg' || doc.querySelector('parsererror')) return null;
  const svg = rebuild(root);
  if (!svg) return null;
  // Scale to the container; the viewBox keeps the proportions.
  svg.removeAttribute('width');
  svg.removeAttribute('height');
  svg.setAttribute('class', 'dep-graph');
  svg.setAttribute('role', 'group');
  svg.setAttribute('focusable', 'false');
  // Each node: which entity it is (from its link's title), for highlighting.
  for (const g of svg.querySelectorAll('g.node')) {
    const a = g.querySelector('a[aria-label]');
    if (a) g.dataset.ref = a.getAttribute('aria-label').toLowerCase();
  }
  return svg;
}

// Marks the nodes of refs (lower-cased keys) and dims the others; an empty
// list clears the highlight.
export function highlight(svg, refs) {
  const keys = new Set(refs.map((r) => String(r).toLowerCase()));
  svg.classList.toggle('has-highlight', keys.size > 0);
  for (const g of svg.querySelectorAll('g.node')) g.classList.toggle('highlighted', keys.has(g.dataset.ref));
}

export function graphLegend() {
  const item = (cls, text) => h('li', null, h('span', { class: ['swatch', cls], 'aria-hidden': 'true' }), text);
  return h('ul', { class: 'legend graph-legend' },
    item('swatch-node-component', 'Component (box)'),
    item('swatch-node-resource', 'Resource (cylinder)'),
    item('swatch-node-api', 'API (ellipse)'),
    item('swatch-node-scope', 'In the scope (blue, thick border)'),
    item('swatch-node-error', 'Named by an error finding (red)'),
    item('swatch-node-warning', 'Named by a warning (amber)'),
    item('swatch-edge-cycle', 'Edge on a dependency cycle (red, thick)'),
    item('swatch-edge-writes', 'Writes to a datastore (bold)'),
    item('swatch-edge-structure', 'Provides an API or is part of (dashed)'));
}
