import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CALL_STATUSES, canTransition, isTerminal, type CallStatus } from '../../src/contract/status.js';
import { transitionCall } from '../../src/calls/transitions.js';
import { sql } from '../../src/store/sql.js';
import { callFixture, startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
let agentId: string;
let clock = Date.parse('2026-03-01T10:00:00.000Z');
const tick = () => new Date((clock += 1000));

before(async () => {
  t = await startTestApp();
  agentId = (await callFixture(t.org)).agentId;
});
after(async () => t.close());

// A legal path from queued to every status.
const PATH: Record<CallStatus, CallStatus[]> = {
  queued: [],
  dispatching: ['dispatching'],
  dialing: ['dispatching', 'dialing'],
  // An inbound call is created ringing (callAt writes it so); it never passes through the queue.
  ringing: [],
  in_progress: ['dispatching', 'dialing', 'in_progress'],
  completed: ['dispatching', 'dialing', 'in_progress', 'completed'],
  no_answer: ['dispatching', 'dialing', 'no_answer'],
  busy: ['dispatching', 'dialing', 'busy'],
  failed: ['dispatching', 'dialing', 'failed'],
  canceled: ['canceled'],
};

async function newCall(): Promise<string> {
  const r = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, { to: '+14155550123' });
  assert.equal(r.status, 202);
  return r.body.id;
}

async function move(callId: string, to: CallStatus) {
  return t.db.transaction((tx) => transitionCall(tx, { orgId: t.org.id, callId, to, at: tick() }));
}

async function callAt(status: CallStatus): Promise<string> {
  const id = await newCall();
  if (status === 'ringing') await t.db.query(sql`update calls set status = 'ringing', direction = 'inbound' where id = ${id}`);
  for (const s of PATH[status]) await move(id, s);
  return id;
}

async function state(callId: string) {
  const c = await t.db.query<{ status: CallStatus; dispatched_at: Date | null; answered_at: Date | null; ended_at: Date | null }>(
    sql`select status, dispatched_at, answered_at, ended_at from calls where id = ${callId}`,
  );
  const e = await t.db.query<{ from_status: string | null; to_status: string; at: Date; terminal: boolean }>(
    sql`select from_status, to_status, at, terminal from call_events where call_id = ${callId} order by id`,
  );
  return { call: c.rows[0]!, events: e.rows };
}

test('every legal transition sets the status, its timestamp and one event, atomically', async () => {
  let n = 0;
  for (const from of CALL_STATUSES) {
    for (const to of CALL_STATUSES) {
      if (!canTransition(from, to)) continue;
      const id = await callAt(from);
      const before = await state(id);
      const r = await move(id, to);
      assert.deepEqual([r.from, r.to], [from, to]);
      const after = await state(id);
      assert.equal(after.call.status, to);
      assert.equal(after.events.length, before.events.length + 1);
      const ev = after.events.at(-1)!;
      assert.deepEqual([ev.from_status, ev.to_status, ev.terminal], [from, to, isTerminal(to)]);
      assert.equal(ev.at.getTime(), clock, 'the event carries the transition time');
      if (to === 'dispatching') assert.equal(after.call.dispatched_at?.getTime(), clock);
      if (to === 'in_progress') assert.equal(after.call.answered_at?.getTime(), clock);
      if (isTerminal(to)) assert.equal(after.call.ended_at?.getTime(), clock);
      if (to === 'queued') assert.equal(after.call.dispatched_at, null, 're-queued calls are no longer dispatched');
      n++;
    }
  }
  assert.equal(n, 17);
});

test('every illegal transition is refused and changes nothing', async () => {
  let n = 0;
  for (const from of CALL_STATUSES) {
    const targets = CALL_STATUSES.filter((to) => !canTransition(from, to));
    if (targets.length === 0) continue;
    const id = await callAt(from);
    for (const to of targets) {
      const before = await state(id);
      await assert.rejects(move(id, to), { code: 'illegal_transition' }, `${from} -> ${to}`);
      assert.deepEqual(await state(id), before, `${from} -> ${to} left no trace`);
      n++;
    }
  }
  assert.equal(n, 100 - 17);
});

test('expectFrom makes a transition compare-and-set', async () => {
  const id = await callAt('dispatching');
  await assert.rejects(
    t.db.transaction((tx) => transitionCall(tx, { orgId: t.org.id, callId: id, to: 'dialing', at: tick(), expectFrom: 'queued' })),
    { code: 'illegal_transition' },
  );
  await t.db.transaction((tx) => transitionCall(tx, { orgId: t.org.id, callId: id, to: 'dialing', at: tick(), expectFrom: 'dispatching' }));
  assert.equal((await state(id)).call.status, 'dialing');
});

test('racing terminal transitions: exactly one wins', async () => {
  for (let i = 0; i < 5; i++) {
    const id = await callAt('in_progress');
    const results = await Promise.allSettled([move(id, 'completed'), move(id, 'failed'), move(id, 'completed')]);
    const won = results.filter((r) => r.status === 'fulfilled');
    assert.equal(won.length, 1);
    for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as { code: string }).code, 'illegal_transition');
    const s = await state(id);
    assert.equal(s.events.filter((e) => e.terminal).length, 1);
  }
});

test('the database itself refuses a second terminal event for a call', async () => {
  const id = await callAt('busy');
  await assert.rejects(
    t.db.query(sql`insert into call_events (org_id, call_id, from_status, to_status, terminal, at)
      values (${t.org.id}, ${id}, 'busy', 'failed', true, now())`),
  );
});

test('facts are recorded with the transition, and a failing transaction rolls everything back', async () => {
  const id = await callAt('dialing');
  await assert.rejects(
    t.db.transaction(async (tx) => {
      await transitionCall(tx, { orgId: t.org.id, callId: id, to: 'busy', at: tick(), facts: { sipStatusCode: 486, endReason: 'busy' } });
      throw new Error('crash after the transition');
    }),
  );
  assert.equal((await state(id)).call.status, 'dialing');
  await t.db.transaction((tx) =>
    transitionCall(tx, { orgId: t.org.id, callId: id, to: 'busy', at: tick(), facts: { sipStatusCode: 486, endReason: 'busy' }, data: { reason: 'Busy Here' } }),
  );
  const call = await t.org.req('GET', `/v1/calls/${id}`);
  assert.equal(call.body.status, 'busy');
  assert.equal(call.body.sip_status_code, 486);
  assert.equal(call.body.end_reason, 'busy');
  assert.equal(call.body.duration_s, null, 'never answered');
  const ev = await t.org.req('GET', `/v1/calls/${id}/events`);
  assert.deepEqual(ev.body.data.map((e: { to_status: string }) => e.to_status), ['queued', 'dispatching', 'dialing', 'busy']);
  assert.deepEqual(ev.body.data.at(-1).data, { reason: 'Busy Here' });
});

test('duration is answer to end', async () => {
  const id = await callAt('completed');
  const call = await t.org.req('GET', `/v1/calls/${id}`);
  assert.equal(call.body.duration_s, 1, 'one tick between in_progress and completed');
});
