// sort.js — sortable table columns: each column header of a table becomes a
// button that sorts the body rows by that column (numbers by value when every
// cell of the column carries one, text otherwise), with aria-sort telling
// assistive technology the order. A cell's data-sort attribute, when set, is
// the value sorted by (a duration's seconds, a rate's fraction).

function cellValue(row, i) {
  const c = row.cells[i];
  if (!c) return '';
  return c.dataset.sort !== undefined ? c.dataset.sort : c.textContent.trim();
}

function compare(a, b, numeric) {
  if (numeric) {
    const x = a === '' ? Infinity : Number(a);
    const y = b === '' ? Infinity : Number(b);
    return x - y;
  }
  return a.localeCompare(b, undefined, { numeric: true, sensitivity: 'base' });
}

// Sorts table's first tbody by column i (dir 1 ascending, -1 descending).
export function sortBy(table, i, dir) {
  const tbody = table.tBodies[0];
  if (!tbody) return;
  const rows = [...tbody.rows];
  const values = rows.map((r) => cellValue(r, i));
  const numeric = values.every((v) => v === '' || v === '—' || (v.trim() !== '' && !Number.isNaN(Number(v))));
  const keyed = rows.map((r, k) => ({ r, v: values[k] === '—' ? '' : values[k], k }));
  keyed.sort((a, b) => {
    // empty cells last whatever the direction
    if ((a.v === '') !== (b.v === '')) return a.v === '' ? 1 : -1;
    return dir * compare(a.v, b.v, numeric) || a.k - b.k;
  });
  for (const { r } of keyed) tbody.append(r);
  table.querySelectorAll('thead th').forEach((th, k) => {
    if (k === i) th.setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending');
    else th.removeAttribute('aria-sort');
  });
}

// Makes every column of table (a <table>, or the wrapper dom.table returns)
// sortable; returns its argument.
export function sortable(el) {
  const table = el.tagName === 'TABLE' ? el : el.querySelector('table');
  if (!table || table.dataset.sortable) return el;
  table.dataset.sortable = 'true';
  table.querySelectorAll('thead th').forEach((th, i) => {
    const label = th.textContent;
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.className = 'sort';
    btn.textContent = label;
    btn.addEventListener('click', () => {
      const now = th.getAttribute('aria-sort');
      sortBy(table, i, now === 'ascending' ? -1 : 1);
    });
    th.textContent = '';
    th.append(btn);
  });
  return el;
}
