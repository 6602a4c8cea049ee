// app.js — the web UI's entry point: History API routing (the server answers
// every non-API path with index.html), link interception, page rendering with
// cancellation of the previous page's requests, and the sign-out control.

import { allowPrompt, getToken, setToken } from './api.js';
import { announce, clear, h, notice } from './dom.js';
import * as architecture from './pages/architecture.js';
import * as catalog from './pages/catalog.js';
import * as entity from './pages/entity.js';
import * as graph from './pages/graph.js';
import * as heartbeats from './pages/heartbeats.js';
import * as incidents from './pages/incidents.js';
import * as initiatives from './pages/initiatives.js';
import * as insights from './pages/insights.js';
import * as overview from './pages/overview.js';
import * as scorecards from './pages/scorecards.js';
import * as strategy from './pages/strategy.js';
import * as team from './pages/team.js';

const ROUTES = [
  { re: /^\/$/, page: overview, section: 'overview' },
  { re: /^\/(?:index\.html)?$/, page: overview, section: 'overview' },
  { re: /^\/catalog\/?$/, page: catalog, section: 'catalog' },
  { re: /^\/entity\/([^/]+)\/([^/]+)\/([^/]+)\/?$/, page: entity, section: 'catalog', names: ['kind', 'namespace', 'name'] },
  { re: /^\/team\/([^/]+)\/([^/]+)\/?$/, page: team, section: 'catalog', names: ['namespace', 'name'] },
  { re: /^\/insights\/(ownership|coupling|undeployed)\/?$/, page: insights, names: ['view'] },
  { re: /^\/insights\/architecture\/?$/, page: architecture, section: 'architecture' },
  { re: /^\/graph\/([^/]+)\/([^/]+)\/([^/]+)\/?$/, page: graph, section: 'architecture', names: ['kind', 'namespace', 'name'] },
  { re: /^\/incidents\/?$/, page: incidents, section: 'incidents' },
  { re: /^\/incidents\/(\d+)\/?$/, page: incidents, section: 'incidents', names: ['id'] },
  { re: /^\/strategy\/?$/, page: strategy, section: 'strategy' },
  { re: /^\/scorecards\/?$/, page: scorecards, section: 'scorecards' },
  { re: /^\/scorecards\/([^/]+)\/?$/, page: scorecards, section: 'scorecards', names: ['name'] },
  { re: /^\/initiatives\/?$/, page: initiatives, section: 'scorecards' },
  { re: /^\/initiatives\/([^/]+)\/?$/, page: initiatives, section: 'scorecards', names: ['name'] },
  { re: /^\/heartbeats\/?$/, page: heartbeats, section: 'heartbeats' },
  { re: /^\/heartbeats\/([^/]+)\/([^/]+)\/?$/, page: heartbeats, section: 'heartbeats', names: ['namespace', 'name'] },
];

let controller = null;
let firstRender = true;
let renderedAt = null; // path + query of the page on screen

function match(pathname) {
  for (const r of ROUTES) {
    const m = r.re.exec(pathname);
    if (!m) continue;
    const params = {};
    (r.names || []).forEach((n, i) => {
      try {
        params[n] = decodeURIComponent(m[i + 1]);
      } catch {
        params[n] = m[i + 1];
      }
    });
    return { ...r, params, section: r.section || params.view };
  }
  return null;
}

function markNav(section) {
  for (const a of document.querySelectorAll('.site-header nav a')) {
    if (a.dataset.section === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

export function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  render();
}

// Changes the address without rendering again (pages that update in place).
export function setUrl(url, { replace = false } = {}) {
  const current = location.pathname + location.search;
  if (url === current) return;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  renderedAt = location.pathname + location.search;
}

async function render() {
  if (controller) controller.abort();
  controller = new AbortController();
  const { signal } = controller;
  const main = document.getElementById('main');
  renderedAt = location.pathname + location.search;
  allowPrompt();
  const route = match(location.pathname);
  clear(main);
  markNav(route?.section);
  let title = 'Page not found';
  if (!route) {
    main.append(h('h1', { tabindex: -1 }, title),
      notice('empty', 'There is no page at this address.'),
      h('p', null, h('a', { href: '/', 'data-nav': '' }, 'Go to the overview')));
  } else {
    const ctx = {
      params: route.params,
      query: new URLSearchParams(location.search),
      signal,
      navigate,
      setUrl,
      setTitle: (t) => {
        document.title = `${t} — conway`;
      },
    };
    try {
      title = (await route.page.render(main, ctx)) || 'conway';
    } catch (e) {
      if (signal.aborted || e?.name === 'AbortError') return;
      clear(main);
      title = 'Something went wrong';
      main.append(h('h1', { tabindex: -1 }, title), notice('error', String(e?.message || e)));
    }
    if (signal.aborted) return;
  }
  document.title = `${title} — conway`;
  if (!firstRender) {
    const h1 = main.querySelector('h1');
    if (h1) {
      if (!h1.hasAttribute('tabindex')) h1.setAttribute('tabindex', '-1');
      h1.focus({ preventScroll: true });
    }
    announce(`${title} page loaded`);
  }
  firstRender = false;
}

function onClick(e) {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest?.('a');
  if (!a || a.hasAttribute('download')) return;
  const target = a.getAttribute('target');
  if (target && target !== '_self') return;
  const href = a.getAttribute('href');
  if (!href || href.startsWith('#')) return;
  const url = new URL(href, location.href);
  if (url.origin !== location.origin) return;
  if (url.pathname.startsWith('/api/') || /\.(json|svg|css|js)$/.test(url.pathname)) return;
  e.preventDefault();
  const dest = url.pathname + url.search;
  if (dest === location.pathname + location.search) {
    render();
    return;
  }
  navigate(dest);
  window.scrollTo(0, 0);
}

function syncSignOut() {
  const btn = document.getElementById('sign-out');
  if (btn) btn.hidden = !getToken();
}

function start() {
  document.addEventListener('click', onClick);
  // A fragment link (the skip link) also fires popstate: keep the page.
  window.addEventListener('popstate', () => {
    if (location.pathname + location.search !== renderedAt) render();
  });
  window.addEventListener('conway:rerender', () => render());
  document.addEventListener('conway:token', syncSignOut);
  document.getElementById('sign-out')?.addEventListener('click', () => {
    setToken(null);
    announce('Token forgotten');
    render();
  });
  syncSignOut();
  render();
}

start();
