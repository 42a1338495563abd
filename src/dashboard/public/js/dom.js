/**
 * Building the page without markup strings: every value reaches the DOM as a text node or an
 * attribute set through the DOM API, never parsed as HTML, so data from the API cannot inject.
 */

/** h('a', { href, class, onclick }, 'text', child, [more]) -> element. */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = String(v);
    else if (k === 'checked' || k === 'selected' || k === 'disabled' || k === 'required' || k === 'hidden') el[k] = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, ...children);
  return el;
}

export function append(el, ...children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** Replaces an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, ...children);
}

export function fmtTime(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

/** 83_400 -> "1:23.4": a time within the call (ms since the answer). */
export function fmtOffset(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '–';
  const s = Math.max(0, ms) / 1000;
  const m = Math.floor(s / 60);
  return `${m}:${(s - m * 60).toFixed(1).padStart(4, '0')}`;
}

export function fmtMs(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '–';
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

export function fmtDuration(s) {
  if (typeof s !== 'number' || !Number.isFinite(s)) return '–';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m} m ${Math.round(s - m * 60)} s` : `${s.toFixed(1)} s`;
}

export const TERMINAL = ['completed', 'no_answer', 'busy', 'failed', 'canceled'];
export const STATUSES = ['queued', 'dispatching', 'dialing', 'ringing', 'in_progress', ...TERMINAL];

export function badge(status) {
  return h('span', { class: `badge status-${status}`, dataset: { status } }, String(status).replace('_', ' '));
}

export function link(hash, ...children) {
  return h('a', { href: hash }, ...children);
}

export function section(title, ...children) {
  return h('section', { class: 'card' }, h('h2', null, title), ...children);
}

/** A table with a header row; rows are arrays of cells (text or nodes). */
export function table(headers, rows, empty = 'Nothing here yet.') {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  return h(
    'table',
    null,
    h('thead', null, h('tr', null, headers.map((x) => h('th', null, x)))),
    h('tbody', null, rows.map((r) => (r instanceof Node ? r : h('tr', null, r.map((c) => h('td', null, c)))))),
  );
}

export function pre(value) {
  return h('pre', { class: 'json' }, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
}

/** A short-lived message above the page (kept outside the view, so it outlives a page change). */
export function notice(text, kind = 'ok') {
  const el = h('div', { class: `notice ${kind}`, role: 'status' }, text);
  document.getElementById('notices')?.append(el);
  setTimeout(() => el.remove(), 6000);
  return el;
}
