/**
 * Inbound calls on live SIP: baresip calls one of our numbers through the worker's SIP port; the
 * number's inbound agent (a flow) answers with its greeting, hears the caller (L16/16000), takes its
 * keyword branch and hangs up. The call is a call like the others (direction inbound, ringing ->
 * in_progress -> completed, transcript, signed call.result to the agent's webhook_url). SIPp checks
 * the refusals: a number we do not have (404), a caller that is not the number's trunk (403), and a
 * call over the agent's concurrent-call limit (486, recorded failed / over_limit).
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { verifyWebhook } from '../../src/http-client/signing.js';
import type { CallPlane } from '../../src/worker/control/call-plane.js';
import { readWav, rms } from '../fixtures/media/signals.js';
import { startBaresip, type Baresip } from '../fixtures/media/baresip.js';
import { CALLEE_RATE, calleeSpeech } from '../fixtures/voice/callee.js';
import { toolAvailable } from '../helpers/require-tool.js';
import { freeUdpPort, startSipp } from '../helpers/sipp.js';
import { startTestCallPlane } from '../helpers/test-call-plane.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';
import { sql } from '../../src/store/sql.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import { WebhookDeliverer } from '../../src/webhooks/deliverer.js';
import { OpenAiProtocolServer } from '../helpers/openai-protocol-server.js';
import { OpenAiRealtimeServer } from '../helpers/openai-realtime-server.js';
import { resample } from '../../src/media/index.js';
import { wavBytes } from '../fixtures/media/signals.js';
import { calleeScript } from '../fixtures/voice/callee.js';

const missing = ['baresip', 'sipp', 'espeak-ng', 'flite', 'sox', 'pocketsphinx_continuous'].filter((b) => !toolAvailable(b));
const skip = missing.length > 0 ? `${missing.join(', ')} not installed (scripts/setup-test-env.sh)` : false;
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/sipp/${name}`, import.meta.url));

const flow = {
  start: 'greet',
  nodes: {
    greet: { type: 'say', text: 'Thanks for calling the clinic, {{name}}. Which day suits you?', next: 'ask' },
    ask: { type: 'listen', timeout_ms: 12000, next: 'decide', on_timeout: 'bye' },
    decide: { type: 'branch', cases: [{ keywords: ['tuesday'], next: 'tuesday' }], default: 'sorry' },
    tuesday: { type: 'say', text: 'Tuesday it is. Goodbye.', next: 'bye' },
    sorry: { type: 'say', text: 'Sorry, I did not get that.', next: 'bye' },
    bye: { type: 'end' },
  },
};

let t: TestApp;
let plane: CallPlane;
let caller: Baresip | undefined;
const hooks = new WebhookReceiver();
/** The numbers' inbound webhooks (their own script of answers). */
const lookups = new WebhookReceiver();
let deliverer: WebhookDeliverer;
let llm: OpenAiProtocolServer;
let realtime: OpenAiRealtimeServer;

before(async () => {
  if (skip) return;
  t = await startTestApp({ allowPrivateUrls: true });
  await hooks.start();
  await lookups.start();
  deliverer = new WebhookDeliverer(t.ctx, { pollMs: 100 });
  await deliverer.start();
  llm = await OpenAiProtocolServer.start({ answerSummaries: true });
  realtime = await OpenAiRealtimeServer.start();
  plane = await startTestCallPlane(t.ctx, { rtpPortMin: 47800, rtpPortMax: 47898, codecs: ['L16/16000', 'PCMU', 'PCMA'] });
});
after(async () => {
  if (skip) return;
  await plane.stop();
  await deliverer.stop();
  await llm.close();
  await realtime.close();
  await hooks.stop();
  await lookups.stop();
  await t.close();
});
afterEach(async () => {
  await caller?.stop();
  caller = undefined;
});

const uniq = () => String(Math.floor(Math.random() * 9e6) + 1e6);

async function numberFor(agent: Record<string, unknown>, trunkHost = '127.0.0.1', trunkPort = 5060, numberFields: Record<string, unknown> = {}) {
  const n = uniq();
  const trunk = await t.org.req('POST', '/v1/trunks', { name: `in-${n}`, host: trunkHost, port: trunkPort });
  assert.equal(trunk.status, 201, trunk.raw);
  const a = await t.org.req('POST', '/v1/agents', { name: `in-${n}`, ...agent });
  assert.equal(a.status, 201, a.raw);
  const number = `+1628${n}`;
  // The agent answers the number's calls and dials out from it.
  const pn = await t.org.req('POST', '/v1/phone-numbers', { number, trunk_id: trunk.body.id, inbound_agent_id: a.body.id, outbound_agent_id: a.body.id, ...numberFields });
  assert.equal(pn.status, 201, pn.raw);
  assert.equal(pn.body.inbound_agent_id, a.body.id);
  return { number, agentId: a.body.id as string, trunkId: trunk.body.id as string };
}

async function inboundCallsTo(number: string) {
  const r = await t.db.query<{ id: string }>(
    sql`select id from calls where to_address = ${number} and direction = 'inbound' order by created_at`,
  );
  return r.rows.map((x) => x.id);
}

const ENDED = ['completed', 'failed', 'busy', 'no_answer', 'canceled'];

/** The call as the API shows it once it has ended. */
function callEnded(id: string | undefined, withinMs: number) {
  return waitFor(`call ${id} to end`, async () => {
    const got = await t.org.req('GET', `/v1/calls/${id}`);
    return ENDED.includes(got.body.status) ? got.body : undefined;
  }, withinMs);
}

/** baresip dials our number; the inbound call once ended, with its transcript (and as one line). */
async function dialledAndEnded(c: Baresip, number: string) {
  c.type(`/dial sip:${number}@127.0.0.1:${plane.sipPort}\n`);
  const id = await waitFor('the inbound call to be recorded', async () => (await inboundCallsTo(number))[0], 15_000);
  const call = await callEnded(id, 60_000);
  const turns = ((await t.org.req('GET', `/v1/transcripts/${call.transcript_id}`)).body.turns ?? []) as Array<{ speaker: string; text: string }>;
  return { id, call, turns, said: JSON.stringify(turns.map((x) => [x.speaker, x.text])) };
}

/** SIPp calls `service` `calls` times, one after another, each refused; the final statuses in order. */
async function refusals(service: string, calls: number): Promise<number[]> {
  const p = await startSipp({
    scenario: fixture('uac_call_refused.xml'),
    port: await freeUdpPort(),
    calls,
    keys: { from_user: '+14155550199' },
    extraArgs: ['-s', service, '-l', '1', `127.0.0.1:${plane.sipPort}`],
  });
  try {
    const code = await p.exited;
    assert.equal(code, 0, p.trace().slice(-2000));
    return p.received().map((m) => Number(/^SIP\/2\.0 (\d{3})/.exec(m)?.[1] ?? 0)).filter((s) => s >= 300);
  } finally {
    await p.stop();
  }
}

describe('inbound calls on live SIP (baresip and SIPp calling the worker)', { skip }, () => {
  test("baresip calls our number: its inbound agent answers with the greeting, hears the caller, branches, hangs up; a call like the others, with a signed call.result", async (tc) => {
    // The number's webhook names the caller and gives metadata (verbatim, numbers as written).
    const { number, agentId } = await numberFor({ flow, webhook_url: hooks.url('/inbound') }, '127.0.0.1', 5060, { inbound_webhook_url: lookups.url('/who') });
    lookups.answer({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"dynamic_variables":{"name":"Ana"},"call_context":"Ana has a visit due.","metadata":{"crm_id":42.50}}' });
    const prompt = calleeSpeech('please book me on tuesday afternoon', 5, 12);
    assert.ok(prompt, 'flite + sox made the caller speech');
    caller = await startBaresip({ prompt, codecs: 'L16/16000/1', srate: CALLEE_RATE, modules: ['l16.so'], keyboard: true, user: 'alice', runSeconds: 60 });
    const c = caller;
    c.type(`/dial sip:${number}@127.0.0.1:${plane.sipPort}\n`);
    const id = await waitFor('the inbound call to be recorded', async () => (await inboundCallsTo(number))[0], 15_000).catch((err: Error) => {
      throw new Error(`${err.message}\nbaresip log:\n${c.log().slice(-3000)}`);
    });
    const call = await callEnded(id, 60_000);
    const tr = call.transcript_id ? await t.org.req('GET', `/v1/transcripts/${call.transcript_id}`) : undefined;
    const turns = (tr?.body.turns ?? []) as Array<{ speaker: string; text: string }>;
    const said = JSON.stringify(turns.map((x) => [x.speaker, x.text]));
    tc.diagnostic(`call ${call.status}/${call.end_reason}; from ${call.from} to ${call.to}; transcript ${said}`);
    assert.deepEqual([call.direction, call.status, call.end_reason, call.agent_id, call.to], ['inbound', 'completed', 'agent_hangup', agentId, number], `${said}\nbaresip log:\n${c.log().slice(-2000)}`);
    assert.match(call.from, /alice/, 'from is the caller');
    assert.equal(turns[0]?.speaker, 'agent');
    assert.equal(turns[0]?.text, 'Thanks for calling the clinic, Ana. Which day suits you?', 'the webhook\'s variables filled the greeting');
    const ask = lookups.received.find((h) => h.url === '/who');
    assert.ok(ask, 'the inbound webhook was asked');
    const [signing] = (await t.org.req('GET', '/v1/webhook-secrets')).body.data.map((s: { secret: string }) => s.secret);
    verifyWebhook(signing, ask.headers as Record<string, string>, ask.body);
    const q = JSON.parse(ask.body);
    assert.deepEqual([q.type, q.data.call_id, q.data.to, q.data.agent_id], ['call.inbound', id, number, agentId]);
    assert.match(q.data.from, /alice/);
    assert.equal(call.call_context, 'Ana has a visit due.');
    assert.ok(turns.some((x) => x.speaker === 'callee' && /tuesday/.test(x.text)), `the caller was heard: ${said}`);
    assert.equal(turns.at(-1)?.text, 'Tuesday it is. Goodbye.', `the keyword branch: ${said}`);
    const events = await t.org.req('GET', `/v1/calls/${id}/events`);
    const path = (events.body.data as Array<{ to_status: string }>).map((e) => e.to_status);
    assert.deepEqual(path.filter((s) => s !== undefined), ['ringing', 'in_progress', 'completed'], JSON.stringify(events.body));
    // The result webhook, once, signed, to the agent's webhook_url.
    const hook = await waitFor('call.result', () => hooks.received.find((h) => h.url === '/inbound' && JSON.parse(h.body).type === 'call.result'), 30_000);
    const [secret] = (await t.org.req('GET', '/v1/webhook-secrets')).body.data.map((s: { secret: string }) => s.secret);
    verifyWebhook(secret, hook.headers as Record<string, string>, hook.body);
    const result = JSON.parse(hook.body);
    assert.deepEqual([result.data.call_id, result.data.status], [id, 'completed']);
    assert.match(hook.body, /"metadata":\{"crm_id":42\.50\}/, 'the metadata as the webhook wrote it');
    assert.equal(hooks.received.filter((h) => h.url === '/inbound' && JSON.parse(h.body).type === 'call.result').length, 1);
    // What baresip heard: the greeting, as speech.
    await waitFor('baresip to close the call', () => /terminated|closed/i.test(c.log()), 10_000);
    const dec = await waitFor('baresip recording', () => c.recordings().find((p) => p.endsWith('-dec.wav')), 5000);
    const heard = readWav(dec);
    assert.ok(rms(heard.samples) > 300, `the caller heard the agent (rms ${rms(heard.samples).toFixed(0)})`);
  });

  test('an LLM agent answers an inbound call: greeting, the caller asks, the model (with the caller in its context) answers and ends the call with end_call', async (tc) => {
    const GOODBYE = 'Your order ships tomorrow. Goodbye.';
    const { number } = await numberFor({
      system_prompt: 'You answer calls about orders. The caller is {{name}}.',
      greeting: 'Outcall orders desk, how can I help?',
      tts: { provider: 'espeak-ng' },
      llm: { provider: 'openai', base_url: llm.baseUrl, model: 'gpt-4o-mini', api_key: 'sk-test-inbound-0123456789' },
    }, '127.0.0.1', 5060, { inbound_webhook_url: lookups.url('/who-llm') });
    lookups.answer({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"dynamic_variables":{"name":"Ana"},"call_context":"Ana ordered a blue bicycle."}' });
    llm.reply({ kind: 'tool_calls', calls: [{ id: 'call_end_in', name: 'end_call', argumentPieces: [JSON.stringify({ goodbye: GOODBYE })] }] });
    const before = llm.requests.length;
    const prompt = calleeSpeech('where is my order please', 5, 12);
    assert.ok(prompt, 'flite + sox made the caller speech');
    caller = await startBaresip({ prompt, codecs: 'L16/16000/1', srate: CALLEE_RATE, modules: ['l16.so'], keyboard: true, user: 'ana', runSeconds: 60 });
    const c = caller;
    const { call, turns, said } = await dialledAndEnded(c, number);
    tc.diagnostic(`call ${call.status}/${call.end_reason}; transcript ${said}`);
    assert.deepEqual([call.direction, call.status, call.end_reason], ['inbound', 'completed', 'agent_hangup'], `${said}\nbaresip log:\n${c.log().slice(-2000)}`);
    assert.deepEqual(turns.map((x) => x.speaker), ['agent', 'callee', 'agent'], said);
    assert.equal(turns[0]?.text, 'Outcall orders desk, how can I help?');
    assert.match(turns[1]?.text ?? '', /\b(where|order|please)\b/, said);
    assert.equal(turns[2]?.text, GOODBYE);
    const reqs = llm.requests.slice(before);
    assert.equal(reqs.length, 1, 'one model request, for the one caller turn');
    const messages = reqs[0]!.body.messages as Array<{ role: string; content: string }>;
    assert.deepEqual(messages[0], { role: 'system', content: 'You answer calls about orders. The caller is Ana.' }, 'the webhook\'s variables filled the prompt');
    assert.ok(messages.some((m) => m.role === 'system' && m.content.includes('Ana ordered a blue bicycle.')), `the webhook's call_context reached the model: ${JSON.stringify(messages)}`);
    assert.equal(messages.at(-1)?.content, turns[1]?.text, 'the model got the caller\'s words as heard');
  });

  test('a speech-to-speech agent answers an inbound call over PCMU: its greeting, the caller\'s question streamed to the model, the reply heard; the caller hangs up', async (tc) => {
    const KEY = 'sk-test-realtime-inbound-0123456789';
    const { number } = await numberFor({
      system_prompt: 'You answer calls about orders.',
      greeting: 'Orders desk, how can I help?',
      speech_to_speech: { provider: 'openai', model: 'gpt-realtime', base_url: realtime.baseUrl, api_key: KEY, options: { silence_duration_ms: 500 } },
    });
    const script = calleeScript([{ atS: 4, text: 'where is my order please' }], 14);
    assert.ok(script, 'flite + sox made the caller speech');
    // baresip plays 8 kHz PCMU: the 16 kHz script resampled.
    const pcm16k = new Int16Array(script.wav.buffer.slice(script.wav.byteOffset + 44, script.wav.byteOffset + script.wav.length));
    const wav8k = wavBytes(resample(pcm16k, 16000, 8000), 8000);
    realtime.hear('where is my order please');
    realtime.reply({ kind: 'say', text: 'Your order ships tomorrow.' });
    const conns = realtime.connections.length;
    caller = await startBaresip({ prompt: wav8k, codecs: 'PCMU/8000/1', srate: 8000, keyboard: true, user: 'rt-caller', runSeconds: 60 });
    const c = caller;
    const { call, turns, said } = await dialledAndEnded(c, number);
    tc.diagnostic(`call ${call.status}/${call.end_reason}; transcript ${said}`);
    assert.deepEqual([call.direction, call.status, call.end_reason], ['inbound', 'completed', 'caller_hangup'], `${said}\nbaresip log:\n${c.log().slice(-2000)}`);
    assert.deepEqual(turns.map((x) => [x.speaker, x.text]), [['agent', 'Orders desk, how can I help?'], ['callee', 'where is my order please'], ['agent', 'Your order ships tomorrow.']], said);
    const conn = realtime.connections[conns];
    assert.ok(conn, 'the model was connected for the call');
    assert.equal(conn.headers.authorization, `Bearer ${KEY}`);
    assert.deepEqual(conn.session.audio.input.format, { type: 'audio/pcmu' }, 'the caller\'s G.711 goes to the model as is');
    assert.ok(conn.appendedMs > 8000, `the caller's audio streamed to the model (${conn.appendedMs} ms)`);
    // What the caller heard: the greeting and the reply, as sound.
    await waitFor('baresip to close the call', () => (/terminated|closed/i.test(c.log()) ? true : undefined), 10_000).catch(() => undefined);
    const dec = await waitFor('baresip recording', () => c.recordings().find((p) => p.endsWith('-dec.wav')), 5000);
    const heard = readWav(dec);
    assert.ok(rms(heard.samples) > 300, `the caller heard the agent (rms ${rms(heard.samples).toFixed(0)})`);
  });

  test('an inbound webhook that does not answer in time: the call is answered after its deadline with the defaults, and why is kept', async () => {
    const { number } = await numberFor({ greeting: 'Hello, this is the clinic. Goodbye.' }, '127.0.0.1', 5060, { inbound_webhook_url: lookups.url('/slow'), inbound_webhook_timeout_ms: 800 });
    lookups.answer('hang');
    const p = await startSipp({ scenario: fixture('uac_call_wait_bye.xml'), port: await freeUdpPort(), extraArgs: ['-s', number, `127.0.0.1:${plane.sipPort}`] });
    try {
      assert.equal(await p.exited, 0, p.trace().slice(-2000));
      const got = p.received();
      const ringing = got.findIndex((m) => m.startsWith('SIP/2.0 180'));
      const ok = got.findIndex((m) => m.startsWith('SIP/2.0 200'));
      assert.ok(ringing >= 0 && ok > ringing, 'ringing while the webhook is asked, then the answer');
    } finally {
      await p.stop();
    }
    const [id] = await inboundCallsTo(number);
    const call = await callEnded(id, 20_000);
    assert.deepEqual([call.status, call.end_reason, call.dynamic_variables, call.call_context], ['completed', 'agent_hangup', {}, null]);
    const first = (await t.org.req('GET', `/v1/calls/${id}/events`)).body.data[0];
    assert.match(JSON.stringify(first.data), /did not answer within 800 ms/, JSON.stringify(first));
  });

  test('transfer_call on an inbound call: the agent announces, REFERs the caller to the configured target in our dialog, the NOTIFY reports 200, the call ends transferred', async () => {
    const transferFlow = {
      start: 'tell',
      nodes: {
        tell: { type: 'say', text: 'Let me put you through to the front desk.', next: 'move' },
        move: { type: 'tool', tool: 'transfer_call', on_success: 'gone', on_failure: 'sorry' },
        gone: { type: 'end' },
        sorry: { type: 'end', text: 'Sorry, nobody is free.' },
      },
    };
    const { number } = await numberFor({ flow: transferFlow, tools: [{ type: 'transfer_call', transfer_to: '+15559990000' }] });
    const p = await startSipp({ scenario: fixture('uac_call_refer.xml'), port: await freeUdpPort(), extraArgs: ['-s', number, `127.0.0.1:${plane.sipPort}`] });
    try {
      assert.equal(await p.exited, 0, `SIPp saw INVITE/200, REFER/202, NOTIFY/200 and BYE in order; trace:\n${p.trace().slice(-4000)}`);
      const refer = p.received().find((m) => m.startsWith('REFER '));
      assert.match(refer ?? '', /^Refer-To: <sip:\+15559990000@127\.0\.0\.1:5060>$/m);
      assert.match(refer ?? '', new RegExp(`^Referred-By: <sip:\\${number}@`, 'm'), 'we refer as the number the caller dialed');
    } finally {
      await p.stop();
    }
    const [id] = await inboundCallsTo(number);
    const call = await callEnded(id, 20_000);
    assert.deepEqual([call.status, call.end_reason, call.disconnection], ['completed', 'transferred', 'transferred']);
    const turns = (await t.org.req('GET', `/v1/transcripts/${call.transcript_id}`)).body.turns as Array<{ text: string; toolCalls?: Array<{ name: string; ok: boolean; result: unknown }> }>;
    assert.deepEqual(turns.map((x) => x.text), ['Let me put you through to the front desk.']);
    assert.deepEqual(turns[0]?.toolCalls?.map((k) => [k.name, k.ok, k.result]), [['transfer_call', true, { transferred: true, to: '+15559990000', sip_status: 200 }]]);
  });

  test('refusals: a number we do not have is 404, a caller that is not the trunk 403 (until its range is in inbound_addresses), and over the concurrent-call limit 486 with a failed / over_limit call', async () => {
    const refused = async (service: string) => (await refusals(service, 1))[0];
    // A trunk at 127.0.0.1 exists (the first test's and this one's), so an unknown number from here is 404.
    await numberFor({ flow });
    assert.equal(await refused('+16289999999'), 404);
    // The number's trunk is elsewhere: 403, and no call is recorded.
    const elsewhere = await numberFor({ flow }, '192.0.2.10');
    assert.equal(await refused(elsewhere.number), 403);
    assert.deepEqual(await inboundCallsTo(elsewhere.number), []);
    // Until the trunk lists the caller's range in inbound_addresses: then the call is answered.
    const listed = await t.org.req('PATCH', `/v1/trunks/${elsewhere.trunkId}`, { inbound_addresses: ['192.0.2.0/24', '127.0.0.0/8'] });
    assert.equal(listed.status, 200, listed.raw);
    const greeter = await t.org.req('PATCH', `/v1/agents/${elsewhere.agentId}`, { flow: null, greeting: 'Hello from the clinic. Goodbye.' });
    assert.equal(greeter.status, 200, greeter.raw);
    const p = await startSipp({ scenario: fixture('uac_call_wait_bye.xml'), port: await freeUdpPort(), extraArgs: ['-s', elsewhere.number, `127.0.0.1:${plane.sipPort}`] });
    try {
      assert.equal(await p.exited, 0, p.trace().slice(-2000));
    } finally {
      await p.stop();
    }
    const [answered] = await inboundCallsTo(elsewhere.number);
    const done = await callEnded(answered, 20_000);
    assert.deepEqual([done.status, done.end_reason], ['completed', 'agent_hangup']);
    // The agent's one concurrent call is taken by an outbound call ringing at a SIPp that never
    // answers: an inbound call meanwhile is 486, recorded failed / over_limit.
    const ringer = await startSipp({ scenario: fixture('uas_ring_noanswer.xml'), port: await freeUdpPort() });
    const full = await numberFor({ flow, max_concurrent_calls: 1 }, '127.0.0.1', ringer.port);
    let out: string | undefined;
    try {
      const r = await t.org.req('POST', `/v1/agents/${full.agentId}/outbound-calls`, { to: '+14155550123', ring_timeout_s: 30 });
      assert.equal(r.status, 202, r.raw);
      out = r.body.id as string;
      await waitFor('the outbound call to ring', async () => ((await t.org.req('GET', `/v1/calls/${out}`)).body.status === 'dialing' ? true : undefined), 10_000);
      assert.equal(await refused(full.number), 486);
    } finally {
      if (out) await t.org.req('POST', `/v1/agents/${full.agentId}/outbound-calls/${out}/cancel`);
      await ringer.stop();
    }
    const [id] = await inboundCallsTo(full.number);
    assert.ok(id, 'the refused call is recorded');
    const call = (await t.org.req('GET', `/v1/calls/${id}`)).body;
    assert.deepEqual([call.status, call.end_reason, call.sip_status_code, call.disconnection, call.direction], ['failed', 'over_limit', 486, 'busy', 'inbound']);
  });

  test('digest: a caller on an address its trunk does not list is challenged (401, MD5 and SHA-256); the trunk\'s credentials get the call answered, a wrong password is 403 and nothing is recorded', async (tc) => {
    // The trunk signals from elsewhere; the PBX calling from here proves the trunk's credentials.
    const pbx = await numberFor({ greeting: 'Hello, authenticated caller. Goodbye.' }, '192.0.2.30');
    const creds = await t.org.req('PATCH', `/v1/trunks/${pbx.trunkId}`, { username: 'pbx-in', password: 'pbx-in-secret' });
    assert.equal(creds.status, 200, creds.raw);
    const call = async (password: string) => {
      const p = await startSipp({ scenario: fixture('uac_call_auth.xml'), port: await freeUdpPort(), extraArgs: ['-s', pbx.number, '-au', 'pbx-in', '-ap', password, `127.0.0.1:${plane.sipPort}`] });
      try {
        const code = await p.exited;
        return { code, statuses: p.received().map((m) => Number(/^SIP\/2\.0 (\d{3})/.exec(m)?.[1] ?? 0)).filter((x) => x >= 200), trace: p.trace() };
      } finally {
        await p.stop();
      }
    };
    const wrong = await call('guessed');
    assert.deepEqual(wrong.statuses, [401, 403], wrong.trace.slice(-2500));
    assert.match(wrong.trace, /WWW-Authenticate: Digest realm="outcall", nonce="[^"]+", algorithm=MD5, qop="auth"\r?\nWWW-Authenticate: Digest realm="outcall", nonce="[^"]+", algorithm=SHA-256, qop="auth"/);
    assert.deepEqual(await inboundCallsTo(pbx.number), [], 'a refused caller leaves no call behind');
    const right = await call('pbx-in-secret');
    tc.diagnostic(`statuses with the right password: ${right.statuses.join(' ')}`);
    assert.equal(right.code, 0, right.trace.slice(-2500));
    assert.deepEqual(right.statuses, [401, 200]);
    const [id] = await inboundCallsTo(pbx.number);
    const done = await callEnded(id, 20_000);
    assert.deepEqual([done.status, done.end_reason, done.direction], ['completed', 'agent_hangup', 'inbound']);
  });

  test('an agent edited into one that cannot hear the caller (a language model with only a grammar recognizer) does not answer: 480, nothing recorded', async () => {
    const { number, agentId } = await numberFor({ greeting: 'Hello.' });
    const edited = await t.org.req('PATCH', `/v1/agents/${agentId}`, {
      system_prompt: 'You help.',
      llm: { provider: 'openai', base_url: llm.baseUrl, model: 'gpt-4o-mini', api_key: 'sk-test-inbound-0123456789' },
      stt: { provider: 'soundswallower' },
    });
    assert.equal(edited.status, 200, edited.raw);
    assert.deepEqual(await refusals(number, 1), [480]);
    assert.deepEqual(await inboundCallsTo(number), []);
  });

  // Last in the file: it blocks 127.0.0.1, the source of every test here, on this call plane.
  test('a source refused 403 ten times in a minute is refused at the edge for a while, without asking the store; both kinds are counted in /metrics', async () => {
    const elsewhere = await numberFor({ flow }, '192.0.2.20');
    const before = await refusedMetric();
    const finals = await refusals(elsewhere.number, 14);
    assert.deepEqual(finals, Array(14).fill(403));
    const after = await refusedMetric();
    // This file's earlier 403s (two: the refusals test's and the wrong digest password) and these 14:
    // the tenth blocks the source, the rest are refused at the edge.
    assert.ok(after.router - before.router >= 7 && after.router - before.router <= 10, JSON.stringify({ before, after }));
    // The media thread reports its count each second: every refusal is counted once, in one place or the other.
    const end = await waitFor('the edge count to be reported', async () => {
      const m = await refusedMetric();
      return m.router + m.edge - before.router - before.edge >= 14 ? m : undefined;
    }, 5000);
    assert.equal(end.router + end.edge - before.router - before.edge, 14, JSON.stringify({ before, end }));
    assert.ok(end.edge - before.edge >= 4, `refused at the edge once blocked: ${JSON.stringify({ before, end })}`);
  });
});

async function refusedMetric(): Promise<{ router: number; edge: number }> {
  const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
  const value = (where: string) => Number(new RegExp(`^outcall_inbound_refused_total\\{status="403",where="${where}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { router: value('router'), edge: value('edge') };
}
