// panel.js — loads one part of a page on its own: shows progress, then the
// content, or a clear message when the data is unavailable, needs a token or
// failed. A failing panel never breaks the rest of the page.

import { ApiError, AuthCancelled, NotAvailable } from './api.js';
import { clear, h, notice } from './dom.js';

export function isAbort(e) {
  return e?.name === 'AbortError';
}

// Describes an error for a person; returns a node.
export function errorNotice(e, what = 'this data') {
  if (e instanceof NotAvailable) {
    return notice('unavailable', `${capitalise(what)}: not available on this server yet.`);
  }
  if (e instanceof AuthCancelled) {
    return h('div', { class: 'notice notice-auth' },
      h('p', null, `Reading ${what} needs an API token.`),
      h('button', { type: 'button', onclick: () => window.dispatchEvent(new CustomEvent('conway:rerender')) },
        'Sign in'));
  }
  if (e instanceof ApiError) {
    if (e.status === 404) return notice('empty', `${capitalise(what)}: not found.`);
    if (e.status === 403) return notice('error', `Your token may not read ${what}.`);
    return notice('error', `Could not load ${what}: ${e.message} (HTTP ${e.status}).`);
  }
  return notice('error', `Could not load ${what}: ${e?.message || e}.`);
}

function capitalise(t) {
  return t.charAt(0).toUpperCase() + t.slice(1);
}

// Runs produce() and puts its nodes into container. Returns the produced
// value's promise result or undefined on failure.
export async function loadInto(container, what, produce, { signal } = {}) {
  clear(container);
  container.setAttribute('aria-busy', 'true');
  container.append(notice('loading', `Loading ${what}…`));
  try {
    const nodes = await produce();
    if (signal?.aborted) return undefined;
    clear(container);
    const list = Array.isArray(nodes) ? nodes : [nodes];
    for (const n of list) if (n !== null && n !== undefined && n !== false) container.append(n);
    return nodes;
  } catch (e) {
    if (isAbort(e) || signal?.aborted) return undefined;
    clear(container);
    container.append(errorNotice(e, what));
    return undefined;
  } finally {
    container.removeAttribute('aria-busy');
  }
}
