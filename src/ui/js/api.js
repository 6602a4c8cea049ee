// api.js — the only place that talks to the server: JSON GETs with the bearer
// token, the token prompt on 401, and which endpoints exist (from the server's
// OpenAPI document) so that pages never request an endpoint that is absent.

const TOKEN_KEY = 'conway.token';

export class ApiError extends Error {
  constructor(status, problem, path) {
    const detail = problem?.detail || problem?.title || `HTTP ${status}`;
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
    this.path = path;
  }
}

// The user closed the token prompt: panels show "sign-in required".
export class AuthCancelled extends Error {
  constructor() {
    super('A token is needed to read this data.');
    this.name = 'AuthCancelled';
  }
}

// The endpoint is not offered by this server (not in its OpenAPI document).
export class NotAvailable extends Error {
  constructor(path) {
    super('Not available on this server yet.');
    this.name = 'NotAvailable';
    this.path = path;
  }
}

export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage can be disabled; the token then lives for this page only.
  }
  memoryToken = token || null;
  document.dispatchEvent(new CustomEvent('conway:token'));
}

let memoryToken = null;

function currentToken() {
  return getToken() || memoryToken;
}

// ---- token prompt ----------------------------------------------------------

let pendingPrompt = null;
let declined = false; // the user closed the prompt during this page

// Called when a page starts rendering: a new page may ask again.
export function allowPrompt() {
  declined = false;
}

// Opens the token dialog once, however many requests are waiting for it.
function promptForToken(rejected) {
  if (pendingPrompt) return pendingPrompt;
  if (declined) return Promise.reject(new AuthCancelled());
  pendingPrompt = new Promise((resolve, reject) => {
    const dialog = document.getElementById('token-dialog');
    const form = document.getElementById('token-form');
    const input = document.getElementById('token-input');
    const error = document.getElementById('token-error');
    const cancel = document.getElementById('token-cancel');
    const opener = document.activeElement;
    error.hidden = !rejected;
    error.textContent = rejected ? 'That token was not accepted. Check it and try again.' : '';
    input.value = '';
    const done = (token) => {
      form.removeEventListener('submit', onSubmit);
      cancel.removeEventListener('click', onCancel);
      dialog.removeEventListener('cancel', onCancel);
      if (dialog.open) dialog.close();
      pendingPrompt = null;
      if (!token) declined = true;
      if (opener && typeof opener.focus === 'function' && document.contains(opener)) opener.focus();
      if (token) resolve(token);
      else reject(new AuthCancelled());
    };
    const onSubmit = (e) => {
      e.preventDefault();
      const token = input.value.trim();
      if (!token) {
        input.focus();
        return;
      }
      setToken(token);
      done(token);
    };
    const onCancel = (e) => {
      e.preventDefault();
      done(null);
    };
    form.addEventListener('submit', onSubmit);
    cancel.addEventListener('click', onCancel);
    dialog.addEventListener('cancel', onCancel);
    if (!dialog.open) dialog.showModal();
    input.focus();
  });
  return pendingPrompt;
}

// ---- requests --------------------------------------------------------------

async function readProblem(res) {
  try {
    const text = await res.text();
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

// GET path (with query already in it) and parse JSON. Throws ApiError for
// non-2xx answers and AuthCancelled when a token is needed but not given.
export async function getJSON(path, { signal } = {}) {
  let rejected = false;
  for (;;) {
    const headers = { Accept: 'application/json' };
    const token = currentToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    const res = await fetch(path, { headers, signal, credentials: 'same-origin' });
    if (res.status === 401) {
      await readProblem(res);
      if (token) {
        setToken(null);
        rejected = true;
      }
      await promptForToken(rejected);
      continue;
    }
    if (!res.ok) throw new ApiError(res.status, await readProblem(res), path);
    if (res.status === 204) return null;
    return res.json();
  }
}

// GET path as text of the media type accept (an SVG drawing), with the same
// token handling and errors as getJSON.
export async function getText(path, accept, { signal } = {}) {
  let rejected = false;
  for (;;) {
    const headers = { Accept: accept };
    const token = currentToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    const res = await fetch(path, { headers, signal, credentials: 'same-origin' });
    if (res.status === 401) {
      await readProblem(res);
      if (token) {
        setToken(null);
        rejected = true;
      }
      await promptForToken(rejected);
      continue;
    }
    if (!res.ok) throw new ApiError(res.status, await readProblem(res), path);
    return res.text();
  }
}

// Builds "/path?a=1&b=2", skipping empty values; arrays repeat the key.
export function withQuery(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else q.append(k, String(v));
  }
  const qs = q.toString();
  return qs ? `${path}?${qs}` : path;
}

// ---- what the server offers ------------------------------------------------

let specPaths;      // Set of normalised path templates, or null when unknown
let specLoading = null;

const norm = (p) => p.replace(/\{[^}]*\}/g, '{}').replace(/\/+$/, '');

function loadSpec() {
  if (specPaths !== undefined) return Promise.resolve();
  if (!specLoading) {
    specLoading = getJSON('/api/v1/openapi.json')
      .then((doc) => {
        specPaths = new Set(Object.keys(doc?.paths || {}).map(norm));
      })
      .catch((e) => {
        if (e instanceof AuthCancelled) throw e; // ask again on the next page
        specPaths = null; // no document: try endpoints and handle errors
      })
      .finally(() => {
        specLoading = null;
      });
  }
  return specLoading;
}

// Whether the server documents an endpoint, e.g. has('/api/v1/teams/{ns}/{name}').
export async function has(template) {
  await loadSpec();
  return specPaths === null || specPaths.has(norm(template));
}

// getJSON for an endpoint that may not exist yet: throws NotAvailable instead
// of requesting it. template is the documented path with {params}.
export async function getOptional(template, path, opts = {}) {
  if (!(await has(template))) throw new NotAvailable(template);
  try {
    return await getJSON(path, opts);
  } catch (e) {
    // Without an OpenAPI document a 404 is the only hint that a route is absent.
    if (e instanceof ApiError && (e.status === 404 || e.status === 501) && specPaths === null) {
      throw new NotAvailable(template);
    }
    throw e;
  }
}

// ---- endpoints -------------------------------------------------------------

const enc = encodeURIComponent;

export const api = {
  entities: (params, opts) => getJSON(withQuery('/api/v1/entities', params), opts),
  entity: (kind, ns, name, opts) =>
    getJSON(`/api/v1/entities/${enc(kind.toLowerCase())}/${enc(ns)}/${enc(name)}`, opts),
  facets: (facets, opts) => getOptional('/api/catalog/entity-facets',
    withQuery('/api/catalog/entity-facets', { facet: facets }), opts),
  dora: (params, opts) => getOptional('/api/v1/insights/dora',
    withQuery('/api/v1/insights/dora', params), opts),
  undeployed: (params, opts) => getOptional('/api/v1/insights/undeployed',
    withQuery('/api/v1/insights/undeployed', params), opts),
  coupling: (params, opts) => getOptional('/api/v1/insights/coupling',
    withQuery('/api/v1/insights/coupling', params), opts),
  ownership: (params, opts) => getOptional('/api/v1/insights/ownership',
    withQuery('/api/v1/insights/ownership', params), opts),
  architecture: (params, opts) => getOptional('/api/v1/insights/architecture',
    withQuery('/api/v1/insights/architecture', params), opts),
  history: (params, opts) => getOptional('/api/v1/insights/history',
    withQuery('/api/v1/insights/history', params), opts),
  graph: (params, opts) => getOptional('/api/v1/graph', withQuery('/api/v1/graph', params), opts),
  graphSvg: async (params, opts = {}) => {
    if (!(await has('/api/v1/graph'))) throw new NotAvailable('/api/v1/graph');
    return getText(withQuery('/api/v1/graph', { ...params, format: 'svg' }), 'image/svg+xml', opts);
  },
  events: (params, opts) => getOptional('/api/v1/events', withQuery('/api/v1/events', params), opts),
  team: (ns, name, opts) => getOptional('/api/v1/teams/{namespace}/{name}',
    `/api/v1/teams/${enc(ns)}/${enc(name)}`, opts),
  strategy: (params, opts) => getOptional('/api/v1/strategy', withQuery('/api/v1/strategy', params), opts),
  raci: (kind, ns, name, opts) => getOptional('/api/v1/raci/{kind}/{namespace}/{name}',
    `/api/v1/raci/${enc(kind.toLowerCase())}/${enc(ns)}/${enc(name)}`, opts),
  incidents: (params, opts) => getOptional('/api/v1/incidents', withQuery('/api/v1/incidents', params), opts),
  incident: (id, opts) => getOptional('/api/v1/incidents/{id}', `/api/v1/incidents/${enc(id)}`, opts),
  scorecards: (opts) => getOptional('/api/v1/scorecards', '/api/v1/scorecards', opts),
  scorecardResults: (name, params, opts) => getOptional('/api/v1/scorecards/{name}/results',
    withQuery(`/api/v1/scorecards/${enc(name)}/results`, params), opts),
  initiatives: (opts) => getOptional('/api/v1/initiatives', '/api/v1/initiatives', opts),
  initiative: (name, params, opts) => getOptional('/api/v1/initiatives/{name}',
    withQuery(`/api/v1/initiatives/${enc(name)}`, params), opts),
  heartbeats: (params, opts) => getOptional('/api/v1/heartbeats', withQuery('/api/v1/heartbeats', params), opts),
  heartbeat: (ns, name, params, opts) => getOptional('/api/v1/heartbeats/{namespace}/{name}',
    withQuery(`/api/v1/heartbeats/${enc(ns)}/${enc(name)}`, params), opts),
};
