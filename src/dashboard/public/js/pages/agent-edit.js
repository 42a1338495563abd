/**
 * #/agents/new and #/agents/<id>: create or edit an agent, and (for a saved agent) place a test
 * call to a number typed in, then follow it live on its call page.
 *
 * An edit sends only the fields that changed: PATCH replaces each field it carries, and a provider
 * object (stt/llm/tts) is replaced whole with its write-only api_key, so resending an untouched
 * provider would drop its stored key.
 */
import { api } from '../api.js';
import { h, notice, replace } from '../dom.js';
import { field, onSubmit, readField, readFields } from '../forms.js';

const FIELDS = [
  { name: 'name', label: 'Name', required: true },
  { name: 'kind', label: 'Kind', type: 'select', options: [['voice', 'voice'], ['text', 'text']], default: 'voice' },
  { name: 'language', label: 'Language', placeholder: 'en-US', default: 'en-US' },
  { name: 'voice', label: 'Voice', placeholder: 'e.g. en-us (espeak-ng)', empty: 'null' },
  { name: 'greeting', label: 'Greeting', type: 'textarea', empty: 'string', wide: true, hint: 'spoken the moment the callee answers; {{variables}} allowed' },
  { name: 'system_prompt', label: 'System prompt', type: 'textarea', rows: 6, empty: 'string', wide: true },
  { name: 'webhook_url', label: 'Result webhook URL', placeholder: 'https://example.com/hooks/outcall', empty: 'null' },
  { name: 'max_cps', label: 'Max calls per second', type: 'number', placeholder: '1' },
  { name: 'max_concurrent_calls', label: 'Max concurrent calls', type: 'number', empty: 'null', step: '1' },
  { name: 'on_limit', label: 'Over a limit', type: 'select', options: [['queue', 'queue the call'], ['reject', 'reject (429)']], default: 'queue' },
  {
    name: 'flow',
    label: 'Flow (JSON)',
    type: 'json',
    rows: 10,
    empty: 'null',
    wide: true,
    hint: 'a scripted conversation {start, nodes} run without an LLM; empty for none',
    placeholder: '{"start": "greet", "nodes": {"greet": {"type": "say", "text": "Hello!", "next": "bye"}, "bye": {"type": "end"}}}',
  },
  { name: 'tools', label: 'Tools (JSON array)', type: 'json', rows: 4, empty: 'array', wide: true, placeholder: '[{"type": "end_call"}]' },
];

const PROVIDERS = [
  ['llm', 'Language model (llm)', '{"provider": "anthropic", "fallbacks": [{"provider": "openai", "model": "gpt-4o-mini"}]}'],
  ['stt', 'Speech to text (stt)', '{"provider": "deepgram", "options": {"keywords": "Tuesday"}}'],
  ['tts', 'Text to speech (tts)', '{"provider": "elevenlabs", "fallbacks": [{"provider": "espeak-ng"}]}'],
  ['speech_to_speech', 'Speech to speech (instead of stt, llm and tts)', '{"provider": "openai", "model": "gpt-realtime", "voice": "marin"}'],
];

/** A provider as shown by the API, as the form edits it: without has_api_key (its fallbacks' too). */
function editable(p) {
  if (!p) return null;
  const { has_api_key: _k, ...rest } = p;
  if (Array.isArray(rest.fallbacks)) rest.fallbacks = rest.fallbacks.map((f) => editable(f));
  return rest;
}

function providerFieldset(kind, label, placeholder, current) {
  return h(
    'fieldset',
    { class: 'provider wide' },
    h('legend', null, label),
    field({ name: kind, label: 'Settings (JSON)', type: 'json', rows: 3, placeholder, hint: 'empty for the default' }, editable(current)),
    field(
      { name: `${kind}.api_key`, label: 'API key (write-only)', type: 'password', placeholder: current?.has_api_key ? 'a key is stored' : '' },
      '',
    ),
    current?.has_api_key ? h('small', { class: 'hint' }, 'A key is stored. Changing these settings without typing the key again removes it.') : null,
    h('small', { class: 'hint' }, 'Without a key the worker uses the vendor\'s environment variable (e.g. DEEPGRAM_API_KEY). A fallback\'s key goes inside its object as "api_key".'),
  );
}

/** stt/llm/tts from the form: the JSON settings, plus api_key when one was typed. */
function readProvider(form, kind) {
  const settings = readField(form, { name: kind, type: 'json', empty: 'null' });
  const key = readField(form, { name: `${kind}.api_key`, type: 'password' });
  if (key === undefined) return { value: settings, keyTyped: false };
  if (settings === null || typeof settings !== 'object' || Array.isArray(settings)) {
    return { value: { api_key: key, ...(settings ?? {}) }, keyTyped: true };
  }
  return { value: { ...settings, api_key: key }, keyTyped: true };
}

const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

export async function agentEditPage(root, { params: [agentId], signal, navigate }) {
  const isNew = agentId === 'new';
  const agent = isNew ? null : await api('GET', `/v1/agents/${encodeURIComponent(agentId)}`, undefined, { signal });

  const form = h(
    'form',
    { class: 'card form-grid', id: 'agent-form' },
    FIELDS.map((s) => field(s, agent ? agent[s.name] : undefined)),
    PROVIDERS.map(([k, label, ph]) => providerFieldset(k, label, ph, agent?.[k])),
    h('div', { class: 'form-actions wide' }, h('button', { type: 'submit' }, isNew ? 'Create agent' : 'Save changes')),
  );

  onSubmit(form, async () => {
    const values = readFields(form, FIELDS);
    const providers = Object.fromEntries(PROVIDERS.map(([k]) => [k, readProvider(form, k)]));
    if (isNew) {
      const body = { ...values };
      for (const [k, p] of Object.entries(providers)) if (p.value !== null) body[k] = p.value;
      if (body.tools && body.tools.length === 0) delete body.tools;
      const created = await api('POST', '/v1/agents', body, { signal });
      notice(`Created agent ${created.name}`);
      navigate(`#/agents/${encodeURIComponent(created.id)}`);
      return;
    }
    const patch = {};
    for (const s of FIELDS) {
      if (!(s.name in values)) continue;
      if (!same(values[s.name], agent[s.name])) patch[s.name] = values[s.name];
    }
    for (const [k, p] of Object.entries(providers)) if (p.keyTyped || !same(p.value, editable(agent[k]))) patch[k] = p.value;
    if (Object.keys(patch).length === 0) {
      notice('Nothing changed.');
      return;
    }
    await api('PATCH', `/v1/agents/${encodeURIComponent(agent.id)}`, patch, { signal });
    notice('Saved.');
    navigate(`#/agents/${encodeURIComponent(agent.id)}`);
  });

  const head = h(
    'div',
    { class: 'page-head' },
    h('h1', null, isNew ? 'New agent' : agent.name),
    agent ? h('code', { class: 'muted' }, agent.id) : null,
    h('span', { class: 'spacer' }),
    agent ? h('a', { class: 'button ghost', href: `#/calls?agent_id=${encodeURIComponent(agent.id)}` }, 'Calls of this agent') : null,
  );
  replace(root, head, agent ? await testCallForm(agent, signal, navigate) : null, h('h2', null, isNew ? 'Settings' : 'Edit'), form);
}

/**
 * Places a call with this agent to a destination typed in (E.164 or sip: URI) and opens its page.
 * `from` defaults to the number whose outbound agent this agent is.
 */
async function testCallForm(agent, signal, navigate) {
  const numbers = await api('GET', '/v1/phone-numbers?limit=200', undefined, { signal });
  const fromOptions = [['', 'default (a number using this agent)'], ...numbers.data.map((n) => [n.number, n.number])];
  const specs = [
    { name: 'to', label: 'Call this number', required: true, placeholder: '+14155550123 or sip:user@host' },
    { name: 'from', label: 'From', type: 'select', options: fromOptions },
    { name: 'dynamic_variables', label: 'Variables (JSON object)', type: 'json', rows: 2, placeholder: '{"name": "Ana"}', hint: 'fill {{variables}} in the greeting and prompt' },
    { name: 'call_context', label: 'Call context', type: 'textarea', rows: 2, hint: 'appended to the prompt for this call only' },
    { name: 'max_duration_s', label: 'Max duration (s)', type: 'number', step: '1', placeholder: '3600' },
    { name: 'record', label: 'Record the call', type: 'checkbox', default: true },
    { name: 'record_channels', label: 'Recording channels', type: 'select', options: [['mono', 'mono'], ['dual', 'dual (callee left, agent right)']], param: 'record.channels' },
  ];
  const form = h(
    'form',
    { class: 'card form-grid test-call', id: 'test-call-form' },
    h('h2', { class: 'wide' }, 'Test call'),
    specs.map((s) => field(s)),
    h('div', { class: 'form-actions wide' }, h('button', { type: 'submit' }, 'Call now')),
  );
  onSubmit(form, async () => {
    const v = readFields(form, specs);
    const body = { to: v.to };
    if (v.from) body.from = v.from;
    if (v.dynamic_variables !== undefined) body.dynamic_variables = v.dynamic_variables;
    if (v.call_context !== undefined) body.call_context = v.call_context;
    if (v.max_duration_s !== undefined) body.max_duration_s = v.max_duration_s;
    body.record = v.record ? { enabled: true, channels: v.record_channels ?? 'mono' } : { enabled: false };
    const call = await api('POST', `/v1/agents/${encodeURIComponent(agent.id)}/outbound-calls`, body, { signal });
    navigate(`#/calls/${encodeURIComponent(call.id)}`);
  });
  return form;
}
