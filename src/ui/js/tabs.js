// tabs.js — turns the sections of a rendered page into tabs (the WAI-ARIA
// tabs pattern: arrow keys, Home and End move between tabs, the panel
// follows). Sections are moved, not rebuilt, so panels that are still
// loading keep filling in. A section no tab names stays in the first tab, so
// a page that grows a section shows it without knowing the tabs.

// tabs: [{id, label, sections: [section element ids]}]; the chosen tab is
// kept in the address (?tab=id) through setUrl. Returns the tab list.
export function tabify(main, tabs, { selected, onSelect } = {}) {
  const named = new Set(tabs.flatMap((t) => t.sections));
  const all = [...main.querySelectorAll(':scope > section, :scope > .two-col')];
  const first = all[0];
  if (!first) return null;
  const list = document.createElement('div');
  list.className = 'tabs';
  list.setAttribute('role', 'tablist');
  list.setAttribute('aria-label', 'Sections of this page');
  const buttons = [];
  const panels = [];
  for (const t of tabs) {
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.id = `tab-${t.id}`;
    btn.className = 'tab';
    btn.setAttribute('role', 'tab');
    btn.setAttribute('aria-controls', `panel-${t.id}`);
    btn.textContent = t.label;
    const panel = document.createElement('div');
    panel.id = `panel-${t.id}`;
    panel.className = 'tab-panel';
    panel.setAttribute('role', 'tabpanel');
    panel.setAttribute('aria-labelledby', btn.id);
    panel.tabIndex = 0;
    buttons.push(btn);
    panels.push(panel);
    list.append(btn);
  }
  const holds = (el, ids) => ids.includes(el.id) || [...el.querySelectorAll(':scope > section')].some((s) => ids.includes(s.id));
  for (const el of all) {
    const k = tabs.findIndex((t) => holds(el, t.sections));
    if (k < 0 && ![...named].some((id) => holds(el, [id]))) panels[0].append(el);
    else if (k >= 0) panels[k].append(el);
  }
  main.append(list, ...panels);
  const select = (k, focus) => {
    buttons.forEach((b, i) => {
      b.setAttribute('aria-selected', String(i === k));
      b.tabIndex = i === k ? 0 : -1;
      panels[i].hidden = i !== k;
    });
    if (focus) buttons[k].focus();
    onSelect?.(tabs[k].id);
  };
  buttons.forEach((b, i) => {
    b.addEventListener('click', () => select(i, false));
    b.addEventListener('keydown', (e) => {
      const n = buttons.length;
      const to = { ArrowRight: (i + 1) % n, ArrowLeft: (i - 1 + n) % n, Home: 0, End: n - 1 }[e.key];
      if (to === undefined) return;
      e.preventDefault();
      select(to, true);
    });
  });
  const start = Math.max(0, tabs.findIndex((t) => t.id === selected));
  buttons.forEach((b, i) => b.setAttribute('aria-selected', String(i === start)));
  select(start, false);
  return list;
}
