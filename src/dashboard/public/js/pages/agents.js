/** #/agents: the organisation's agents, with edit, delete and a link to create one. */
import { api } from '../api.js';
import { fmtTime, h, link, notice, replace, table } from '../dom.js';

export async function agentsPage(root, { signal }) {
  const list = h('div', { id: 'agents-list' });
  const more = h('button', { type: 'button', class: 'ghost', hidden: true }, 'Load more');
  replace(
    root,
    h('div', { class: 'page-head' }, h('h1', null, 'Agents'), h('span', { class: 'spacer' }), h('a', { class: 'button', href: '#/agents/new', id: 'new-agent' }, 'New agent')),
    h('section', { class: 'card' }, list, more),
  );
  let rows = [];
  let cursor = null;
  const draw = () => {
    replace(
      list,
      table(
        ['Name', 'Kind', 'Brain', 'Language', 'Voice', 'Updated', ''],
        rows.map((a) =>
          h(
            'tr',
            { dataset: { agentId: a.id } },
            h('td', null, link(`#/agents/${encodeURIComponent(a.id)}`, a.name)),
            h('td', null, a.kind),
            h('td', null, a.flow ? 'scripted flow' : a.llm ? `LLM: ${a.llm.provider}${a.llm.model ? ` ${a.llm.model}` : ''}` : 'default'),
            h('td', null, a.language),
            h('td', null, a.voice ?? a.tts?.voice ?? '–'),
            h('td', null, fmtTime(a.updated_at)),
            h(
              'td',
              { class: 'actions' },
              h('a', { class: 'button small', href: `#/agents/${encodeURIComponent(a.id)}` }, 'Edit / test call'),
              h('button', { type: 'button', class: 'danger small', onclick: () => remove(a) }, 'Delete'),
            ),
          ),
        ),
        'No agents yet: create one.',
      ),
    );
    more.hidden = cursor === null;
  };
  const load = async (append) => {
    const page = await api('GET', `/v1/agents?limit=50${append && cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, undefined, { signal });
    rows = append ? [...rows, ...page.data] : page.data;
    cursor = page.next_cursor;
    draw();
  };
  async function remove(a) {
    if (!confirm(`Delete agent "${a.name}"? Its queued calls are canceled; numbers using it lose their outbound agent.`)) return;
    try {
      await api('DELETE', `/v1/agents/${encodeURIComponent(a.id)}`, undefined, { signal });
      notice(`Deleted agent ${a.name}`);
      await load(false);
    } catch (err) {
      notice(`${err.message} (${err.code ?? 'error'})`, 'error');
    }
  }
  more.addEventListener('click', () => load(true).catch(() => {}));
  await load(false);
}
