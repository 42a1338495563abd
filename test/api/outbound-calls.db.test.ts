import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from '../../src/store/sql.js';
import { callFixture, startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
let fx: Awaited<ReturnType<typeof callFixture>>;
const url = () => `/v1/agents/${fx.agentId}/outbound-calls`;

before(async () => {
  t = await startTestApp();
  fx = await callFixture(t.org);
});
after(async () => t.close());

async function countRows(table: 'calls' | 'call_events' | 'idempotency_keys'): Promise<number> {
  const r = await t.db.query<{ n: number }>(sql`select count(*)::int as n from ${sql([table] as unknown as TemplateStringsArray)}`);
  return Number(r.rows[0]?.n);
}

describe('creating a call', () => {
  test('answers 202 with the queued call, defaults filled and options echoed', async () => {
    const metadata = { zeta: 1, alpha: [true, null, 'x'], nested: { b: 2.5, a: 'ü' } };
    const res = await t.org.req('POST', url(), {
      to: '+14155550123',
      call_context: 'Appointment on Tuesday at 3pm.',
      metadata,
      callback_url: 'https://hooks.example.com/result',
      status_callback: { url: 'https://hooks.example.com/status', events: ['ringing', 'completed'] },
      caller_id_name: 'Acme Clinic',
      custom_sip_headers: [{ name: 'X-Campaign', value: 'fall-2026' }],
    });
    assert.equal(res.status, 202, res.raw);
    const c = res.body;
    assert.match(c.id, /^call_[0-9A-Z]{26}$/);
    assert.equal(c.status, 'queued');
    assert.equal(c.agent_id, fx.agentId);
    assert.equal(c.to, '+14155550123');
    assert.equal(c.from, fx.number, 'from defaults to the number whose outbound agent this is');
    assert.equal(c.ring_timeout_s, 45);
    assert.equal(c.max_duration_s, 3600);
    assert.deepEqual(c.machine_detection, { mode: 'disabled', hangup_on_machine: false });
    assert.deepEqual(c.record, { enabled: false, channels: 'mono', track: 'both', trim_silence: false });
    assert.deepEqual(c.status_callback, { url: 'https://hooks.example.com/status', events: ['ringing', 'completed'], method: 'POST' });
    assert.deepEqual(c.custom_sip_headers, [{ name: 'X-Campaign', value: 'fall-2026' }]);
    assert.equal(c.caller_id_name, 'Acme Clinic');
    assert.equal(c.call_context, 'Appointment on Tuesday at 3pm.');
    for (const k of ['dispatched_at', 'answered_at', 'ended_at', 'duration_s', 'sip_status_code', 'end_reason', 'summary_text', 'transcript_id']) {
      assert.equal(c[k], null, k);
    }
    // Metadata is echoed with its keys in the order sent, on create and on read.
    assert.equal(JSON.stringify(c.metadata), JSON.stringify(metadata));
    const got = await t.org.req('GET', `${url()}/${c.id}`);
    assert.equal(got.status, 200);
    assert.equal(JSON.stringify(got.body.metadata), JSON.stringify(metadata));
    assert.equal(got.raw.includes('"metadata":{"zeta":1,"alpha":[true,null,"x"],"nested":{"b":2.5,"a":"ü"}}'), true);
  });

  test('agent_overrides: echoed on the call (null without); refused when the agent cannot take them, nothing written', async () => {
    const plain = await t.org.req('POST', url(), { to: '+14155550123' });
    assert.equal(plain.body.agent_overrides, null);
    const o = { language: 'es-MX', voice: 'es-la' };
    const res = await t.org.req('POST', url(), { to: '+14155550123', agent_overrides: o });
    assert.equal(res.status, 202, res.raw);
    assert.deepEqual(res.body.agent_overrides, o);
    assert.deepEqual((await t.org.req('GET', `${url()}/${res.body.id}`)).body.agent_overrides, o);
    const flite = await t.org.req('POST', '/v1/agents', { name: 'flite', tts: { provider: 'flite' } });
    const flitePn = await t.org.req('POST', '/v1/phone-numbers', { number: '+14155559911', trunk_id: fx.trunkId, outbound_agent_id: flite.body.id });
    assert.equal(flitePn.status, 201, flitePn.raw);
    const before = await countRows('calls');
    const bad: Array<[string, Record<string, unknown>, number, string, string]> = [
      [url(), { llm: { model: 'gpt-4o' } }, 400, 'invalid_request', 'agent_overrides.llm'],
      [url(), { language: 'klingon!' }, 400, 'invalid_request', 'agent_overrides.language'],
      [url(), { api_key: 'sk-x' }, 400, 'unknown_field', 'agent_overrides.api_key'],
      [url(), {}, 400, 'invalid_request', 'agent_overrides'],
      [`/v1/agents/${flite.body.id}/outbound-calls`, { voice: 'nobody' }, 422, 'unsupported_provider', 'agent_overrides.voice'],
    ];
    for (const [to, overrides, status, code, param] of bad) {
      const r = await t.org.req('POST', to, { to: '+14155550123', agent_overrides: overrides });
      assert.equal(r.status, status, `${JSON.stringify(overrides)}: ${r.raw}`);
      assert.equal(r.body.error.code, code, r.raw);
      assert.equal(r.body.error.param, param, r.raw);
    }
    assert.equal(await countRows('calls'), before);
  });

  test('the first transition is stored with the call', async () => {
    const res = await t.org.req('POST', url(), { to: 'sip:alice@pbx.example.com' });
    assert.equal(res.status, 202, res.raw);
    const ev = await t.org.req('GET', `/v1/calls/${res.body.id}/events`);
    assert.equal(ev.status, 200);
    assert.equal(ev.body.data.length, 1);
    assert.equal(ev.body.data[0].from_status, null);
    assert.equal(ev.body.data[0].to_status, 'queued');
    assert.equal(ev.body.data[0].at, res.body.created_at);
  });

  test('an explicit from must be a registered number (404), and a missing default is 422', async () => {
    const unknown = await t.org.req('POST', url(), { to: '+14155550123', from: '+14155559999' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'phone_number_not_found');
    assert.equal(unknown.body.error.param, 'from');
    const lonely = await t.org.req('POST', '/v1/agents', { name: 'No number' });
    const none = await t.org.req('POST', `/v1/agents/${lonely.body.id}/outbound-calls`, { to: '+14155550123' });
    assert.equal(none.status, 422);
    assert.equal(none.body.error.code, 'no_from_number');
    const explicit = await t.org.req('POST', `/v1/agents/${lonely.body.id}/outbound-calls`, { to: '+14155550123', from: fx.number });
    assert.equal(explicit.status, 202, explicit.raw);
    assert.equal(explicit.body.from, fx.number);
  });

  test('a text agent cannot place calls (400) and an unknown agent is 404', async () => {
    const text = await t.org.req('POST', '/v1/agents', { name: 'Chat', kind: 'text' });
    const r = await t.org.req('POST', `/v1/agents/${text.body.id}/outbound-calls`, { to: '+14155550123', from: fx.number });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'agent_cannot_place_calls');
    const missing = await t.org.req('POST', '/v1/agents/agt_nope/outbound-calls', { to: '+14155550123' });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'agent_not_found');
  });

  test('a {{variable}} the prompt or greeting uses must be given (422), and given ones are kept', async () => {
    const agent = await t.org.req('POST', '/v1/agents', {
      name: 'Templated',
      system_prompt: 'Patient is {{patient}}.',
      greeting: 'Hi {{ first_name }}!',
    });
    const u = `/v1/agents/${agent.body.id}/outbound-calls`;
    const r = await t.org.req('POST', u, { to: '+14155550123', from: fx.number, dynamic_variables: { patient: 'Ana Li' } });
    assert.equal(r.status, 422);
    assert.equal(r.body.error.code, 'missing_dynamic_variable');
    assert.equal(r.body.error.param, 'dynamic_variables.first_name');
    assert.match(r.body.error.message, /\{\{first_name\}\}/);
    const ok = await t.org.req('POST', u, { to: '+14155550123', from: fx.number, dynamic_variables: { patient: 'Ana Li', first_name: 'Ana' } });
    assert.equal(ok.status, 202, ok.raw);
    assert.deepEqual(ok.body.dynamic_variables, { patient: 'Ana Li', first_name: 'Ana' });
  });

  test('scheduled_at is kept; without it the call is due at creation', async () => {
    const when = '2030-01-02T03:04:05.000Z';
    const r = await t.org.req('POST', url(), { to: '+14155550123', scheduled_at: when });
    assert.equal(r.body.scheduled_at, when);
    const now = await t.org.req('POST', url(), { to: '+14155550123' });
    assert.equal(now.body.scheduled_at, now.body.created_at);
  });

  test('a client call_id is used as the id and must be unique (409)', async () => {
    const a = await t.org.req('POST', url(), { to: '+14155550123', call_id: 'my-call-1' });
    assert.equal(a.status, 202, a.raw);
    assert.equal(a.body.id, 'my-call-1');
    const before = await countRows('calls');
    const b = await t.org.req('POST', url(), { to: '+14155550124', call_id: 'my-call-1' });
    assert.equal(b.status, 409);
    assert.equal(b.body.error.code, 'call_id_conflict');
    assert.equal(await countRows('calls'), before, 'nothing written');
  });
});

describe('validation of every field', () => {
  const cases: Array<[string, Record<string, unknown>, number, string, string | null, RegExp?]> = [
    ['missing to', {}, 400, 'missing_field', 'to'],
    ['to with letters', { to: '+1415CALLNOW' }, 400, 'invalid_destination', 'to', /only digits/],
    ['to with dashes', { to: '+1-415-555-0123' }, 400, 'invalid_destination', 'to', /dashes or spaces|dashes, spaces/],
    ['to too long', { to: '+1234567890123456' }, 400, 'invalid_destination', 'to', /too long/],
    ['to missing country code', { to: '4155550123' }, 400, 'invalid_destination', 'to', /missing \+ and country code/],
    ['to bad sip uri', { to: 'sip:bad uri@x' }, 400, 'invalid_destination', 'to'],
    ['from not E.164', { to: '+14155550123', from: '555-0100' }, 400, 'invalid_phone_number', 'from'],
    ['unknown field', { to: '+14155550123', ring_timeout: 30 }, 400, 'unknown_field', 'ring_timeout', /check its spelling/],
    ['nested unknown field', { to: '+14155550123', record: { enabled: true, chanels: 'dual' } }, 400, 'unknown_field', 'record.chanels'],
    ['ring_timeout_s low', { to: '+14155550123', ring_timeout_s: 4 }, 400, 'invalid_request', 'ring_timeout_s'],
    ['ring_timeout_s high', { to: '+14155550123', ring_timeout_s: 121 }, 400, 'invalid_request', 'ring_timeout_s'],
    ['ring_timeout_s as string', { to: '+14155550123', ring_timeout_s: '45' }, 400, 'invalid_request', 'ring_timeout_s'],
    ['max_duration_s low', { to: '+14155550123', max_duration_s: 29 }, 400, 'invalid_request', 'max_duration_s'],
    ['max_duration_s high', { to: '+14155550123', max_duration_s: 14401 }, 400, 'invalid_request', 'max_duration_s'],
    ['caller_id_name bad char', { to: '+14155550123', caller_id_name: 'Acme <Clinic>' }, 400, 'invalid_request', 'caller_id_name'],
    ['caller_id_name too long', { to: '+14155550123', caller_id_name: 'a'.repeat(129) }, 400, 'invalid_request', 'caller_id_name'],
    ['sip header without X-', { to: '+14155550123', custom_sip_headers: [{ name: 'Campaign', value: 'x' }] }, 400, 'invalid_request', 'custom_sip_headers[0].name'],
    ['sip header with CRLF', { to: '+14155550123', custom_sip_headers: [{ name: 'X-A', value: 'a\r\nVia: evil' }] }, 400, 'invalid_request', 'custom_sip_headers[0].value'],
    ['callback_url not http', { to: '+14155550123', callback_url: 'ftp://x.example.com/' }, 400, 'invalid_url', 'callback_url'],
    ['callback_url relative', { to: '+14155550123', callback_url: '/hook' }, 400, 'invalid_url', 'callback_url'],
    ['callback_url private', { to: '+14155550123', callback_url: 'http://10.0.0.5/hook' }, 400, 'private_url_not_allowed', 'callback_url'],
    ['status_callback private', { to: '+14155550123', status_callback: { url: 'http://127.0.0.1/s' } }, 400, 'private_url_not_allowed', 'status_callback.url'],
    ['status_callback bad event', { to: '+14155550123', status_callback: { url: 'https://h.example.com', events: ['rang'] } }, 400, 'invalid_request', 'status_callback.events[0]'],
    ['status_callback empty events', { to: '+14155550123', status_callback: { url: 'https://h.example.com', events: [] } }, 400, 'invalid_request', 'status_callback.events'],
    ['status_callback bad method', { to: '+14155550123', status_callback: { url: 'https://h.example.com', method: 'PUT' } }, 400, 'invalid_request', 'status_callback.method'],
    ['machine_detection bad mode', { to: '+14155550123', machine_detection: { mode: 'guess' } }, 400, 'invalid_request', 'machine_detection.mode'],
    ['record without enabled', { to: '+14155550123', record: { channels: 'dual' } }, 400, 'missing_field', 'record.enabled'],
    ['record bad channels', { to: '+14155550123', record: { enabled: true, channels: 'stereo' } }, 400, 'invalid_request', 'record.channels'],
    ['scheduled_at not a date', { to: '+14155550123', scheduled_at: 'tomorrow' }, 400, 'invalid_request', 'scheduled_at'],
    ['dynamic variable not a string', { to: '+14155550123', dynamic_variables: { n: 5 } }, 400, 'invalid_request', 'dynamic_variables.n'],
    ['dynamic variable bad name', { to: '+14155550123', dynamic_variables: { 'bad-name': 'x' } }, 400, 'unknown_field', 'dynamic_variables.bad-name'],
    ['call_context too long', { to: '+14155550123', call_context: 'x'.repeat(32769) }, 400, 'invalid_request', 'call_context'],
    ['call_id bad', { to: '+14155550123', call_id: 'has space' }, 400, 'invalid_request', 'call_id'],
    ['metadata over 16 KB', { to: '+14155550123', metadata: { blob: 'x'.repeat(16 * 1024) } }, 413, 'metadata_too_large', 'metadata'],
  ];
  for (const [name, body, status, code, param, message] of cases) {
    test(`${name} -> ${status} ${code}`, async () => {
      const before = await countRows('calls');
      const r = await t.org.req('POST', url(), body);
      assert.equal(r.status, status, r.raw);
      assert.equal(r.body.error.code, code, r.raw);
      if (param !== null) assert.equal(r.body.error.param, param, r.raw);
      if (message) assert.match(r.body.error.message, message);
      assert.equal(typeof r.body.error.message, 'string');
      assert.equal(await countRows('calls'), before, 'nothing written on error');
    });
  }

  test('machine_detection and voicemail: stored with every default filled, from the call or its agent; combinations that cannot act are refused', async () => {
    const FLOW = { start: 'hi', nodes: { hi: { type: 'say', text: 'Hello.', next: 'bye' }, bye: { type: 'end' } } };
    const listening = await t.org.req('POST', '/v1/agents', { name: 'amd-flow', flow: FLOW });
    assert.equal(listening.status, 201, listening.raw);
    const pn = await t.org.req('POST', '/v1/phone-numbers', { number: '+14155550177', trunk_id: fx.trunkId, outbound_agent_id: listening.body.id });
    assert.equal(pn.status, 201, pn.raw);
    const flowUrl = `/v1/agents/${listening.body.id}/outbound-calls`;
    const silent = await t.org.req('POST', '/v1/agents', { name: 'amd-silent' });
    assert.equal(silent.status, 201, silent.raw);
    const pn2 = await t.org.req('POST', '/v1/phone-numbers', { number: '+14155550178', trunk_id: fx.trunkId, outbound_agent_id: silent.body.id });
    assert.equal(pn2.status, 201, pn2.raw);
    const refusedCases: Array<[string, Record<string, unknown>, number, string, string]> = [
      // No greeting, no flow, no model: the agent has nothing to say, so nothing can act on a verdict.
      [`/v1/agents/${silent.body.id}/outbound-calls`, { machine_detection: { mode: 'detect' } }, 422, 'setting_not_applicable', 'machine_detection.mode'],
      [flowUrl, { machine_detection: { mode: 'disabled', hangup_on_machine: true } }, 422, 'conflicting_fields', 'machine_detection.hangup_on_machine'],
      [flowUrl, { machine_detection: { mode: 'disabled', total_analysis_ms: 3000 } }, 422, 'conflicting_fields', 'machine_detection.total_analysis_ms'],
      [flowUrl, { voicemail: { action: 'hangup' } }, 422, 'conflicting_fields', 'voicemail'],
      [flowUrl, { machine_detection: { mode: 'detect', hangup_on_machine: true }, voicemail: { action: 'leave_message', message: 'Hi' } }, 422, 'conflicting_fields', 'voicemail.action'],
      [flowUrl, { machine_detection: { mode: 'detect' }, voicemail: { action: 'leave_message' } }, 400, 'missing_field', 'voicemail.message'],
      [flowUrl, { machine_detection: { mode: 'detect' }, voicemail: { action: 'continue', message: 'Hi' } }, 422, 'conflicting_fields', 'voicemail.message'],
      [flowUrl, { machine_detection: { mode: 'detect' }, voicemail: { action: 'leave_message', message: 'Hi {{name}}' } }, 422, 'missing_dynamic_variable', 'dynamic_variables.name'],
      [flowUrl, { machine_detection: { mode: 'disabled', screening_response: 'This is Ada.' } }, 422, 'conflicting_fields', 'machine_detection.screening_response'],
      [flowUrl, { machine_detection: { mode: 'disabled', gate_greeting: true } }, 422, 'conflicting_fields', 'machine_detection.gate_greeting'],
      [flowUrl, { machine_detection: { mode: 'detect', screening_response: 'This is Ada for {{name}}.' } }, 422, 'missing_dynamic_variable', 'dynamic_variables.name'],
      [flowUrl, { machine_detection: { mode: 'detect', screening_response: '' } }, 400, 'invalid_request', 'machine_detection.screening_response'],
    ];
    for (const [where, extra, status, code, param] of refusedCases) {
      const before = await countRows('calls');
      const r = await t.org.req('POST', where, { to: '+14155550123', ...extra });
      assert.equal(r.status, status, `${JSON.stringify(extra)}: ${r.raw}`);
      assert.equal(r.body.error.code, code, r.raw);
      assert.equal(r.body.error.param, param, r.raw);
      assert.equal(await countRows('calls'), before, 'nothing written');
    }
    const outOfRange = await t.org.req('POST', flowUrl, { to: '+14155550123', machine_detection: { mode: 'detect', total_analysis_ms: 400 } });
    assert.equal(outOfRange.status, 400, outOfRange.raw);

    const offSaid = await t.org.req('POST', flowUrl, { to: '+14155550123', machine_detection: { mode: 'disabled' } });
    assert.equal(offSaid.status, 202, `mode "disabled" said outright is accepted: ${offSaid.raw}`);
    assert.deepEqual(offSaid.body.machine_detection, { mode: 'disabled', hangup_on_machine: false });
    // Off by default, as every call was before detection existed.
    const off = await t.org.req('POST', flowUrl, { to: '+14155550123' });
    assert.equal(off.status, 202, off.raw);
    assert.deepEqual([off.body.machine_detection, off.body.voicemail, off.body.answered_by, off.body.machine_detection_result], [{ mode: 'disabled', hangup_on_machine: false }, null, null, null]);

    const defaults = { total_analysis_ms: 5000, initial_silence_ms: 2500, greeting_max_ms: 1800, after_greeting_silence_ms: 800, beep_timeout_ms: 30000 };
    const on = await t.org.req('POST', flowUrl, { to: '+14155550123', machine_detection: { mode: 'detect', greeting_max_ms: 2000 } });
    assert.equal(on.status, 202, on.raw);
    assert.deepEqual(on.body.machine_detection, { mode: 'detect', hangup_on_machine: false, gate_greeting: false, ...defaults, greeting_max_ms: 2000 });
    assert.deepEqual(on.body.voicemail, { action: 'continue' });
    const screened = await t.org.req('POST', flowUrl, { to: '+14155550123', machine_detection: { mode: 'detect', screening_response: 'This is Ada for {{name}}.' }, dynamic_variables: { name: 'Sam' } });
    assert.equal(screened.status, 202, screened.raw);
    assert.equal(screened.body.machine_detection.screening_response, 'This is Ada for {{name}}.', 'stored as given; filled when said');
    const gated = await t.org.req('POST', flowUrl, { to: '+14155550123', machine_detection: { mode: 'detect', gate_greeting: true } });
    assert.equal(gated.status, 202, gated.raw);
    assert.equal(gated.body.machine_detection.gate_greeting, true);
    // The fixture agent only plays its greeting: its calls detect too (the line is played in a session that acts on the verdict).
    const greetingOnly = await t.org.req('POST', url(), { to: '+14155550123', machine_detection: { mode: 'detect_message_end' }, voicemail: { action: 'leave_message', message: 'Please call back.' } });
    assert.equal(greetingOnly.status, 202, greetingOnly.raw);
    assert.equal(greetingOnly.body.machine_detection.mode, 'detect_message_end');
    const hang = await t.org.req('POST', flowUrl, { to: '+14155550123', machine_detection: { mode: 'detect', hangup_on_machine: true } });
    assert.deepEqual(hang.body.voicemail, { action: 'hangup' }, 'hangup_on_machine is the hangup action');

    // The agent's defaults apply to its calls; a call's own setting replaces each whole.
    const patched = await t.org.req('PATCH', `/v1/agents/${listening.body.id}`, {
      machine_detection: { mode: 'detect_message_end', total_analysis_ms: 8000 },
      voicemail: { action: 'leave_message', message: 'Hi {{name}}, please call us back.' },
    });
    assert.equal(patched.status, 200, patched.raw);
    assert.deepEqual(patched.body.voicemail, { action: 'leave_message', message: 'Hi {{name}}, please call us back.' });
    const missingVar = await t.org.req('POST', flowUrl, { to: '+14155550123' });
    assert.equal(missingVar.body.error?.code, 'missing_dynamic_variable', "the agent's message needs {{name}} too");
    const inherited = await t.org.req('POST', flowUrl, { to: '+14155550123', dynamic_variables: { name: 'Ana' } });
    assert.equal(inherited.status, 202, inherited.raw);
    assert.deepEqual(inherited.body.machine_detection, { mode: 'detect_message_end', hangup_on_machine: false, gate_greeting: false, ...defaults, total_analysis_ms: 8000 });
    assert.deepEqual(inherited.body.voicemail, { action: 'leave_message', message: 'Hi {{name}}, please call us back.' });
    const own = await t.org.req('POST', flowUrl, { to: '+14155550123', voicemail: { action: 'hangup' } });
    assert.equal(own.status, 202, own.raw);
    assert.deepEqual([own.body.machine_detection.mode, own.body.voicemail], ['detect_message_end', { action: 'hangup' }], "the agent's detection, the call's action");
    const badAgent = await t.org.req('PATCH', `/v1/agents/${listening.body.id}`, { voicemail: { action: 'leave_message' } });
    assert.deepEqual([badAgent.status, badAgent.body.error?.param], [400, 'voicemail.message']);
  });

  test('metadata of exactly 16 KB is accepted', async () => {
    const filler = 'x'.repeat(16 * 1024 - JSON.stringify({ b: '' }).length);
    const r = await t.org.req('POST', url(), { to: '+14155550123', metadata: { b: filler } });
    assert.equal(r.status, 202, r.raw.slice(0, 200));
  });

  test('invalid JSON, wrong content type and oversized bodies', async () => {
    const bad = await t.org.req('POST', url(), '{"to": ');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'invalid_json');
    const text = await t.org.req('POST', url(), 'to=+14155550123', { 'content-type': 'text/plain' });
    assert.equal(text.status, 415);
    assert.equal(text.body.error.code, 'unsupported_media_type');
    const huge = await t.org.req('POST', url(), { to: '+14155550123', call_context: 'x'.repeat(300 * 1024) });
    assert.equal(huge.status, 413);
    assert.equal(huge.body.error.code, 'payload_too_large');
  });
});

describe('idempotency', () => {
  test('the same key and body returns the same call; another body is 409; nothing doubled', async () => {
    const body = { to: '+14155550123', metadata: { order: 7 } };
    const calls0 = await countRows('calls');
    const a = await t.org.req('POST', url(), body, { 'idempotency-key': 'k-1' });
    assert.equal(a.status, 202);
    assert.equal(a.headers['idempotent-replayed'], undefined);
    // Same meaning, other key order: still the same request.
    const b = await t.org.req('POST', url(), { metadata: { order: 7 }, to: '+14155550123' }, { 'idempotency-key': 'k-1' });
    assert.equal(b.status, 202);
    assert.equal(b.body.id, a.body.id);
    assert.equal(b.headers['idempotent-replayed'], 'true');
    const c = await t.org.req('POST', url(), { ...body, to: '+14155550124' }, { 'idempotency-key': 'k-1' });
    assert.equal(c.status, 409);
    assert.equal(c.body.error.code, 'idempotency_key_reused');
    assert.equal(await countRows('calls'), calls0 + 1);
  });

  test('concurrent requests with one key create one call', async () => {
    const calls0 = await countRows('calls');
    const rs = await Promise.all(Array.from({ length: 8 }, () => t.org.req('POST', url(), { to: '+14155550125' }, { 'idempotency-key': 'race' })));
    assert.deepEqual(rs.map((r) => r.status), Array(8).fill(202));
    assert.equal(new Set(rs.map((r) => r.body.id)).size, 1);
    assert.equal(await countRows('calls'), calls0 + 1);
  });

  test('a key older than 24 hours starts a new call', async () => {
    const a = await t.org.req('POST', url(), { to: '+14155550126' }, { 'idempotency-key': 'old' });
    await t.db.query(sql`update idempotency_keys set created_at = now() - interval '25 hours' where key = 'old'`);
    const b = await t.org.req('POST', url(), { to: '+14155550127' }, { 'idempotency-key': 'old' });
    assert.equal(b.status, 202);
    assert.notEqual(b.body.id, a.body.id);
  });

  test('a failed request does not burn its key', async () => {
    const bad = await t.org.req('POST', url(), { to: '+14155550128', from: '+19995550000' }, { 'idempotency-key': 'retry-me' });
    assert.equal(bad.status, 404);
    const good = await t.org.req('POST', url(), { to: '+14155550128' }, { 'idempotency-key': 'retry-me' });
    assert.equal(good.status, 202, good.raw);
  });
});

describe('reading, listing and canceling', () => {
  test('list with status filter and cursor pagination walks every call once', async () => {
    const agent = await t.org.req('POST', '/v1/agents', { name: 'Lister' });
    const u = `/v1/agents/${agent.body.id}/outbound-calls`;
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await t.org.req('POST', u, { to: `+1415555020${i}`, from: fx.number })).body.id);
    await t.org.req('POST', `${u}/${ids[0]}/cancel`);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r: Awaited<ReturnType<typeof t.org.req>> = await t.org.req('GET', `${u}?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(r.status, 200, r.raw);
      seen.push(...r.body.data.map((c: { id: string }) => c.id));
      cursor = r.body.next_cursor;
      pages++;
    } while (cursor);
    assert.equal(pages, 3);
    assert.deepEqual(seen, [...ids].reverse(), 'newest first, each once');
    const queued = await t.org.req('GET', `${u}?status=queued`);
    assert.equal(queued.body.data.length, 6);
    const canceled = await t.org.req('GET', `${u}?status=canceled`);
    assert.deepEqual(canceled.body.data.map((c: { id: string }) => c.id), [ids[0]]);
    const badStatus = await t.org.req('GET', `${u}?status=answered`);
    assert.equal(badStatus.status, 400);
    const badCursor = await t.org.req('GET', `${u}?cursor=zzz`);
    assert.equal(badCursor.body.error.code, 'invalid_cursor');
    const badLimit = await t.org.req('GET', `${u}?limit=0`);
    assert.equal(badLimit.status, 400);
  });

  test('a call is read only through its own agent', async () => {
    const c = await t.org.req('POST', url(), { to: '+14155550123' });
    const other = await t.org.req('POST', '/v1/agents', { name: 'Other' });
    const r = await t.org.req('GET', `/v1/agents/${other.body.id}/outbound-calls/${c.body.id}`);
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, 'call_not_found');
    assert.equal((await t.org.req('GET', `/v1/calls/${c.body.id}`)).body.id, c.body.id);
  });

  test('cancel of a queued call ends it canceled with its event; a second cancel is 409', async () => {
    const c = await t.org.req('POST', url(), { to: '+14155550123' });
    const r = await t.org.req('POST', `${url()}/${c.body.id}/cancel`);
    assert.equal(r.status, 202);
    assert.equal(r.body.status, 'canceled');
    assert.equal(r.body.end_reason, 'canceled_by_api');
    assert.ok(r.body.ended_at);
    const again = await t.org.req('POST', `${url()}/${c.body.id}/cancel`);
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'call_not_cancelable');
    const ev = await t.org.req('GET', `/v1/calls/${c.body.id}/events`);
    assert.deepEqual(ev.body.data.map((e: { to_status: string }) => e.to_status), ['queued', 'canceled']);
  });

  test('cancel of a dialing call records the request for the worker and keeps the status', async () => {
    const c = await t.org.req('POST', url(), { to: '+14155550123' });
    await t.db.query(sql`update calls set status = 'dialing' where id = ${c.body.id}`);
    const r = await t.org.req('POST', `${url()}/${c.body.id}/cancel`);
    assert.equal(r.status, 202);
    assert.equal(r.body.status, 'dialing');
    assert.ok(r.body.cancel_requested_at);
  });

  test('events and transcripts of unknown ids are 404', async () => {
    assert.equal((await t.org.req('GET', '/v1/calls/call_nope/events')).body.error.code, 'call_not_found');
    assert.equal((await t.org.req('GET', '/v1/transcripts/tr_nope')).body.error.code, 'transcript_not_found');
  });

  test('a stored transcript is served', async () => {
    const c = await t.org.req('POST', url(), { to: '+14155550123' });
    const turns = [{ speaker: 'agent', text: 'Hello!', start_ms: 0, end_ms: 800, interrupted: false }];
    await t.db.query(sql`insert into transcripts (id, org_id, call_id, turns) values ('tr_1', ${t.org.id}, ${c.body.id}, ${JSON.stringify(turns)})`);
    const r = await t.org.req('GET', '/v1/transcripts/tr_1');
    assert.equal(r.status, 200);
    assert.equal(r.body.call_id, c.body.id);
    assert.deepEqual(r.body.turns, turns);
  });
});
