import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from '../../src/store/sql.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(async () => t.close());

describe('trunks', () => {
  test('create with defaults, password encrypted at rest and never returned', async () => {
    const r = await t.org.req('POST', '/v1/trunks', {
      name: 'Carrier',
      host: 'sip.carrier.example',
      username: 'acct1',
      password: 'p@ss-Word-1',
      default_caller_id: '+14155550100',
      max_cps: 5,
      max_concurrent_calls: 20,
    });
    assert.equal(r.status, 201, r.raw);
    assert.equal(r.body.port, 5060);
    assert.equal(r.body.transport, 'udp');
    assert.equal(r.body.has_password, true);
    assert.equal(r.body.password, undefined);
    assert.ok(!r.raw.includes('p@ss-Word-1'));
    const row = await t.db.query<{ password_enc: string }>(sql`select password_enc from trunks where id = ${r.body.id}`);
    const stored = row.rows[0]?.password_enc as string;
    assert.ok(!stored.includes('p@ss-Word-1'));
    assert.equal(t.ctx.secrets?.decrypt(stored), 'p@ss-Word-1');
    const got = await t.org.req('GET', `/v1/trunks/${r.body.id}`);
    assert.ok(!got.raw.includes('p@ss'));
    assert.deepEqual(got.body, r.body);
  });

  test('validation: host, port, transport, caller id, limits, unknown fields', async () => {
    const bad: Array<[Record<string, unknown>, string, string]> = [
      [{ host: 'x.example' }, 'missing_field', 'name'],
      [{ name: 'a', host: 'sip://x.example' }, 'invalid_request', 'host'],
      [{ name: 'a', host: 'x.example', port: 70000 }, 'invalid_request', 'port'],
      [{ name: 'a', host: 'x.example', transport: 'sctp' }, 'invalid_request', 'transport'],
      [{ name: 'a', host: 'x.example', default_caller_id: '0800 123' }, 'invalid_phone_number', 'default_caller_id'],
      [{ name: 'a', host: 'x.example', max_cps: 0 }, 'invalid_request', 'max_cps'],
      [{ name: 'a', host: 'x.example', max_concurrent_calls: 1.5 }, 'invalid_request', 'max_concurrent_calls'],
      [{ name: 'a', host: 'x.example', pasword: 'typo' }, 'unknown_field', 'pasword'],
    ];
    for (const [body, code, param] of bad) {
      const r = await t.org.req('POST', '/v1/trunks', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.error.code, code, JSON.stringify(body));
      assert.equal(r.body.error.param, param, JSON.stringify(body));
    }
  });

  test('patch changes only given fields, re-encrypts a new password, and clears with null', async () => {
    const c = await t.org.req('POST', '/v1/trunks', { name: 'T', host: 'a.example', password: 'one' });
    const p = await t.org.req('PATCH', `/v1/trunks/${c.body.id}`, { port: 5080, password: 'two' });
    assert.equal(p.status, 200, p.raw);
    assert.equal(p.body.port, 5080);
    assert.equal(p.body.host, 'a.example');
    const row = await t.db.query<{ password_enc: string }>(sql`select password_enc from trunks where id = ${c.body.id}`);
    assert.equal(t.ctx.secrets?.decrypt(row.rows[0]?.password_enc as string), 'two');
    const cleared = await t.org.req('PATCH', `/v1/trunks/${c.body.id}`, { password: null, username: null });
    assert.equal(cleared.body.has_password, false);
    assert.equal(cleared.body.username, null);
    // A patch of one field leaves the others (and their defaults) alone.
    const renamed = await t.org.req('PATCH', `/v1/trunks/${c.body.id}`, { name: 'Renamed' });
    assert.equal(renamed.body.port, 5080);
    const tcp = await t.org.req('PATCH', `/v1/trunks/${c.body.id}`, { transport: 'tcp' });
    assert.equal((await t.org.req('PATCH', `/v1/trunks/${c.body.id}`, { name: 'Again' })).body.transport, 'tcp');
    assert.equal(tcp.status, 200);
    const empty = await t.org.req('PATCH', `/v1/trunks/${c.body.id}`, {});
    assert.equal(empty.status, 400);
    assert.equal((await t.org.req('PATCH', '/v1/trunks/trk_nope', { port: 1 })).status, 404);
  });

  test('a trunk still used by a number cannot be deleted (409); afterwards it can (204, then 404)', async () => {
    const tr = await t.org.req('POST', '/v1/trunks', { name: 'Used', host: 'u.example' });
    const n = await t.org.req('POST', '/v1/phone-numbers', { number: '+14155550900', trunk_id: tr.body.id });
    const d1 = await t.org.req('DELETE', `/v1/trunks/${tr.body.id}`);
    assert.equal(d1.status, 409);
    assert.equal(d1.body.error.code, 'trunk_in_use');
    assert.equal((await t.org.req('DELETE', `/v1/phone-numbers/${n.body.id}`)).status, 204);
    assert.equal((await t.org.req('DELETE', `/v1/trunks/${tr.body.id}`)).status, 204);
    assert.equal((await t.org.req('GET', `/v1/trunks/${tr.body.id}`)).status, 404);
    assert.equal((await t.org.req('DELETE', `/v1/trunks/${tr.body.id}`)).status, 404);
  });

  test('without OUTCALL_SECRET_KEY a password is refused (422), nothing stored', async () => {
    const plain = await startTestApp({ withSecrets: false });
    try {
      const r = await plain.org.req('POST', '/v1/trunks', { name: 'T', host: 'a.example', password: 'x' });
      assert.equal(r.status, 422);
      assert.equal(r.body.error.code, 'secret_key_missing');
      assert.equal((await plain.org.req('GET', '/v1/trunks')).body.data.length, 0);
      assert.equal((await plain.org.req('POST', '/v1/trunks', { name: 'T', host: 'a.example' })).status, 201);
    } finally {
      await plain.close();
    }
  });

  test('list paginates newest first', async () => {
    const o = await t.newOrg();
    for (let i = 0; i < 5; i++) await o.req('POST', '/v1/trunks', { name: `t${i}`, host: 'h.example' });
    const p1 = await o.req('GET', '/v1/trunks?limit=2');
    assert.deepEqual(p1.body.data.map((x: { name: string }) => x.name), ['t4', 't3']);
    const p2 = await o.req('GET', `/v1/trunks?limit=2&cursor=${p1.body.next_cursor}`);
    assert.deepEqual(p2.body.data.map((x: { name: string }) => x.name), ['t2', 't1']);
    const p3 = await o.req('GET', `/v1/trunks?limit=2&cursor=${p2.body.next_cursor}`);
    assert.deepEqual(p3.body.data.map((x: { name: string }) => x.name), ['t0']);
    assert.equal(p3.body.next_cursor, null);
  });
});

describe('phone numbers', () => {
  test('create, duplicate 409, references checked, patch, delete', async () => {
    const tr = await t.org.req('POST', '/v1/trunks', { name: 'N', host: 'n.example' });
    const ag = await t.org.req('POST', '/v1/agents', { name: 'A' });
    const c = await t.org.req('POST', '/v1/phone-numbers', { number: '+442071838750', trunk_id: tr.body.id, outbound_agent_id: ag.body.id });
    assert.equal(c.status, 201, c.raw);
    assert.equal(c.body.outbound_agent_id, ag.body.id);
    const dup = await t.org.req('POST', '/v1/phone-numbers', { number: '+442071838750', trunk_id: tr.body.id });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.error.code, 'phone_number_exists');
    const noTrunk = await t.org.req('POST', '/v1/phone-numbers', { number: '+442071838751', trunk_id: 'trk_nope' });
    assert.equal(noTrunk.status, 404);
    assert.equal(noTrunk.body.error.param, 'trunk_id');
    const noAgent = await t.org.req('POST', '/v1/phone-numbers', { number: '+442071838751', trunk_id: tr.body.id, outbound_agent_id: 'agt_nope' });
    assert.equal(noAgent.body.error.code, 'agent_not_found');
    const bad = await t.org.req('POST', '/v1/phone-numbers', { number: '+44 20 7183 8750', trunk_id: tr.body.id });
    assert.equal(bad.body.error.code, 'invalid_phone_number');
    assert.match(bad.body.error.message, /dashes, spaces/);
    const p = await t.org.req('PATCH', `/v1/phone-numbers/${c.body.id}`, { outbound_agent_id: null });
    assert.equal(p.body.outbound_agent_id, null);
    assert.equal((await t.org.req('DELETE', `/v1/phone-numbers/${c.body.id}`)).status, 204);
    // Once deleted, the number may be registered again.
    assert.equal((await t.org.req('POST', '/v1/phone-numbers', { number: '+442071838750', trunk_id: tr.body.id })).status, 201);
  });

  test('inbound: inbound_agent_id must be a voice agent of the organization; the inbound webhook is an http(s) URL, not private, with a bounded deadline; deleting the agent clears it', async () => {
    const tr = await t.org.req('POST', '/v1/trunks', { name: 'In', host: 'in.example' });
    assert.deepEqual(tr.body.inbound_addresses, [], 'by default only the trunk host calls in');
    const ranges = await t.org.req('PATCH', `/v1/trunks/${tr.body.id}`, { inbound_addresses: ['198.51.100.0/24', ' 2001:db8::/32', '203.0.113.9'] });
    assert.deepEqual(ranges.body.inbound_addresses, ['198.51.100.0/24', '2001:db8::/32', '203.0.113.9'], ranges.raw);
    const badRange = await t.org.req('PATCH', `/v1/trunks/${tr.body.id}`, { inbound_addresses: ['198.51.100.0/24', '198.51.100.0/33'] });
    assert.deepEqual([badRange.status, badRange.body.error.code, badRange.body.error.param], [400, 'invalid_request', 'inbound_addresses[1]'], badRange.raw);
    const ag = await t.org.req('POST', '/v1/agents', { name: 'Receptionist' });
    const c = await t.org.req('POST', '/v1/phone-numbers', {
      number: '+442071838760',
      trunk_id: tr.body.id,
      inbound_agent_id: ag.body.id,
      inbound_webhook_url: 'https://crm.example.com/who',
      inbound_webhook_timeout_ms: 1500,
    });
    assert.equal(c.status, 201, c.raw);
    assert.deepEqual([c.body.inbound_agent_id, c.body.inbound_webhook_url, c.body.inbound_webhook_timeout_ms, c.body.outbound_agent_id], [ag.body.id, 'https://crm.example.com/who', 1500, null]);
    const noAgent = await t.org.req('POST', '/v1/phone-numbers', { number: '+442071838761', trunk_id: tr.body.id, inbound_agent_id: 'agt_nope' });
    assert.deepEqual([noAgent.status, noAgent.body.error.code, noAgent.body.error.param], [404, 'agent_not_found', 'inbound_agent_id']);
    const other = await t.newOrg('org inbound');
    const theirs = await other.req('POST', '/v1/agents', { name: 'Theirs' });
    const foreign = await t.org.req('PATCH', `/v1/phone-numbers/${c.body.id}`, { inbound_agent_id: theirs.body.id });
    assert.equal(foreign.body.error.code, 'agent_not_found', 'another organization\'s agent is not found');
    const priv = await t.org.req('PATCH', `/v1/phone-numbers/${c.body.id}`, { inbound_webhook_url: 'http://10.0.0.5/who' });
    assert.deepEqual([priv.status, priv.body.error.code, priv.body.error.param], [400, 'private_url_not_allowed', 'inbound_webhook_url'], priv.raw);
    const text = await t.org.req('POST', '/v1/agents', { name: 'Chat', kind: 'text' });
    const chat = await t.org.req('PATCH', `/v1/phone-numbers/${c.body.id}`, { inbound_agent_id: text.body.id });
    assert.deepEqual([chat.body.error?.code, chat.body.error?.param], ['agent_cannot_place_calls', 'inbound_agent_id'], 'a text agent answers no calls');
    const slow = await t.org.req('PATCH', `/v1/phone-numbers/${c.body.id}`, { inbound_webhook_timeout_ms: 60_000 });
    assert.equal(slow.status, 400, slow.raw);
    assert.equal((await t.org.req('DELETE', `/v1/agents/${ag.body.id}`)).status, 204);
    const after = await t.org.req('GET', `/v1/phone-numbers/${c.body.id}`);
    assert.equal(after.body.inbound_agent_id, null, 'a deleted agent answers no calls');
  });

  test('one organization answers a number: another may dial from it, not answer it (409 phone_number_answered_elsewhere), on create and on patch', async () => {
    const ours = await t.org.req('POST', '/v1/agents', { name: 'Front desk' });
    const tr = await t.org.req('POST', '/v1/trunks', { name: 'Owner', host: 'owner.example' });
    const owned = await t.org.req('POST', '/v1/phone-numbers', { number: '+442071838790', trunk_id: tr.body.id, inbound_agent_id: ours.body.id });
    assert.equal(owned.status, 201, owned.raw);
    const other = await t.newOrg('org squatter');
    const theirTrunk = await other.req('POST', '/v1/trunks', { name: 'Same carrier', host: 'owner.example' });
    const theirAgent = await other.req('POST', '/v1/agents', { name: 'Not the front desk' });
    const squat = await other.req('POST', '/v1/phone-numbers', { number: '+442071838790', trunk_id: theirTrunk.body.id, inbound_agent_id: theirAgent.body.id });
    assert.deepEqual([squat.status, squat.body.error?.code, squat.body.error?.param], [409, 'phone_number_answered_elsewhere', 'inbound_agent_id'], squat.raw);
    // Dialing from it is theirs to do (caller id); answering it is not.
    const outboundOnly = await other.req('POST', '/v1/phone-numbers', { number: '+442071838790', trunk_id: theirTrunk.body.id, outbound_agent_id: theirAgent.body.id });
    assert.equal(outboundOnly.status, 201, outboundOnly.raw);
    const patch = await other.req('PATCH', `/v1/phone-numbers/${outboundOnly.body.id}`, { inbound_agent_id: theirAgent.body.id });
    assert.deepEqual([patch.status, patch.body.error?.code], [409, 'phone_number_answered_elsewhere'], patch.raw);
    // Once the owner lets go of it, the other organization may answer it.
    assert.equal((await t.org.req('PATCH', `/v1/phone-numbers/${owned.body.id}`, { inbound_agent_id: null })).status, 200);
    const taken = await other.req('PATCH', `/v1/phone-numbers/${outboundOnly.body.id}`, { inbound_agent_id: theirAgent.body.id });
    assert.equal(taken.status, 200, taken.raw);
    const back = await t.org.req('PATCH', `/v1/phone-numbers/${owned.body.id}`, { inbound_agent_id: ours.body.id });
    assert.equal(back.body.error?.code, 'phone_number_answered_elsewhere', back.raw);
  });
});

describe('agents', () => {
  test('create with providers and tools; api keys are write-only and encrypted', async () => {
    const r = await t.org.req('POST', '/v1/agents', {
      name: 'Clinic caller',
      system_prompt: 'You confirm appointments for {{clinic}}.',
      greeting: 'Hi, this is {{clinic}}.',
      language: 'en-GB',
      voice: 'slt',
      stt: { provider: 'deepgram', model: 'nova-3', api_key: 'dg-secret-123' },
      llm: { provider: 'openai', model: 'gpt-4o-mini', temperature: 0.3, max_tokens: 300, api_key: 'sk-secret-456' },
      tts: { provider: 'espeak-ng', voice: 'en-us' },
      tools: [
        { type: 'end_call' },
        { type: 'http', name: 'book_slot', description: 'Books a slot', url: 'https://api.example.com/book', parameters: { type: 'object' }, timeout_ms: 3000 },
      ],
      webhook_url: 'https://hooks.example.com/calls',
      max_cps: 2.5,
      max_concurrent_calls: 10,
      on_limit: 'reject',
    });
    assert.equal(r.status, 201, r.raw);
    assert.ok(!r.raw.includes('secret-123') && !r.raw.includes('secret-456'));
    assert.deepEqual(r.body.stt, { provider: 'deepgram', model: 'nova-3', has_api_key: true });
    assert.equal(r.body.llm.has_api_key, true);
    assert.equal(r.body.tts.has_api_key, false);
    assert.equal(r.body.tools.length, 2);
    assert.equal(r.body.kind, 'voice');
    const row = await t.db.query<{ provider_secrets_enc: string }>(sql`select provider_secrets_enc from agents where id = ${r.body.id}`);
    const enc = row.rows[0]?.provider_secrets_enc as string;
    assert.ok(!enc.includes('secret'));
    assert.deepEqual(JSON.parse(t.ctx.secrets?.decrypt(enc) as string), { stt: 'dg-secret-123', llm: 'sk-secret-456' });
    // Replacing llm without a key drops its key and keeps the others.
    const p = await t.org.req('PATCH', `/v1/agents/${r.body.id}`, { llm: { provider: 'groq', model: 'llama' } });
    assert.equal(p.status, 200, p.raw);
    assert.equal(p.body.max_cps, 2.5, 'untouched fields keep their values');
    assert.equal(p.body.on_limit, 'reject');
    assert.equal(p.body.language, 'en-GB');
    assert.equal(p.body.llm.has_api_key, false);
    assert.equal(p.body.stt.has_api_key, true);
    const row2 = await t.db.query<{ provider_secrets_enc: string }>(sql`select provider_secrets_enc from agents where id = ${r.body.id}`);
    assert.deepEqual(JSON.parse(t.ctx.secrets?.decrypt(row2.rows[0]?.provider_secrets_enc as string) as string), { stt: 'dg-secret-123' });
  });

  test('fallback providers: each keeps its own encrypted key; PATCH replaces a chain with its keys; bad fallbacks are named', async () => {
    const r = await t.org.req('POST', '/v1/agents', {
      name: 'Chain',
      llm: {
        provider: 'openai', model: 'gpt-4o-mini', api_key: 'sk-first-111',
        fallbacks: [{ provider: 'groq', model: 'llama', api_key: 'gq-second-222' }, { provider: 'ollama', model: 'qwen' }],
      },
      stt: { provider: 'assemblyai', api_key: 'ps-333' },
    });
    assert.equal(r.status, 201, r.raw);
    assert.ok(!r.raw.includes('111') && !r.raw.includes('222'));
    assert.deepEqual(r.body.llm.fallbacks, [{ provider: 'groq', model: 'llama', has_api_key: true }, { provider: 'ollama', model: 'qwen', has_api_key: false }]);
    const secrets = async () => {
      const row = await t.db.query<{ provider_secrets_enc: string }>(sql`select provider_secrets_enc from agents where id = ${r.body.id}`);
      return JSON.parse(t.ctx.secrets?.decrypt(row.rows[0]?.provider_secrets_enc as string) as string) as Record<string, string>;
    };
    assert.deepEqual(await secrets(), { llm: 'sk-first-111', 'llm.fallbacks.0': 'gq-second-222', stt: 'ps-333' });
    // A new chain without keys leaves no key of the old chain behind (a key never moves to another vendor).
    const p = await t.org.req('PATCH', `/v1/agents/${r.body.id}`, { llm: { provider: 'groq', model: 'llama', fallbacks: [{ provider: 'openai', model: 'x', api_key: 'sk-new-444' }] } });
    assert.equal(p.status, 200, p.raw);
    assert.deepEqual(await secrets(), { 'llm.fallbacks.0': 'sk-new-444', stt: 'ps-333' });
    const bad: Array<[Record<string, unknown>, string, string]> = [
      [{ llm: { provider: 'openai', model: 'x', fallbacks: [{ provider: 'watson' }] } }, 'unsupported_provider', 'llm.fallbacks[0].provider'],
      [{ tts: { provider: 'espeak-ng', fallbacks: [{ provider: 'flite', voice: 'nobody' }] } }, 'unsupported_provider', 'tts.fallbacks[0].voice'],
      [{ llm: { provider: 'openai', model: 'x', fallbacks: [{ provider: 'groq', fallbacks: [] }] } }, 'unknown_field', 'llm.fallbacks[0].fallbacks'],
      [{ llm: { provider: 'openai', model: 'x', fallbacks: [1, 2, 3, 4].map(() => ({ provider: 'groq' })) } }, 'invalid_request', 'llm.fallbacks'],
      [{ llm: { provider: 'openai', model: 'x', fallbacks: [{ provider: 'vllm', base_url: 'http://10.0.0.8:8000/v1' }] } }, 'private_url_not_allowed', 'llm.fallbacks[0].base_url'],
      [{ llm: { provider: 'openai', model: 'x', fallbacks: [{ provider: 'anthropic', temperature: 1.5 }] } }, 'unsupported_provider', 'llm.fallbacks[0]'],
      [{ llm: { provider: 'anthropic', options: { promt_caching: false } } }, 'unsupported_provider', 'llm'],
      [{ tts: { provider: 'elevenlabs', options: { stability: 'high' } } }, 'unsupported_provider', 'tts.options'],
    ];
    for (const [patch, code, field] of bad) {
      const b = await t.org.req('PATCH', `/v1/agents/${r.body.id}`, patch);
      assert.equal(b.body.error?.code, code, `${JSON.stringify(patch)}: ${b.raw}`);
      assert.equal(b.body.error?.param, field, JSON.stringify(patch));
    }
  });

  test('a provider setting its provider would ignore is refused with 422 setting_not_applicable, naming the field and what applies', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ stt: { provider: 'deepgram', temperature: 0.2 } }, 'stt.temperature'],
      [{ stt: { provider: 'deepgram', voice: 'x' } }, 'stt.voice'],
      [{ stt: { provider: 'pocketsphinx', model: 'en-us' } }, 'stt.model'],
      [{ stt: { provider: 'pocketsphinx', api_key: 'k' } }, 'stt.api_key'],
      [{ stt: { provider: 'deepgram', fallbacks: [{ provider: 'pocketsphinx', base_url: 'https://x.example.com' }] } }, 'stt.fallbacks[0].base_url'],
      [{ tts: { provider: 'espeak-ng', model: 'x' } }, 'tts.model'],
      [{ tts: { provider: 'flite', options: { speed: 1 } } }, 'tts.options'],
      [{ tts: { provider: 'elevenlabs', max_tokens: 10 } }, 'tts.max_tokens'],
      [{ llm: { provider: 'openai', model: 'x', voice: 'alloy' } }, 'llm.voice'],
      [{ llm: { provider: 'openai', model: 'x', fallbacks: [{ provider: 'groq', voice: 'alloy' }] } }, 'llm.fallbacks[0].voice'],
    ];
    for (const [body, field] of cases) {
      const r = await t.org.req('POST', '/v1/agents', { name: 'n/a', ...body });
      assert.equal(r.status, 422, `${JSON.stringify(body)}: ${r.raw}`);
      assert.equal(r.body.error.code, 'setting_not_applicable');
      assert.equal(r.body.error.param, field);
      assert.match(r.body.error.message, /it takes: /);
    }
    const ok = await t.org.req('POST', '/v1/agents', {
      name: 'applicable',
      stt: { provider: 'deepgram', model: 'nova-3', language: 'en-US', fallbacks: [{ provider: 'pocketsphinx', options: { end_silence_ms: 400 } }] },
      tts: { provider: 'elevenlabs', model: 'eleven_flash_v2_5', voice: 'v1' },
      llm: { provider: 'anthropic', model: 'claude-haiku-4-5', temperature: 0.3, max_tokens: 200 },
    });
    assert.equal(ok.status, 201, ok.raw);
  });

  test('speech_to_speech: stored without its key (encrypted apart), replaced whole by PATCH; a flow or a bad option is refused', async () => {
    const r = await t.org.req('POST', '/v1/agents', {
      name: 'Realtime', speech_to_speech: { provider: 'openai', model: 'gpt-realtime', voice: 'marin', api_key: 'sk-rt-555', options: { vad: 'semantic_vad' } },
    });
    assert.equal(r.status, 201, r.raw);
    assert.ok(!r.raw.includes('sk-rt-555'));
    assert.deepEqual(r.body.speech_to_speech, { provider: 'openai', model: 'gpt-realtime', voice: 'marin', options: { vad: 'semantic_vad' }, has_api_key: true });
    const row = await t.db.query<{ provider_secrets_enc: string }>(sql`select provider_secrets_enc from agents where id = ${r.body.id}`);
    assert.deepEqual(JSON.parse(t.ctx.secrets?.decrypt(row.rows[0]?.provider_secrets_enc as string) as string), { speech_to_speech: 'sk-rt-555' });
    const flow = { start: 'a', nodes: { a: { type: 'end' } } };
    const withFlow = await t.org.req('PATCH', `/v1/agents/${r.body.id}`, { flow });
    assert.equal(withFlow.body.error?.code, 'invalid_request', withFlow.raw);
    assert.equal(withFlow.body.error?.param, 'speech_to_speech');
    const bad: Array<[unknown, string, string]> = [
      [{ provider: 'gemini' }, 'unsupported_provider', 'speech_to_speech.provider'],
      [{ provider: 'openai', options: { vad: 'loud' } }, 'unsupported_provider', 'speech_to_speech'],
      [{ provider: 'openai', fallbacks: [] }, 'unknown_field', 'speech_to_speech.fallbacks'],
    ];
    for (const [s2s, code, param] of bad) {
      const b = await t.org.req('PATCH', `/v1/agents/${r.body.id}`, { speech_to_speech: s2s });
      assert.equal(b.body.error?.code, code, `${JSON.stringify(s2s)}: ${b.raw}`);
      assert.equal(b.body.error?.param, param);
    }
    const off = await t.org.req('PATCH', `/v1/agents/${r.body.id}`, { speech_to_speech: null, flow });
    assert.equal(off.status, 200, off.raw);
    assert.equal(off.body.speech_to_speech, null);
    const row2 = await t.db.query<{ provider_secrets_enc: string | null }>(sql`select provider_secrets_enc from agents where id = ${r.body.id}`);
    assert.equal(row2.rows[0]?.provider_secrets_enc, null, 'its key went with it');
  });

  test('validation of agent fields and tool rules', async () => {
    const bad: Array<[Record<string, unknown>, number, string, string]> = [
      [{ name: '' }, 400, 'invalid_request', 'name'],
      [{ name: 'a', kind: 'robot' }, 400, 'invalid_request', 'kind'],
      [{ name: 'a', language: 'english!' }, 400, 'invalid_request', 'language'],
      [{ name: 'a', max_cps: 0 }, 400, 'invalid_request', 'max_cps'],
      [{ name: 'a', on_limit: 'drop' }, 400, 'invalid_request', 'on_limit'],
      [{ name: 'a', llm: { provider: 'openai', temprature: 1 } }, 400, 'unknown_field', 'llm.temprature'],
      [{ name: 'a', llm: { provider: 'openai', temperature: 3 } }, 400, 'invalid_request', 'llm.temperature'],
      [{ name: 'a', stt: { model: 'x' } }, 400, 'missing_field', 'stt.provider'],
      [{ name: 'a', tools: [{ type: 'http', name: 'x', description: 'd' }] }, 400, 'missing_field', 'tools[0].url'],
      [{ name: 'a', tools: [{ type: 'http', name: 'x', description: 'd', url: 'http://192.168.0.2/x' }] }, 400, 'private_url_not_allowed', 'tools[0].url'],
      [{ name: 'a', tools: [{ type: 'end_call', url: 'https://x.example.com' }] }, 400, 'invalid_request', 'tools[0]'],
      [{ name: 'a', tools: [{ type: 'end_call' }, { type: 'end_call' }] }, 400, 'invalid_request', 'tools[1].name'],
      [{ name: 'a', tools: [{ type: 'sms' }] }, 400, 'invalid_request', 'tools[0].type'],
      [{ name: 'a', webhook_url: 'http://localhost:3000/x' }, 400, 'private_url_not_allowed', 'webhook_url'],
      [{ name: 'a', stt: { provider: 'x', base_url: 'http://127.0.0.1:8000' } }, 400, 'private_url_not_allowed', 'stt.base_url'],
    ];
    const before = await t.db.query<{ n: number }>(sql`select count(*)::int as n from agents`);
    for (const [body, status, code, param] of bad) {
      const r = await t.org.req('POST', '/v1/agents', body);
      assert.equal(r.status, status, JSON.stringify(body) + r.raw);
      assert.equal(r.body.error.code, code, JSON.stringify(body) + r.raw);
      assert.equal(r.body.error.param, param, JSON.stringify(body) + r.raw);
    }
    const afterCount = await t.db.query<{ n: number }>(sql`select count(*)::int as n from agents`);
    assert.equal(afterCount.rows[0]?.n, before.rows[0]?.n);
  });

  test('conversation settings: stored as given, null by default, replaced whole by PATCH, ranges checked', async () => {
    const plain = await t.org.req('POST', '/v1/agents', { name: 'plain' });
    assert.equal(plain.body.conversation, null);
    const conversation = {
      first_speaker: 'callee',
      barge_in: { enabled: true, min_speech_ms: 400, min_words: 2 },
      inactivity_timeout_s: 8,
      inactivity_prompt: 'Hello, {{name}}?',
      wrap_up_line: 'We are out of time.',
      apology_line: 'Sorry, we have a problem.',
      filler: { after_ms: 1200, phrases: ['One moment.', 'Let me check.'] },
      vad: 'energy',
    };
    const r = await t.org.req('POST', '/v1/agents', { name: 'talker', conversation });
    assert.equal(r.status, 201, r.raw);
    assert.deepEqual(r.body.conversation, conversation);
    assert.deepEqual((await t.org.req('GET', `/v1/agents/${r.body.id}`)).body.conversation, conversation);
    const p = await t.org.req('PATCH', `/v1/agents/${r.body.id}`, { conversation: { barge_in: { enabled: false } } });
    assert.equal(p.status, 200, p.raw);
    assert.deepEqual(p.body.conversation, { barge_in: { enabled: false } });
    const cleared = await t.org.req('PATCH', `/v1/agents/${r.body.id}`, { conversation: null });
    assert.equal(cleared.body.conversation, null);
    const bad: Array<[unknown, string]> = [
      [{ first_speaker: 'nobody' }, 'conversation.first_speaker'],
      [{ barge_in: { min_speech_ms: 50 } }, 'conversation.barge_in.min_speech_ms'],
      [{ barge_in: { min_words: 21 } }, 'conversation.barge_in.min_words'],
      [{ barge_in: { enabled: 'yes' } }, 'conversation.barge_in.enabled'],
      [{ inactivity_timeout_s: 1 }, 'conversation.inactivity_timeout_s'],
      [{ inactivity_timeout_s: 601 }, 'conversation.inactivity_timeout_s'],
      [{ inactivity_prompt: '' }, 'conversation.inactivity_prompt'],
      [{ filler: { after_ms: 100, phrases: ['Hm.'] } }, 'conversation.filler.after_ms'],
      [{ filler: { after_ms: 1000, phrases: [] } }, 'conversation.filler.phrases'],
    ];
    for (const [c, param] of bad) {
      const b = await t.org.req('POST', '/v1/agents', { name: 'bad', conversation: c });
      assert.equal(b.status, 400, JSON.stringify(c) + b.raw);
      assert.equal(b.body.error.param, param, JSON.stringify(c) + b.raw);
    }
    const typo = await t.org.req('POST', '/v1/agents', { name: 'bad', conversation: { barge_in: { min_word: 2 } } });
    assert.deepEqual([typo.status, typo.body.error.code, typo.body.error.param], [400, 'unknown_field', 'conversation.barge_in.min_word']);
  });

  test('providers this server does not run are refused with 422 unsupported_provider, listing the supported ones', async () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ tts: { provider: 'polly' } }, 'tts.provider', /tts provider "polly" is not supported; supported: espeak-ng, flite/],
      [{ stt: { provider: 'whisper' } }, 'stt.provider', /supported: pocketsphinx, soundswallower, deepgram, openai/],
      [{ llm: { provider: 'cohere', model: 'x' } }, 'llm.provider', /llm provider "cohere" is not supported; supported: anthropic, openai.*ollama/],
      [{ conversation: { vad: 'webrtc' } }, 'conversation.vad', /supported: silero, energy/],
      [{ tts: { provider: 'flite', voice: 'en-us' } }, 'tts.voice', /flite has no voice "en-us"; voices: kal, kal16, awb, awb_time, rms, slt/],
      [{ tts: { provider: 'flite-wasm', voice: 'en-us' } }, 'tts.voice', /flite-wasm has no voice "en-us"; voices: slt, rms, awb, kal16, kal, awb_time/],
      [{ stt: { provider: 'pocketsphinx', options: { end_silence_ms: 10 } } }, 'stt.options', /end_silence_ms/],
    ];
    const ok = await t.org.req('POST', '/v1/agents', { name: 'ok', tts: { provider: 'flite', voice: 'slt' }, stt: { provider: 'pocketsphinx' }, conversation: { vad: 'silero' } });
    assert.equal(ok.status, 201, ok.raw);
    for (const [body, param, message] of cases) {
      const r = await t.org.req('POST', '/v1/agents', { name: 'x', ...body });
      assert.equal(r.status, 422, JSON.stringify(body) + r.raw);
      assert.equal(r.body.error.code, 'unsupported_provider');
      assert.equal(r.body.error.param, param);
      assert.match(r.body.error.message, message);
      const p = await t.org.req('PATCH', `/v1/agents/${ok.body.id}`, body);
      assert.equal(p.status, 422, 'PATCH is checked too');
    }
    assert.equal((await t.org.req('GET', `/v1/agents/${ok.body.id}`)).body.tts.voice, 'slt', 'nothing written by refused PATCHes');
  });

  test('private URLs are accepted when the operator allows them', async () => {
    const open = await startTestApp({ allowPrivateUrls: true });
    try {
      const r = await open.org.req('POST', '/v1/agents', { name: 'a', webhook_url: 'http://127.0.0.1:9999/hook' });
      assert.equal(r.status, 201, r.raw);
    } finally {
      await open.close();
    }
  });

  test('delete hides the agent, unlinks its numbers, keeps its calls readable', async () => {
    const tr = await t.org.req('POST', '/v1/trunks', { name: 'D', host: 'd.example' });
    const ag = await t.org.req('POST', '/v1/agents', { name: 'Gone' });
    const n = await t.org.req('POST', '/v1/phone-numbers', { number: '+14155550777', trunk_id: tr.body.id, outbound_agent_id: ag.body.id });
    const call = await t.org.req('POST', `/v1/agents/${ag.body.id}/outbound-calls`, { to: '+14155550123' });
    assert.equal(call.status, 202);
    assert.equal((await t.org.req('DELETE', `/v1/agents/${ag.body.id}`)).status, 204);
    assert.equal((await t.org.req('GET', `/v1/agents/${ag.body.id}`)).status, 404);
    assert.equal((await t.org.req('GET', `/v1/phone-numbers/${n.body.id}`)).body.outbound_agent_id, null);
    const kept = await t.org.req('GET', `/v1/agents/${ag.body.id}/outbound-calls/${call.body.id}`);
    assert.equal(kept.status, 200);
    // Nobody dispatches in this app: the call was still queued, so deleting its agent canceled it.
    assert.equal(kept.body.status, 'canceled');
    assert.equal(kept.body.end_reason, 'agent_deleted');
    const events = await t.org.req('GET', `/v1/calls/${call.body.id}/events`);
    assert.deepEqual(events.body.data.map((e: { to_status: string }) => e.to_status).slice(-1), ['canceled']);
    assert.equal((await t.org.req('POST', `/v1/agents/${ag.body.id}/outbound-calls`, { to: '+14155550123' })).status, 404);
  });
});

describe('agent flows', () => {
  const flow = {
    start: 'greet',
    nodes: {
      greet: { type: 'say', text: 'Hi {{name}}, can you make Tuesday?', next: 'ask' },
      ask: { type: 'listen', timeout_ms: 5000, next: 'decide', on_timeout: 'bye' },
      decide: { type: 'branch', cases: [{ keywords: ['yes'], next: 'book' }], default: 'bye' },
      book: { type: 'tool', tool: 'book_slot', on_success: 'bye', on_failure: 'bye' },
      bye: { type: 'end', text: 'Goodbye.' },
    },
  };
  const tools = [{ type: 'http', name: 'book_slot', description: 'Books', url: 'https://api.example.com/book' }];

  test('a valid flow is stored and returned as given; an invalid one is refused naming the problem', async () => {
    const ok = await t.org.req('POST', '/v1/agents', { name: 'Flowing', flow, tools });
    assert.equal(ok.status, 201, ok.raw);
    assert.deepEqual(ok.body.flow, flow);
    assert.deepEqual((await t.org.req('GET', `/v1/agents/${ok.body.id}`)).body.flow, flow);
    const noTool = await t.org.req('POST', '/v1/agents', { name: 'No tool', flow });
    assert.equal(noTool.status, 400);
    assert.equal(noTool.body.error.code, 'invalid_flow');
    assert.match(noTool.body.error.message, /book_slot/);
    const broken = await t.org.req('POST', '/v1/agents', { name: 'Broken', flow: { start: 'nowhere', nodes: { a: { type: 'say', text: 'x', next: 'b' } } } });
    assert.equal(broken.body.error.code, 'invalid_flow');
    // Removing the tool the stored flow calls is refused too; clearing the flow is allowed.
    const drop = await t.org.req('PATCH', `/v1/agents/${ok.body.id}`, { tools: [] });
    assert.equal(drop.body.error.code, 'invalid_flow');
    const cleared = await t.org.req('PATCH', `/v1/agents/${ok.body.id}`, { flow: null });
    assert.equal(cleared.status, 200, cleared.raw);
    assert.equal(cleared.body.flow, null);
    assert.equal((await t.org.req('POST', '/v1/agents', { name: 'Plain' })).body.flow, null);
  });
});
