// header.js — the header's own controls: the global search (names, titles
// and descriptions of every entity, teams included: it opens the catalog
// filtered by the text) and the colour theme toggle. The theme follows
// prefers-color-scheme until the toggle picks one, which is kept in this
// browser (localStorage).

const THEME_KEY = 'conway.theme';

function storedTheme() {
  try {
    const t = localStorage.getItem(THEME_KEY);
    return t === 'dark' || t === 'light' ? t : null;
  } catch {
    return null;
  }
}

function systemTheme() {
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

function applyTheme(theme) {
  if (theme) document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
  const btn = document.getElementById('theme-toggle');
  if (btn) {
    const dark = (theme || systemTheme()) === 'dark';
    btn.setAttribute('aria-pressed', String(dark));
    btn.textContent = dark ? 'Light theme' : 'Dark theme';
  }
}

export function startHeader({ navigate }) {
  applyTheme(storedTheme());
  document.getElementById('theme-toggle')?.addEventListener('click', () => {
    const next = (storedTheme() || systemTheme()) === 'dark' ? 'light' : 'dark';
    try {
      localStorage.setItem(THEME_KEY, next);
    } catch {
      // not kept: this page still switches
    }
    applyTheme(next);
  });
  window.matchMedia?.('(prefers-color-scheme: dark)').addEventListener?.('change', () => applyTheme(storedTheme()));
  const form = document.getElementById('global-search');
  form?.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = form.elements.q.value.trim();
    navigate(q ? `/catalog?q=${encodeURIComponent(q)}` : '/catalog');
    window.scrollTo(0, 0);
  });
}
