/**
 * The dashboard in headless Chromium against the real server: the app listening on 127.0.0.1 with
 * the call plane (dispatcher + media worker thread) and the webhook deliverer, and baresip as the
 * callee (L16/16000, speaking "yes please" with flite). Everything is done through the page as a
 * person would: sign in with the key, add a trunk pointing at baresip, an agent with a scripted
 * flow, a number, place a test call from the agent page, watch it go live to completed on its
 * page, read the transcript, redeliver its webhook. Screenshots go to test-artifacts/dashboard/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { WebhookDeliverer } from '../../src/webhooks/deliverer.js';
import type { CallPlane } from '../../src/worker/control/call-plane.js';
import { startTestCallPlane } from '../helpers/test-call-plane.js';
import { calleeSpeech, startCallee, type Callee } from '../fixtures/voice/callee.js';
import { toolAvailable } from '../helpers/require-tool.js';
import { callFixture, startTestApp, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

const CHROMIUM = '/usr/bin/chromium';
const missing = ['chromium', 'baresip', 'espeak-ng', 'flite', 'sox', 'pocketsphinx_continuous'].filter((b) => !toolAvailable(b));
const skip = missing.length > 0 ? `${missing.join(', ')} not installed (scripts/setup-test-env.sh)` : false;
const ARTIFACTS = join(import.meta.dirname, '../../test-artifacts/dashboard');

const TO = '+14155550188';
const flow = {
  start: 'greet',
  nodes: {
    greet: { type: 'say', text: 'Hello {{name}}, can we book your visit for Tuesday?', next: 'ask' },
    ask: { type: 'listen', timeout_ms: 12000, next: 'decide', on_timeout: 'bye' },
    decide: { type: 'branch', cases: [{ keywords: ['yes', 'yeah'], next: 'great' }], default: 'sorry' },
    great: { type: 'say', text: 'Great, see you then.', next: 'bye' },
    sorry: { type: 'say', text: 'Sorry, I did not get that.', next: 'bye' },
    bye: { type: 'end' },
  },
};

let t: TestApp;
let plane: CallPlane;
let deliverer: WebhookDeliverer;
let receiver: WebhookReceiver;
let browser: Browser;
let page: Page;
let base: string;
const pageErrors: string[] = [];

before(async () => {
  if (skip) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  t = await startTestApp({ allowPrivateUrls: true });
  base = await t.app.listen({ host: '127.0.0.1', port: 0 });
  // The baresip callee speaks L16/16000 only; the plane offers it first (no agent reorders codecs).
  plane = await startTestCallPlane(t.ctx, { rtpPortMin: 37400, rtpPortMax: 37598, codecs: ['L16/16000', 'PCMU', 'PCMA'] });
  deliverer = new WebhookDeliverer(t.ctx, { pollMs: 250 });
  await deliverer.start();
  receiver = await new WebhookReceiver().start();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  page.on('console', (m) => {
    // A refused request is logged by the browser as a console error; the test provokes some on purpose.
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) pageErrors.push(m.text());
  });
  page.on('dialog', (d) => void d.accept());
});
after(async () => {
  if (skip) return;
  await browser?.close();
  await receiver?.stop();
  await deliverer?.stop();
  await plane?.stop();
  await t?.close();
});

/** What the test reads of an <audio> element (the tests typecheck without the DOM library). */
interface MediaLike {
  readyState: number;
  duration: number;
  error: { code: number } | null;
  addEventListener(type: string, fn: () => void, opts?: { once: boolean }): void;
}

/** The key the page keeps in sessionStorage (read without the DOM library's types). */
const storedKey = () => page.evaluate(() => (globalThis as unknown as { sessionStorage: { getItem(k: string): string | null } }).sessionStorage.getItem('outcall.apiKey'));

/** Signs in through the login form unless the page already has a session. */
async function signIn(hash = '#/calls'): Promise<void> {
  await page.goto(`${base}/dashboard/${hash}`);
  await page.waitForSelector('#login-form, .page');
  if (await page.$('#login-form')) {
    await page.fill('#api-key', t.org.key);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('.page');
  }
}

const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

describe('dashboard in a browser', { skip }, () => {
  test('the SSE reader in the page parses the wire format across any chunking', async () => {
    await page.goto(`${base}/dashboard/`);
    const events = await page.evaluate(async () => {
      const { readServerSentEvents } = (await import('/dashboard/js/sse.js' as string)) as {
        readServerSentEvents(s: ReadableStream<Uint8Array>): AsyncGenerator<{ event: string; data: string; id?: string }>;
      };
      const wire = ': keep-alive\r\n\r\nid: 7\r\nevent: status\r\ndata: {"a":1}\r\n\r\nevent: turn\ndata: line one\ndata: line two\n\n' + 'data:no-space\r\r';
      const bytes = new TextEncoder().encode(wire);
      // One byte per chunk: every line end, CRLF included, is split across reads.
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          for (const b of bytes) c.enqueue(new Uint8Array([b]));
          c.close();
        },
      });
      const out = [];
      for await (const ev of readServerSentEvents(stream)) out.push(ev);
      return out;
    });
    assert.deepEqual(events, [
      { event: 'status', data: '{"a":1}', id: '7' },
      { event: 'turn', data: 'line one\nline two' },
      { event: 'message', data: 'no-space' },
    ]);
  });

  test('sign in, set up a trunk, agent and number, place a test call and watch it live to completed', async (tc) => {
    const prompt = calleeSpeech('yes please', 5, 12);
    assert.ok(prompt, 'flite + sox produced the callee speech');
    const callee: Callee = await startCallee({ user: TO, prompt });
    try {
      // Sign in: a wrong key is refused beside the field; the right one opens the calls page.
      await page.goto(`${base}/dashboard/`);
      await page.fill('#api-key', 'oc_not_a_key');
      await page.click('#login-form button[type=submit]');
      await page.waitForSelector('#login-form .field-error[data-code=unauthorized]');
      await shot('01-login-refused');
      await page.fill('#api-key', t.org.key);
      await page.click('#login-form button[type=submit]');
      await page.waitForSelector('#calls-list');
      assert.equal(await storedKey(), t.org.key, 'the key is kept in sessionStorage');
      assert.match(page.url(), /#\/calls$/);

      // A trunk pointing at baresip.
      await page.click('nav a[data-nav=numbers]');
      await page.waitForSelector('#trunk-form');
      await page.fill('#trunk-form [name=name]', 'baresip');
      await page.fill('#trunk-form [name=host]', '127.0.0.1');
      await page.fill('#trunk-form [name=port]', String(callee.port));
      // Registration without a username is refused, beside the username field.
      await page.check('#trunk-form [name=register]');
      await page.click('#trunk-form button[type=submit]');
      const regError = await page.waitForSelector('#trunk-form .field-error[data-code=registration_not_possible]');
      assert.ok(await regError.evaluate((e) => e.closest('.field')?.querySelector('[name=username]') !== null), 'shown next to the username field');
      await page.uncheck('#trunk-form [name=register]');
      // SRTP when the callee takes keys (this baresip does not: the call below runs plain RTP).
      await page.selectOption('#trunk-form [name=media_encryption]', 'optional');
      await page.click('#trunk-form button[type=submit]');
      await page.waitForSelector('#trunks-list tr[data-trunk-id]');
      assert.match(await page.innerText('#trunks-list'), new RegExp(`127\\.0\\.0\\.1:${callee.port}`));
      assert.match(await page.innerText('#trunks-list'), /udp, SRTP optional/);

      // A flow agent whose result webhook goes to a local receiver.
      await page.click('nav a[data-nav=agents]');
      await page.click('#new-agent');
      await page.waitForSelector('#agent-form');
      await page.fill('#agent-form [name=name]', 'Booking bot');
      await page.fill('#agent-form [name=max_cps]', '50');
      await page.fill('#agent-form [name=webhook_url]', receiver.url());
      // An invalid flow is refused by the API, and the error lands beside the flow field.
      await page.fill('#agent-form [name=flow]', JSON.stringify({ start: 'nowhere', nodes: {} }));
      await page.click('#agent-form button[type=submit]');
      const flowError = await page.waitForSelector('#agent-form .field-error[data-code=invalid_flow]');
      assert.ok(await flowError.evaluate((e) => e.closest('.field')?.querySelector('[name=flow]') !== null), 'shown next to the flow field');
      await shot('02-agent-flow-error');
      await page.fill('#agent-form [name=flow]', JSON.stringify(flow, null, 2));
      await page.click('#agent-form button[type=submit]');
      await page.waitForSelector('#test-call-form');
      const agentId = decodeURIComponent(/#\/agents\/([^/?]+)$/.exec(page.url())?.[1] ?? '');
      assert.match(agentId, /^agt/, page.url());

      // A number on the trunk, used by the agent; a malformed one is refused next to its field.
      await page.click('nav a[data-nav=numbers]');
      await page.waitForSelector('#number-form');
      await page.fill('#number-form [name=number]', '12345');
      await page.selectOption('#number-form [name=outbound_agent_id]', agentId);
      await page.selectOption('#number-form [name=inbound_agent_id]', agentId);
      await page.click('#number-form button[type=submit]');
      const numError = await page.waitForSelector('#number-form .field-error[data-code=invalid_phone_number]');
      assert.ok(await numError.evaluate((e) => e.closest('.field')?.querySelector('[name=number]') !== null), 'shown next to the number field');
      await page.fill('#number-form [name=number]', '+14155550100');
      await page.click('#number-form button[type=submit]');
      await page.waitForSelector('#numbers-list tr[data-number-id]');
      const cells = await page.$$eval('#numbers-list tr[data-number-id] td', (tds) => tds.map((td) => td.textContent));
      assert.ok(cells[2] !== '–' && cells[3] === cells[2], `the agent dials from the number and answers it: ${JSON.stringify(cells)}`);
      await shot('03-trunks-numbers');

      // The test call: destination typed in, variables, recording on.
      await page.goto(`${base}/dashboard/#/agents/${agentId}`);
      await page.waitForSelector('#test-call-form');
      await page.fill('#test-call-form [name=to]', TO);
      await page.fill('#test-call-form [name=dynamic_variables]', '{"name": "Ana"}');
      await page.fill('#test-call-form [name=max_duration_s]', '60');
      assert.equal(await page.isChecked('#test-call-form [name=record]'), true, 'recording is on by default');
      await shot('04-test-call-form');
      await page.click('#test-call-form button[type=submit]');
      await page.waitForURL(/#\/calls\/[^/]+$/);
      const callId = decodeURIComponent(/#\/calls\/([^/?]+)$/.exec(page.url())?.[1] ?? '');

      // Live: the stream connects, the status goes in_progress, spoken lines appear as they are said.
      await page.waitForSelector('#stream-state.stream-live', { timeout: 20_000 });
      await page.waitForSelector('#call-status [data-status=in_progress]', { timeout: 45_000 });
      assert.ok(await page.isVisible('#cancel-call'), 'a running call can be canceled');
      await page.waitForSelector('#transcript li.turn[data-source=live][data-speaker=agent]', { timeout: 30_000 });
      const liveGreeting = await page.innerText('#transcript li.turn[data-source=live][data-speaker=agent]');
      assert.match(liveGreeting, /Hello Ana, can we book your visit for Tuesday\?/);
      await shot('05-call-live');

      // The end: completed, the stored transcript replaces the live one, the timeline is complete.
      await page.waitForSelector('#call-status [data-status=completed]', { timeout: 60_000 });
      await page.waitForSelector('#transcript ol.turns[data-source=stored]', { timeout: 20_000 });
      const turns = await page.$$eval('#transcript li.turn', (els) =>
        els.map((e) => ({ speaker: e.getAttribute('data-speaker'), text: e.querySelector('.turn-text')?.textContent ?? '', time: e.querySelector('.time')?.textContent ?? '' })),
      );
      tc.diagnostic(`transcript on the page: ${JSON.stringify(turns)}`);
      assert.deepEqual(turns.map((x) => x.speaker), ['agent', 'callee', 'agent'], `baresip log:\n${callee.log().slice(-2000)}`);
      assert.match(turns[0]?.text ?? '', /Hello Ana/);
      assert.match(turns[1]?.text ?? '', /\b(yes|yeah)\b/i, 'the callee said "yes please" (pocketsphinx may hear "yeah" on a busy machine; the flow takes both)');
      assert.match(turns[2]?.text ?? '', /Great, see you then\./);
      for (const x of turns) assert.match(x.time, /^\d+:\d\d\.\d – \d+:\d\d\.\d$/, 'each turn shows its timing');
      assert.equal(await page.isVisible('#cancel-call'), false, 'no cancel button once ended');
      const timeline = await page.$$eval('#timeline tr[data-event-id] td:nth-child(3) [data-status]', (els) => els.map((e) => e.getAttribute('data-status')));
      assert.deepEqual(timeline, ['queued', 'dispatching', 'dialing', 'in_progress', 'completed']);

      const call = (await t.org.req('GET', `/v1/calls/${callId}`)).body as Record<string, unknown>;
      assert.equal(call.status, 'completed');
      {
        // The recording is fetched with the key and played from an object URL.
        const audio = await page.waitForSelector('#recording-audio[src^="blob:"]', { timeout: 60_000 });
        const duration = await audio.evaluate(
          (a: MediaLike) =>
            new Promise<number>((resolve, reject) => {
              if (a.readyState >= 1) return resolve(a.duration);
              a.addEventListener('loadedmetadata', () => resolve(a.duration), { once: true });
              a.addEventListener('error', () => reject(new Error(`audio error ${a.error?.code}`)), { once: true });
            }),
        );
        assert.ok(duration > 1, `the recording plays (${duration} s)`);
        // The call's measured latencies, and the summary once post-call analysis has run.
        await page.waitForSelector('#latency dl.kv');
        assert.match(await page.innerText('#latency'), /Answer → greeting\s+\d+ ms/);
        const summary = await page.waitForSelector('#summary-text', { timeout: 60_000 });
        assert.ok(((await summary.textContent()) ?? '').length > 0, 'a summary is shown');
        assert.ok(call.recording, 'the call has its recording');
      }
      await shot('06-call-completed');

      // Its result webhook, delivered; redelivering sends the same event again as a new delivery.
      // The page follows a delivery still on its way until it has an outcome.
      await page.waitForSelector('#deliveries .badge.delivery-delivered', { timeout: 30_000 });
      assert.equal(receiver.received.length, 1);
      const before = await page.$$eval('#deliveries tr[data-delivery-id]', (r) => r.length);
      await page.click('#deliveries tr[data-delivery-id] button:has-text("Redeliver")');
      await waitFor('the redelivery row', async () => ((await page.locator('#deliveries tr[data-delivery-id]').count()) === before + 1 ? true : undefined), 20_000);
      const sent = await waitFor('the redelivery', () => (receiver.received.length >= 2 ? receiver.received : undefined), 20_000);
      const ids = new Set(sent.map((r) => r.headers['webhook-id']));
      assert.equal(ids.size, before, 'a redelivery carries the same webhook-id');
      await waitFor('both deliveries delivered', async () => ((await page.locator('#deliveries .badge.delivery-delivered').count()) === before + 1 ? true : undefined), 30_000);

      // The calls list shows it, and filters by status.
      await page.click('nav a[data-nav=calls]');
      await page.waitForSelector(`#calls-list tr[data-call-id="${callId}"] [data-status=completed]`);
      await shot('07-calls-list');
      await page.selectOption('#filter-status', 'failed');
      await page.click('form.filters button[type=submit]');
      await page.waitForSelector('#calls-list .empty');
      assert.equal(await page.isVisible('#calls-more'), false, 'no further page to load');
      assert.deepEqual(pageErrors, [], 'no script errors on the page');
    } finally {
      await callee.stop();
    }
  });

  test('editing an agent sends only what changed, so a stored provider key survives a rename; deleting it', async () => {
    const a = await t.org.req('POST', '/v1/agents', {
      name: 'Editable', system_prompt: 'Be brief.',
      llm: { provider: 'openai', model: 'gpt-4o-mini', api_key: 'sk-test-123', fallbacks: [{ provider: 'groq', model: 'llama', api_key: 'gq-test-456' }] },
    });
    assert.equal(a.status, 201, a.raw);
    const id = a.body.id as string;
    await signIn(`#/agents/${id}`);
    await page.waitForSelector('#agent-form');
    assert.equal(await page.getAttribute('#agent-form [name="llm.api_key"]', 'placeholder'), 'a key is stored');
    assert.deepEqual(
      JSON.parse(await page.inputValue('#agent-form [name=llm]')),
      { provider: 'openai', model: 'gpt-4o-mini', fallbacks: [{ provider: 'groq', model: 'llama' }] },
      'the keys themselves are never shown, nor has_api_key (the API would refuse it back)',
    );

    await page.fill('#agent-form [name=name]', 'Edited');
    await page.click('#agent-form button[type=submit]');
    await page.waitForSelector('.page-head h1:has-text("Edited")');
    let got = (await t.org.req('GET', `/v1/agents/${id}`)).body;
    assert.equal(got.name, 'Edited');
    assert.equal(got.system_prompt, 'Be brief.');
    assert.equal(got.llm.has_api_key, true, 'the untouched provider (and its key) was not resent');
    assert.equal(got.llm.fallbacks[0].has_api_key, true, "and its fallback's key with it");

    // Changing the provider without retyping the key replaces it whole, as the form warns.
    await page.fill('#agent-form [name=llm]', JSON.stringify({ provider: 'openai', model: 'gpt-4.1-mini' }));
    await page.click('#agent-form button[type=submit]');
    await page.waitForSelector('#notices .notice:has-text("Saved.")');
    got = (await t.org.req('GET', `/v1/agents/${id}`)).body;
    assert.equal(got.llm.model, 'gpt-4.1-mini');
    assert.equal(got.llm.has_api_key, false);
    await page.waitForSelector('#agent-form');
    await page.fill('#agent-form [name="llm.api_key"]', 'sk-again');
    await page.click('#agent-form button[type=submit]');
    await page.waitForSelector('#agent-form [name="llm.api_key"][placeholder="a key is stored"]');
    assert.equal((await t.org.req('GET', `/v1/agents/${id}`)).body.llm.has_api_key, true);

    // Malformed JSON is caught in the page, beside its field, before any request.
    await page.fill('#agent-form [name=tools]', '[{"type":');
    await page.click('#agent-form button[type=submit]');
    const e = await page.waitForSelector('#agent-form .field-error[data-code=invalid_json]');
    assert.ok(await e.evaluate((x) => x.closest('.field')?.querySelector('[name=tools]') !== null));

    await page.click('nav a[data-nav=agents]');
    await page.click(`#agents-list tr[data-agent-id="${id}"] button:has-text("Delete")`);
    await page.waitForSelector(`#agents-list tr[data-agent-id="${id}"]`, { state: 'detached' });
    assert.equal((await t.org.req('GET', `/v1/agents/${id}`)).status, 404);
    assert.deepEqual(pageErrors, [], 'no script errors on the page');
  });

  test('the calls list pages with its cursor; a queued call is canceled from its page', async () => {
    // Scheduled far ahead, so they stay queued and nothing dials them.
    const f = await callFixture(t.org, {}, '+14155550111');
    const later = new Date(Date.now() + 30 * 86400_000).toISOString();
    const ids: string[] = [];
    for (let i = 0; i < 55; i++) {
      const r = await t.org.req('POST', `/v1/agents/${f.agentId}/outbound-calls`, { to: `+1415555${String(1000 + i)}`, scheduled_at: later });
      assert.equal(r.status, 202, r.raw);
      ids.push(r.body.id as string);
    }
    await signIn(`#/calls?agent_id=${f.agentId}`);
    await page.waitForSelector('#calls-list tr[data-call-id]');
    assert.equal(await page.locator('#calls-list tr[data-call-id]').count(), 50, 'the first page');
    await page.click('#calls-more');
    await waitFor('the second page', async () => ((await page.locator('#calls-list tr[data-call-id]').count()) === 55 ? true : undefined), 10_000);
    assert.equal(await page.isVisible('#calls-more'), false, 'no third page');
    const shown = await page.$$eval('#calls-list tr[data-call-id]', (rows) => rows.map((r) => r.getAttribute('data-call-id')));
    assert.deepEqual(new Set(shown), new Set(ids), 'each call once, none of another agent');

    const target = ids[0] as string;
    await page.click(`#calls-list tr[data-call-id="${target}"] a`);
    await page.waitForSelector('#call-status [data-status=queued]');
    await page.waitForSelector('#stream-state.stream-live');
    await page.click('#cancel-call');
    await page.waitForSelector('#call-status [data-status=canceled]');
    await page.waitForSelector('#cancel-call', { state: 'detached' });
    await page.waitForSelector('#timeline [data-status=canceled]');
    assert.equal((await t.org.req('GET', `/v1/calls/${target}`)).body.end_reason, 'canceled_by_api');
    for (const id of ids.slice(1)) await t.org.req('POST', `/v1/agents/${f.agentId}/outbound-calls/${id}/cancel`);
    assert.deepEqual(pageErrors, [], 'no script errors on the page');
  });

  test('API keys: a new key is shown once and can be revoked; logging out forgets the key', async () => {
    await signIn('#/keys');
    await page.waitForSelector('#key-form');
    await page.fill('#key-form [name=name]', 'ci key');
    await page.click('#key-form button[type=submit]');
    const shown = await (await page.waitForSelector('#new-key-value')).inputValue();
    assert.ok(shown.length > 20, 'the key is shown');
    const check = await t.app.inject({ method: 'GET', url: '/v1/agents', headers: { authorization: `Bearer ${shown}` } });
    assert.equal(check.statusCode, 200, 'the shown key works');
    const row = await page.waitForSelector('#keys-list tr:has-text("ci key")');
    await (await row.$('button:has-text("Revoke")'))?.click();
    await page.waitForSelector('#keys-list tr:has-text("ci key"):has-text("revoked")');
    const after = await t.app.inject({ method: 'GET', url: '/v1/agents', headers: { authorization: `Bearer ${shown}` } });
    assert.equal(after.statusCode, 401, 'the revoked key no longer works');
    await page.reload();
    await page.waitForSelector('#keys-list');
    assert.equal(await page.$('#new-key-value'), null, 'the key is not shown again');
    await shot('08-api-keys');

    await page.click('#logout');
    await page.waitForSelector('#login-form');
    assert.equal(await storedKey(), null);
    assert.deepEqual(pageErrors, [], 'no script errors on the page');
  });
});
