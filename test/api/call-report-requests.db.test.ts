/**
 * What the create-call request takes for the call report: metadata kept from the body's text (its
 * own size, duplicates refused), status_callback with url or up to 5 urls (each checked like url),
 * conversation events opt-in; and the event-once guarantee under two racing transactions.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { METADATA_MAX_BYTES, STATUS_CALLBACK_MAX_URLS } from '../../src/contract/call-defaults.js';
import { DEFAULT_STATUS_CALLBACK_EVENTS } from '../../src/contract/call.js';
import { transitionCall } from '../../src/calls/transitions.js';
import { enqueueStatusEvent } from '../../src/calls/outbox.js';
import type { CallRow } from '../../src/calls/call-object.js';
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

const create = (body: Record<string, unknown> | string) => t.org.req('POST', url(), body);
const callCount = async () => Number((await t.db.query<{ n: number }>(sql`select count(*)::int as n from calls`)).rows[0]?.n);

describe('metadata as sent', () => {
  test('stored and echoed as the body\'s text: whitespace, key order, big numbers, escapes', async () => {
    const meta = '{ "b" : 1.50,\n  "a": [1e-7, 18446744073709551617], "s": "\\ud83d\\ude00 \\"q\\" }" }';
    const r = await create(`{"to": "+14155550123", "metadata": ${meta}}`);
    assert.equal(r.status, 202, r.raw);
    assert.ok(r.raw.includes(`"metadata":${meta},`), r.raw);
    const stored = await t.db.query<{ metadata: string }>(sql`select metadata from calls where id = ${r.body.id as string}`);
    assert.equal(stored.rows[0]?.metadata, meta, 'the text column holds the bytes as sent');
    // Scalars, a string, and null (no metadata) too.
    for (const [m, echoed] of [['1.0', '1.0'], ['"x\\/y"', '"x\\/y"'], ['null', 'null'], ['[]', '[]']] as const) {
      const s = await create(`{"metadata": ${m}, "to": "+14155550123"}`);
      assert.equal(s.status, 202, s.raw);
      assert.ok(s.raw.includes(`"metadata":${echoed},`), `${m}: ${s.raw}`);
    }
  });

  test('the 16 KB limit counts the bytes sent; a field given twice is refused; nothing is written', async () => {
    const before = await callCount();
    const fits = `{"k": "${'x'.repeat(METADATA_MAX_BYTES - 10)}"}`;
    assert.equal((await create(`{"to": "+14155550123", "metadata": ${fits}}`)).status, 202);
    // The same value with whitespace inside it: over the limit as sent, though its parsed value fits.
    const padded = `{"k":        "${'x'.repeat(METADATA_MAX_BYTES - 10)}"}`;
    const big = await create(`{"to": "+14155550123", "metadata": ${padded}}`);
    assert.equal(big.status, 413, big.raw);
    assert.deepEqual([big.body.error.code, big.body.error.param], ['metadata_too_large', 'metadata']);
    for (const body of ['{"to": "+14155550123", "metadata": {"a": 1}, "metadata": {"a": 2}}', '{"to": "+14155550123", "to": "+14155550124"}', '{"to": "+14155550123", "metad\\u0061ta": 1, "metadata": 2}']) {
      const dup = await create(body);
      assert.equal(dup.status, 400, body);
      assert.equal(dup.body.error.code, 'invalid_request');
      assert.ok(['metadata', 'to'].includes(dup.body.error.param as string), dup.raw);
    }
    assert.equal(await callCount(), before + 1, 'only the call that fits was written');
  });

  test('an Idempotency-Key replay compares the parsed body, as before: key order and whitespace do not matter', async () => {
    const h = { 'idempotency-key': `k-${Date.now()}` };
    const a = await t.org.req('POST', url(), '{"to": "+14155550123", "metadata": {"a": 1, "b": 2}}', h);
    const b = await t.org.req('POST', url(), '{"metadata": { "b": 2, "a": 1 }, "to": "+14155550123"}', h);
    assert.equal(a.status, 202);
    assert.equal(b.status, 202);
    assert.equal(b.headers['idempotent-replayed'], 'true');
    assert.equal(b.body.id, a.body.id);
    assert.ok(b.raw.includes('"metadata":{"a": 1, "b": 2}'), 'the replay shows the first request\'s text');
    const other = await t.org.req('POST', url(), '{"to": "+14155550123", "metadata": {"a": 1, "b": 3}}', h);
    assert.equal(other.status, 409);
  });
});

describe('status_callback url or urls', () => {
  test('urls: up to 5 unique URLs, echoed as given; events default to the status events (no conversation.*)', async () => {
    const urls = Array.from({ length: STATUS_CALLBACK_MAX_URLS }, (_, i) => `https://hooks${i}.example.com/s?n=${i}`);
    const r = await create({ to: '+14155550123', status_callback: { urls } });
    assert.equal(r.status, 202, r.raw);
    assert.deepEqual(r.body.status_callback, { urls, events: [...DEFAULT_STATUS_CALLBACK_EVENTS], method: 'POST' });
    assert.ok(!DEFAULT_STATUS_CALLBACK_EVENTS.some((e) => e.startsWith('conversation.')));
    const conv = await create({ to: '+14155550123', status_callback: { url: 'https://h.example.com/', events: ['conversation.created', 'conversation.ended'] } });
    assert.equal(conv.status, 202, conv.raw);
  });

  test('refused: both url and urls, neither, more than 5, duplicates, an empty list, a private URL in the list; nothing written', async () => {
    const before = await callCount();
    const cases: Array<[unknown, number, string, string]> = [
      [{ url: 'https://a.example.com/', urls: ['https://b.example.com/'] }, 400, 'invalid_request', 'status_callback.urls'],
      [{ events: ['ringing'] }, 400, 'missing_field', 'status_callback.url'],
      [{ urls: Array.from({ length: 6 }, (_, i) => `https://h${i}.example.com/`) }, 400, 'invalid_request', 'status_callback.urls'],
      [{ urls: ['https://a.example.com/', 'https://a.example.com/'] }, 400, 'invalid_request', 'status_callback.urls'],
      [{ urls: [] }, 400, 'invalid_request', 'status_callback.urls'],
      [{ urls: ['https://a.example.com/', 'http://10.0.0.5/hook'] }, 400, 'private_url_not_allowed', 'status_callback.urls[1]'],
      [{ urls: ['https://a.example.com/', 'ftp://b.example.com/'] }, 400, 'invalid_url', 'status_callback.urls[1]'],
    ];
    for (const [sc, status, code, param] of cases) {
      const r = await create({ to: '+14155550123', status_callback: sc });
      assert.deepEqual([r.status, r.body.error?.code, r.body.error?.param], [status, code, param], `${JSON.stringify(sc)}: ${r.raw}`);
    }
    assert.equal(await callCount(), before);
  });
});

describe('each status event at most once per call', () => {
  test('two transactions racing to report ringing: one event, one delivery', async () => {
    const r = await create({ to: '+14155550123', status_callback: { url: 'https://h.example.com/', events: ['ringing'] } });
    const callId = r.body.id as string;
    for (const to of ['dispatching', 'dialing'] as const) {
      await t.db.transaction((tx) => transitionCall(tx, { orgId: t.org.id, callId, to, at: new Date() }));
    }
    const row = (await t.db.query<CallRow>(sql`select * from calls where id = ${callId}`)).rows[0]!;
    const firsts = await Promise.all([0, 1, 2].map(() => t.db.transaction((tx) => enqueueStatusEvent(tx, row, 'ringing', new Date()))));
    assert.deepEqual(firsts.filter(Boolean).length, 1, `exactly one transaction was first: ${JSON.stringify(firsts)}`);
    const n = await t.db.query<{ n: number }>(sql`select count(*)::int as n from webhook_events where call_id = ${callId} and type = 'call.ringing'`);
    assert.equal(Number(n.rows[0]?.n), 1);
  });
});
