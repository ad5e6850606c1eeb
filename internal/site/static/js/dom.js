// dom.js: builds elements without innerHTML, so that no value from the
// API is ever parsed as markup.

// h makes an element: h('td', {className: 'x'}, 'text', child, ...).
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'className' || k === 'textContent' || k === 'hidden' || k === 'disabled' || k === 'value' || k === 'type') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

// table makes a table from a header row and rows of cells.
export function table(caption, headers, rows) {
  return h('div', { className: 'table-wrap' }, h('table', {},
    caption ? h('caption', { className: 'visually-hidden' }, caption) : null,
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c)))))));
}

// when says a time as a local date-time and how long ago, or '–'.
export function when(t) {
  if (!t) return '–';
  const d = new Date(t);
  if (isNaN(d) || d.getFullYear() < 2000) return '–';
  const s = Math.round((Date.now() - d) / 1000);
  const abs = Math.abs(s);
  const rel = abs < 90 ? `${abs} s` : abs < 5400 ? `${Math.round(abs / 60)} min` : abs < 172800 ? `${(abs / 3600).toFixed(1)} h` : `${Math.round(abs / 86400)} d`;
  return `${d.toLocaleString()} (${s >= 0 ? rel + ' ago' : 'in ' + rel})`;
}

export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1048576).toFixed(1)} MiB`;
}

export function status(kind, text) {
  return h('div', { className: 'status' + (kind ? ' ' + kind : ''), role: kind === 'bad' ? 'alert' : 'status' }, text);
}
