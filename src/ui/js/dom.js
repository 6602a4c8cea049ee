// dom.js — safe DOM building. Everything that comes from the API becomes text
// nodes or attribute values set one by one; no HTML string is ever parsed.
// Only http(s) URLs from entity data become links; app links are root paths.

const SVG_NS = 'http://www.w3.org/2000/svg';
const URL_ATTRS = new Set(['href', 'src', 'action', 'formaction', 'xlink:href']);

// True for absolute http: and https: URLs, the only external links we create.
export function isHttpUrl(value) {
  if (typeof value !== 'string') return false;
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

// An in-app path such as "/entity/component/default/x" (not "//host").
function isAppPath(value) {
  return typeof value === 'string' && value.startsWith('/') && !value.startsWith('//');
}

function setAttrs(el, attrs) {
  if (!attrs) return;
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) {
      if (typeof value !== 'function') throw new TypeError(`${key}: handlers must be functions`);
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === 'class') {
      el.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    } else if (key === 'dataset') {
      for (const [k, v] of Object.entries(value)) el.dataset[k] = String(v);
    } else if (key === 'style') {
      throw new TypeError('style: use classes (the UI keeps styles in app.css)');
    } else {
      const v = value === true ? '' : String(value);
      if (URL_ATTRS.has(key.toLowerCase()) && !isAppPath(v) && !isHttpUrl(v) && !v.startsWith('#')) {
        throw new TypeError(`${key}: refusing a URL that is neither an app path nor http(s)`);
      }
      el.setAttribute(key, v);
    }
  }
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

// h('a', {href: '/catalog', class: 'x'}, 'text', otherNode, [more]) -> element.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

// Same as h() for SVG elements.
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// A link inside the app; the router intercepts it.
export function appLink(path, text, attrs = {}) {
  return h('a', { ...attrs, href: path, 'data-nav': true }, text);
}

// A link from entity data: clickable only for http(s), otherwise plain text.
export function externalLink(url, text) {
  const label = text || url;
  if (isHttpUrl(url)) {
    return h('a', { href: url, rel: 'noopener noreferrer nofollow', target: '_blank' },
      label, h('span', { class: 'visually-hidden' }, ' (opens in a new tab)'));
  }
  return h('span', { class: 'unsafe-link', title: 'Not a web link, shown as text' },
    label === url ? String(url) : `${label} (${url})`);
}

// A message box used by panels: loading, empty, unavailable, error.
export function notice(kind, text) {
  return h('p', { class: ['notice', `notice-${kind}`] }, text);
}

export function section(title, id, ...children) {
  const headingId = `${id}-title`;
  return h('section', { class: 'panel', id, 'aria-labelledby': headingId },
    h('h2', { id: headingId }, title), ...children);
}

// Definition list from [term, value] pairs; values may be nodes or text.
export function dl(pairs, cls = 'facts') {
  const list = h('dl', { class: cls });
  for (const [term, value] of pairs) {
    if (value === undefined || value === null || value === '') continue;
    list.append(h('dt', null, term), h('dd', null, value));
  }
  return list;
}

// A table with a caption; rows are arrays of cells (text or nodes).
export function table(caption, headers, rows, opts = {}) {
  const thead = h('thead', null, h('tr', null, headers.map((x) => h('th', { scope: 'col' }, x))));
  const tbody = h('tbody', null, rows.map((cells) =>
    h('tr', null, cells.map((c, i) => (i === 0 && opts.rowHeaders
      ? h('th', { scope: 'row' }, c) : h('td', null, c))))));
  const t = h('table', { class: ['data', opts.class] },
    h('caption', { class: opts.captionVisible ? '' : 'visually-hidden' }, caption), thead, tbody);
  // Focusable so that keyboard users can scroll a wide table on a narrow screen.
  return h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': caption,
    ...(opts.id ? { id: opts.id } : {}) }, t);
}

export function announce(text) {
  const el = document.getElementById('announcer');
  if (el) el.textContent = text;
}
