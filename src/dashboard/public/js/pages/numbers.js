/** #/numbers: SIP trunks and the phone numbers on them (list, create, delete). */
import { api } from '../api.js';
import { fmtTime, h, notice, replace, section, table } from '../dom.js';
import { field, onSubmit, readFields } from '../forms.js';

const TRUNK_FIELDS = [
  { name: 'name', label: 'Name', required: true },
  { name: 'host', label: 'Host', required: true, placeholder: 'sip.example.com', hint: 'host name or IP, no scheme or port' },
  { name: 'port', label: 'Port', type: 'number', step: '1', placeholder: '5060' },
  { name: 'transport', label: 'Transport', type: 'select', options: [['udp', 'UDP'], ['tcp', 'TCP'], ['tls', 'TLS']], default: 'udp' },
  { name: 'username', label: 'Username' },
  { name: 'password', label: 'Password', type: 'password', hint: 'stored encrypted, never shown again' },
  { name: 'default_caller_id', label: 'Default caller id', placeholder: '+14155550100' },
  { name: 'max_cps', label: 'Max calls per second', type: 'number' },
  { name: 'max_concurrent_calls', label: 'Max concurrent calls', type: 'number', step: '1' },
  {
    name: 'media_encryption',
    label: 'Media encryption',
    type: 'select',
    options: [['disabled', 'off (plain RTP)'], ['optional', 'SRTP when the other side takes it'], ['required', 'SRTP required']],
    default: 'disabled',
    hint: 'SRTP keys travel in the SIP body: use TLS to keep them secret',
  },
  { name: 'register', label: 'Register', type: 'checkbox', hint: 'keep a registration at the host, so its calls reach this server (needs a username)' },
];

/** A trunk's registration as one line: its state, and when it runs out or why it failed. */
function registrationText(t) {
  const r = t.registration;
  if (!r) return '–';
  if (r.state === 'registered') return `registered until ${fmtTime(r.expires_at)}`;
  if (r.state === 'failed') return `failed: ${r.last_error ?? 'unknown error'}`;
  return r.state;
}

export async function numbersPage(root, { signal }) {
  const get = (path) => api('GET', path, undefined, { signal });
  const trunksEl = h('div', { id: 'trunks-list' });
  const numbersEl = h('div', { id: 'numbers-list' });
  const trunkForm = h('form', { class: 'form-grid', id: 'trunk-form' }, TRUNK_FIELDS.map((s) => field(s)), h('div', { class: 'form-actions wide' }, h('button', { type: 'submit' }, 'Add trunk')));
  const numberFormHolder = h('div');
  replace(
    root,
    h('div', { class: 'page-head' }, h('h1', null, 'Trunks & numbers')),
    section('SIP trunks', trunksEl, h('h3', null, 'Add a trunk'), trunkForm),
    section('Phone numbers', numbersEl, h('h3', null, 'Add a number'), numberFormHolder),
  );

  let trunks = [];
  let agents = [];
  let numbers = [];

  const remove = async (path, what) => {
    if (!confirm(`Delete ${what}?`)) return;
    try {
      await api('DELETE', path, undefined, { signal });
      notice(`Deleted ${what}`);
      await load();
    } catch (err) {
      notice(`${err.message} (${err.code ?? 'error'})`, 'error');
    }
  };

  const numberSpecs = () => [
    { name: 'number', label: 'Number', required: true, placeholder: '+14155550100' },
    { name: 'trunk_id', label: 'Trunk', type: 'select', required: true, options: trunks.map((t) => [t.id, `${t.name} (${t.host}:${t.port})`]) },
    { name: 'outbound_agent_id', label: 'Outbound agent', type: 'select', options: [['', 'none'], ...agents.map((a) => [a.id, a.name])], empty: 'null' },
    { name: 'inbound_agent_id', label: 'Answered by', type: 'select', options: [['', 'nobody (calls in are refused 404)'], ...agents.map((a) => [a.id, a.name])], empty: 'null' },
  ];

  const draw = () => {
    const trunkName = new Map(trunks.map((t) => [t.id, t.name]));
    const agentName = new Map(agents.map((a) => [a.id, a.name]));
    replace(
      trunksEl,
      table(
        ['Name', 'Host', 'Transport', 'Auth', 'Registration', 'Caller id', 'Limits', 'Created', ''],
        trunks.map((t) =>
          h(
            'tr',
            { dataset: { trunkId: t.id } },
            h('td', null, t.name),
            h('td', null, `${t.host}:${t.port}`),
            h('td', null, t.media_encryption && t.media_encryption !== 'disabled' ? `${t.transport}, SRTP ${t.media_encryption}` : t.transport),
            h('td', null, t.username ? `${t.username}${t.has_password ? ' (password set)' : ''}` : 'none'),
            h('td', { class: t.registration?.state === 'failed' ? 'error' : undefined }, registrationText(t)),
            h('td', null, t.default_caller_id ?? '–'),
            h('td', null, [t.max_cps !== null ? `${t.max_cps}/s` : null, t.max_concurrent_calls !== null ? `${t.max_concurrent_calls} at once` : null].filter(Boolean).join(', ') || '–'),
            h('td', null, fmtTime(t.created_at)),
            h('td', null, h('button', { type: 'button', class: 'danger small', onclick: () => remove(`/v1/trunks/${encodeURIComponent(t.id)}`, `trunk ${t.name}`) }, 'Delete')),
          ),
        ),
        'No trunks yet.',
      ),
    );
    replace(
      numbersEl,
      table(
        ['Number', 'Trunk', 'Outbound agent', 'Answered by', 'Created', ''],
        numbers.map((n) =>
          h(
            'tr',
            { dataset: { numberId: n.id } },
            h('td', null, n.number),
            h('td', null, trunkName.get(n.trunk_id) ?? n.trunk_id),
            h('td', null, n.outbound_agent_id ? (agentName.get(n.outbound_agent_id) ?? n.outbound_agent_id) : '–'),
            h('td', null, n.inbound_agent_id ? (agentName.get(n.inbound_agent_id) ?? n.inbound_agent_id) : '–'),
            h('td', null, fmtTime(n.created_at)),
            h('td', null, h('button', { type: 'button', class: 'danger small', onclick: () => remove(`/v1/phone-numbers/${encodeURIComponent(n.id)}`, `number ${n.number}`) }, 'Delete')),
          ),
        ),
        'No numbers yet.',
      ),
    );
    // Rebuilt so its selects list the current trunks and agents.
    const specs = numberSpecs();
    const form = h('form', { class: 'form-grid', id: 'number-form' }, specs.map((s) => field(s)), h('div', { class: 'form-actions wide' }, h('button', { type: 'submit', disabled: trunks.length === 0 }, 'Add number')));
    onSubmit(form, async () => {
      const n = await api('POST', '/v1/phone-numbers', readFields(form, specs), { signal });
      notice(`Added ${n.number}`);
      await load();
    });
    replace(numberFormHolder, trunks.length === 0 ? h('p', { class: 'hint' }, 'Add a trunk first.') : null, form);
  };

  async function load() {
    const [t, a, n] = await Promise.all([get('/v1/trunks?limit=200'), get('/v1/agents?limit=200'), get('/v1/phone-numbers?limit=200')]);
    trunks = t.data;
    agents = a.data;
    numbers = n.data;
    draw();
  }

  onSubmit(trunkForm, async () => {
    const t = await api('POST', '/v1/trunks', readFields(trunkForm, TRUNK_FIELDS), { signal });
    trunkForm.reset();
    notice(`Added trunk ${t.name}`);
    await load();
  });
  await load();
}
