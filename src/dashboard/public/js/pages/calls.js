/** #/calls: the organisation's calls, filtered by status, agent or destination, refreshed live. */
import { api, query } from '../api.js';
import { badge, fmtDuration, fmtTime, h, link, replace, STATUSES, table } from '../dom.js';
import { onSubmit, showError } from '../forms.js';

const REFRESH_MS = 3000;

export async function callsPage(root, { query: q, signal, navigate }) {
  const filters = { status: q.get('status') ?? '', agent_id: q.get('agent_id') ?? '', to: q.get('to') ?? '' };
  const agents = await api('GET', '/v1/agents?limit=200', undefined, { signal });
  const agentName = new Map(agents.data.map((a) => [a.id, a.name]));

  const status = h('select', { name: 'status', id: 'filter-status', dataset: { param: 'status' } }, h('option', { value: '' }, 'any status'), STATUSES.map((s) => h('option', { value: s, selected: s === filters.status }, s)));
  const agent = h('select', { name: 'agent_id', id: 'filter-agent', dataset: { param: 'agent_id' } }, h('option', { value: '' }, 'any agent'), agents.data.map((a) => h('option', { value: a.id, selected: a.id === filters.agent_id }, a.name)));
  const to = h('input', { name: 'to', id: 'filter-to', placeholder: '+14155550123', value: filters.to, dataset: { param: 'to' } });
  const live = h('input', { type: 'checkbox', id: 'live', checked: true });
  const form = h(
    'form',
    { class: 'filters' },
    h('label', null, 'Status ', status),
    h('label', null, 'Agent ', agent),
    h('label', null, 'To ', to),
    h('button', { type: 'submit' }, 'Filter'),
    h('label', { class: 'live-toggle' }, live, ' live'),
  );
  const list = h('div', { id: 'calls-list' });
  const more = h('button', { type: 'button', class: 'ghost', id: 'calls-more', hidden: true }, 'Load more');
  replace(root, h('div', { class: 'page-head' }, h('h1', null, 'Calls')), form, h('section', { class: 'card' }, list, more));

  let rows = [];
  let cursor = null;
  const params = () => ({ status: filters.status, agent_id: filters.agent_id, to: filters.to });

  const draw = () => {
    replace(
      list,
      table(
        ['Call', 'Status', 'To', 'From', 'Agent', 'Created', 'Duration', 'End reason'],
        rows.map((c) =>
          h(
            'tr',
            { dataset: { callId: c.id } },
            h('td', null, link(`#/calls/${encodeURIComponent(c.id)}`, h('code', null, c.id))),
            h('td', null, badge(c.status)),
            h('td', null, c.to),
            h('td', null, c.from),
            h('td', null, agentName.get(c.agent_id) ?? c.agent_id),
            h('td', null, fmtTime(c.created_at)),
            h('td', null, fmtDuration(c.duration_s)),
            h('td', null, c.end_reason ?? ''),
          ),
        ),
        'No calls match.',
      ),
    );
    more.hidden = cursor === null;
  };

  // A refresh re-reads as many calls as are shown, so paging further is not undone.
  const load = async (append) => {
    const limit = append ? 50 : Math.min(200, Math.max(50, rows.length));
    const page = await api('GET', `/v1/calls${query({ ...params(), limit, cursor: append ? cursor : undefined })}`, undefined, { signal });
    rows = append ? [...rows, ...page.data] : page.data;
    cursor = page.next_cursor;
    draw();
  };

  onSubmit(form, async () => {
    filters.status = status.value;
    filters.agent_id = agent.value;
    filters.to = to.value.trim();
    navigate(`#/calls${query(params())}`);
  });
  more.addEventListener('click', () => load(true).catch((err) => showError(form, err)));
  // A filter the API refuses (say, a malformed destination) is shown beside its field.
  await load(false).catch((err) => showError(form, err));

  let timer;
  const tick = () => {
    timer = setTimeout(async () => {
      if (live.checked && document.visibilityState === 'visible') await load(false).catch(() => {});
      if (!signal.aborted) tick();
    }, REFRESH_MS);
  };
  tick();
  signal.addEventListener('abort', () => clearTimeout(timer));
}
