import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Dispatcher } from '../../src/dispatch/dispatcher.js';
import type { DispatchLogger } from '../../src/dispatch/types.js';
import { sql } from '../../src/store/sql.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { addAgent, RecordingDialer, statusOf } from './helpers.js';

// Real time here: these tests prove the wake paths (NOTIFY, the scheduled-call timer) work. The
// bounds are far below the 60 s poll interval, so they test correctness, not speed.
const POLL = 60_000;
let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(async () => t.close());

const quiet: DispatchLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

async function started(dialer: RecordingDialer, workerId: string, logger?: DispatchLogger): Promise<Dispatcher> {
  const d = new Dispatcher({ db: t.db, workerId, dialer, pollIntervalMs: POLL, ...(logger ? { logger } : {}) });
  await d.start();
  await new Promise((r) => setTimeout(r, 100)); // its first pass finds nothing; it now sleeps 60 s
  return d;
}

test('NOTIFY wakes a sleeping dispatcher: a call created through the API is dialed within 2 s', async () => {
  const { agentId } = await addAgent(t.ctx, t.org.id, { maxCps: 1000 });
  const dialer = new RecordingDialer();
  const d = await started(dialer, 'w-notify');
  try {
    const t0 = Date.now();
    const r = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, { to: '+14155550123' });
    assert.equal(r.status, 202);
    await dialer.waitFor(1, 2000);
    assert.equal(dialer.calls[0]?.id, r.body.id);
    assert.ok(Date.now() - t0 < 2000);
  } finally {
    await d.stop();
  }
});

test('a burst of creations (20 NOTIFYs) is dialed exactly once each', async () => {
  const { agentId } = await addAgent(t.ctx, t.org.id, { maxCps: 1000 });
  const dialer = new RecordingDialer();
  const d = await started(dialer, 'w-burst');
  try {
    const ids = await Promise.all(
      Array.from({ length: 20 }, async () => (await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, { to: '+14155550123' })).body.id as string),
    );
    await dialer.waitFor(20, 5000);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual([...dialer.count.keys()].sort(), [...ids].sort());
    assert.ok([...dialer.count.values()].every((n) => n === 1));
  } finally {
    await d.stop();
  }
});

test('the loop sleeps until a scheduled call is due, not the poll interval', async () => {
  const { agentId } = await addAgent(t.ctx, t.org.id, { maxCps: 1000 });
  const dialer = new RecordingDialer();
  const d = await started(dialer, 'w-sched');
  try {
    const at = Date.now() + 500;
    const r = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, { to: '+14155550123', scheduled_at: new Date(at).toISOString() });
    assert.equal(r.status, 202);
    await dialer.waitFor(1, 2500);
    assert.ok(Date.now() >= at, 'not before it is due');
  } finally {
    await d.stop();
  }
});

test('a dialer that throws before dialing ends the call failed / dial_error (no retry loop), and it is logged', async () => {
  const { agentId } = await addAgent(t.ctx, t.org.id, { maxCps: 1000 });
  const errors: string[] = [];
  const logger: DispatchLogger = { ...quiet, error: (_obj, msg) => errors.push(msg) };
  const d = new Dispatcher({
    db: t.db,
    workerId: 'w-broken',
    pollIntervalMs: POLL,
    logger,
    dialer: {
      async dial() {
        throw new Error('trunk unreachable');
      },
    },
  });
  await d.start();
  try {
    const r = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, { to: '+14155550123' });
    for (let i = 0; i < 100 && (await statusOf(t.db, r.body.id)) !== 'failed'; i++) await new Promise((res) => setTimeout(res, 20));
    const row = (await t.db.query<{ status: string; end_reason: string }>(sql`select status, end_reason from calls where id = ${r.body.id}`)).rows[0];
    assert.deepEqual(row, { status: 'failed', end_reason: 'dial_error' });
    assert.ok(errors.includes('dialer failed'));
  } finally {
    await d.stop();
  }
});

test('after stop() nothing more is claimed, and the worker is deregistered', async () => {
  const { agentId } = await addAgent(t.ctx, t.org.id, { maxCps: 1000 });
  const dialer = new RecordingDialer();
  const d = await started(dialer, 'w-stop');
  assert.equal((await t.db.query(sql`select 1 from workers where id = 'w-stop'`)).rowCount, 1);
  await d.stop();
  const r = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, { to: '+14155550123' });
  await new Promise((res) => setTimeout(res, 300));
  assert.equal(dialer.calls.length, 0);
  assert.equal(await statusOf(t.db, r.body.id), 'queued');
  assert.equal((await t.db.query(sql`select 1 from workers where id = 'w-stop'`)).rowCount, 0);
});

test("a dialer that asks the dispatcher's guard gets true once and the call is dialing", async () => {
  const { agentId } = await addAgent(t.ctx, t.org.id, { maxCps: 1000 });
  const results = new Map<string, boolean[]>(); // the earlier test's leftover queued call shows up here too
  const d: Dispatcher = new Dispatcher({
    db: t.db,
    workerId: 'w-guarded',
    pollIntervalMs: POLL,
    dialer: {
      async dial(call) {
        results.set(call.id, [await d.beginDial(call), await d.beginDial(call)]);
      },
    },
  });
  await d.start();
  try {
    const r = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, { to: '+14155550123' });
    for (let i = 0; i < 100 && !results.has(r.body.id); i++) await new Promise((res) => setTimeout(res, 20));
    assert.deepEqual(results.get(r.body.id), [true, false]);
    assert.equal(await statusOf(t.db, r.body.id), 'dialing');
  } finally {
    await d.stop();
  }
});
