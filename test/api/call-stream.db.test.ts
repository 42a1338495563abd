/**
 * GET /v1/calls/{id}/stream over a real HTTP connection: the call object first, every status
 * transition in order with its event id, live ringing and turn activity, then `end` with the final
 * call and the stream closes; Last-Event-ID resumes without repeats; another organisation gets 404.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { publishActivity } from '../../src/calls/activity.js';
import { transitionCall } from '../../src/calls/transitions.js';
import { callFixture, startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
let base: string;
before(async () => {
  t = await startTestApp();
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
after(async () => t.close());

interface Sse {
  event: string;
  id?: string;
  data: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Reads server-sent events until the server closes the stream; `onEvent` may act as they come. */
async function readStream(url: string, key: string, onEvent: (e: Sse) => Promise<void> | void, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers: { authorization: `Bearer ${key}`, ...headers } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const events: Sse[] = [];
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const e: Partial<Sse> = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const [k, ...v] = line.split(': ');
        const value = v.join(': ');
        if (k === 'event') e.event = value;
        else if (k === 'id') e.id = value;
        else if (k === 'data') e.data = JSON.parse(value);
      }
      if (e.event) {
        events.push(e as Sse);
        await onEvent(e as Sse);
      }
    }
  }
  return events;
}

async function queuedCall(): Promise<{ callId: string; orgId: string }> {
  const n = String(Math.floor(Math.random() * 9e6) + 1e6);
  const f = await callFixture(t.org, {}, `+1415${n}`);
  const r = await t.org.req('POST', `/v1/agents/${f.agentId}/outbound-calls`, { to: '+14155550123', metadata: { n } });
  assert.equal(r.status, 202, r.raw);
  return { callId: r.body.id, orgId: t.org.id };
}

describe('GET /v1/calls/{id}/stream', () => {
  test('streams the call, each transition, ringing and turns live, then end and close', async () => {
    const { callId, orgId } = await queuedCall();
    const step = (to: 'dispatching' | 'dialing' | 'in_progress' | 'completed', facts = {}) =>
      t.db.transaction((tx) => transitionCall(tx, { orgId, callId, to, at: new Date(), facts }));
    let acted = false;
    const events = await readStream(`${base}/v1/calls/${callId}/stream`, t.org.key, async (e) => {
      // Drive the call once the stream has caught up with the queued state.
      if (e.event === 'status' && e.data.to_status === 'queued' && !acted) {
        acted = true;
        await step('dispatching');
        await step('dialing');
        await publishActivity(t.db, { kind: 'ringing', callId, at: new Date().toISOString(), earlyMedia: false });
        await step('in_progress');
        await publishActivity(t.db, { kind: 'turn', callId, turn: { speaker: 'agent', text: 'Hello Ana', interrupted: false, startMs: 10, endMs: 900 } });
        await publishActivity(t.db, { kind: 'turn', callId, turn: { speaker: 'callee', text: 'yes please', interrupted: false, startMs: 1200, endMs: 1800 } });
        await step('completed', { endReason: 'callee_hangup' });
      }
    });
    assert.equal(events[0]?.event, 'call');
    assert.equal(events[0]?.data.id, callId);
    assert.deepEqual(
      events.filter((e) => e.event === 'status').map((e) => e.data.to_status),
      ['queued', 'dispatching', 'dialing', 'in_progress', 'completed'],
    );
    const ids = events.filter((e) => e.event === 'status').map((e) => Number(e.id));
    assert.deepEqual([...ids].sort((a, b) => a - b), ids, 'status events in id order');
    assert.equal(new Set(ids).size, ids.length, 'no status event twice');
    assert.ok(events.some((e) => e.event === 'ringing'));
    assert.deepEqual(
      events.filter((e) => e.event === 'turn').map((e) => `${e.data.speaker}: ${e.data.text}`),
      ['agent: Hello Ana', 'callee: yes please'],
    );
    const end = events.at(-1);
    assert.equal(end?.event, 'end');
    assert.equal(end?.data.status, 'completed');
    assert.equal(end?.data.end_reason, 'callee_hangup');
  });

  test('Last-Event-ID resumes after that event; an ended call streams its rest and closes at once', async () => {
    const { callId, orgId } = await queuedCall();
    for (const to of ['dispatching', 'canceled'] as const) {
      await t.db.transaction((tx) => transitionCall(tx, { orgId, callId, to, at: new Date(), facts: to === 'canceled' ? { endReason: 'canceled_by_api' } : {} }));
    }
    const all = await readStream(`${base}/v1/calls/${callId}/stream`, t.org.key, () => {});
    const statuses = all.filter((e) => e.event === 'status');
    assert.deepEqual(statuses.map((e) => e.data.to_status), ['queued', 'dispatching', 'canceled']);
    const resumed = await readStream(`${base}/v1/calls/${callId}/stream`, t.org.key, () => {}, { 'last-event-id': statuses[0]!.id! });
    assert.deepEqual(resumed.filter((e) => e.event === 'status').map((e) => e.data.to_status), ['dispatching', 'canceled']);
    assert.equal(resumed.at(-1)?.event, 'end');
  });

  test("another organisation's call is a 404 with the catalog code, before any stream", async () => {
    const { callId } = await queuedCall();
    const other = await t.newOrg('org B');
    const res = await fetch(`${base}/v1/calls/${callId}/stream`, { headers: { authorization: `Bearer ${other.key}` } });
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'call_not_found');
  });
});
