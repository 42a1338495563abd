/**
 * The dashboard shell: login with an API key, hash routing (#/calls, #/calls/<id>, #/agents,
 * #/agents/<id>, #/numbers, #/keys), and page lifetimes: each page gets an AbortSignal that fires
 * when the user leaves it, which stops its streams, timers and requests.
 */
import { api, ApiError, session } from './api.js';
import { h, replace } from './dom.js';
import { clearErrors, onSubmit } from './forms.js';
import { agentEditPage } from './pages/agent-edit.js';
import { agentsPage } from './pages/agents.js';
import { apiKeysPage } from './pages/api-keys.js';
import { callDetailPage } from './pages/call-detail.js';
import { callsPage } from './pages/calls.js';
import { numbersPage } from './pages/numbers.js';

const view = document.getElementById('view');
const nav = document.getElementById('nav');
const logoutButton = document.getElementById('logout');

const routes = [
  [/^calls\/([^/]+)$/, 'calls', callDetailPage],
  [/^calls$/, 'calls', callsPage],
  [/^agents\/([^/]+)$/, 'agents', agentEditPage],
  [/^agents$/, 'agents', agentsPage],
  [/^numbers$/, 'numbers', numbersPage],
  [/^keys$/, 'keys', apiKeysPage],
];

let current;

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  return { path, query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)) };
}

export function navigate(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

function render() {
  current?.abort();
  current = new AbortController();
  const signal = current.signal;
  if (!session.key()) return renderLogin();
  nav.hidden = false;
  logoutButton.hidden = false;
  const { path, query } = parseHash();
  const match = routes.map(([re, section, page]) => ({ m: re.exec(path), section, page })).find((r) => r.m);
  if (!match) return navigate('#/calls');
  for (const a of nav.querySelectorAll('a')) a.classList.toggle('active', a.dataset.nav === match.section);
  const root = h('div', { class: 'page' });
  replace(view, root);
  const params = match.m.slice(1).map(decodeURIComponent);
  Promise.resolve(match.page(root, { params, query, signal, navigate })).catch((err) => {
    if (signal.aborted || err?.name === 'AbortError') return;
    root.prepend(h('div', { class: 'form-error', role: 'alert' }, err?.message ?? String(err), ' ', err?.code ? h('code', null, err.code) : null));
  });
}

function renderLogin(message) {
  nav.hidden = true;
  logoutButton.hidden = true;
  const input = h('input', { id: 'api-key', name: 'key', type: 'password', autocomplete: 'off', required: true, placeholder: 'oc_live_…', dataset: { param: 'key' } });
  const form = h(
    'form',
    { class: 'card login', id: 'login-form' },
    h('h1', null, 'Sign in'),
    h('p', null, 'Paste an API key of your organization. It is kept in this tab only (sessionStorage) and sent as a Bearer token.'),
    message ? h('div', { class: 'form-error', role: 'alert' }, message) : null,
    h('div', { class: 'field' }, h('label', { for: 'api-key' }, 'API key'), input),
    h('button', { type: 'submit' }, 'Sign in'),
  );
  onSubmit(form, async () => {
    session.set(input.value.trim());
    try {
      // Any authenticated read proves the key.
      await api('GET', '/v1/api-keys');
    } catch (err) {
      session.clear();
      // Shown beside the key field, whatever the API named.
      throw err instanceof ApiError ? new ApiError(err.status, err.code, err.message, 'key') : err;
    }
    clearErrors(form);
    if (!parseHash().path) location.hash = '#/calls';
    render();
  });
  replace(view, form);
  input.focus();
}

logoutButton.addEventListener('click', () => {
  session.clear();
  render();
});
window.addEventListener('outcall:unauthorized', (ev) => {
  // On the login form a refused key is shown beside the field instead.
  if (nav.hidden) return;
  session.clear();
  current?.abort();
  renderLogin(`Signed out: ${ev.detail?.message ?? 'the key is no longer valid'}`);
});
window.addEventListener('hashchange', render);
render();
