/**
 * One registrant per trunk across workers: two keepers (two workers' control sides) on one store see
 * the same registering trunk; exactly one registers it. A graceful stop hands it over at once, a
 * worker that stops renewing (died) loses it when its lease runs out, and if it comes back it lets go
 * (unregisters) instead of fighting. Edits reach the holder; register off or a deleted trunk is let go.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from '../../src/store/sql.js';
import type { RegisterCommand, WorkerCommand, WorkerEvent } from '../../src/worker/protocol.js';
import { RegistrationKeeper } from '../../src/worker/control/registration-keeper.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { TestClock } from '../dispatch/helpers.js';

const clock = new TestClock();
let t: TestApp;
before(async () => {
  t = await startTestApp({ now: clock.now });
});
after(async () => t.close());

function worker(id: string) {
  const sent: WorkerCommand[] = [];
  const keeper = new RegistrationKeeper(t.ctx, { workerId: id, media: { send: (c) => sent.push(c), on: (_l: (e: WorkerEvent) => void) => () => {} }, leaseMs: 10_000 });
  const registers = (trunkId: string) => sent.filter((c): c is RegisterCommand => c.type === 'register' && c.trunkId === trunkId);
  const unregisters = (trunkId: string) => sent.filter((c) => c.type === 'unregister' && c.trunkId === trunkId);
  return { id, keeper, sent, registers, unregisters };
}

async function holder(trunkId: string) {
  const r = await t.db.query<{ worker_id: string | null; state: string }>(sql`select worker_id, state from trunk_registrations where trunk_id = ${trunkId}`);
  return r.rows[0];
}

test('two workers, one registering trunk: one registrant; handover on stop, on a lapsed lease; edits re-register; register off lets go', async () => {
  const created = await t.org.req('POST', '/v1/trunks', { name: 'reg', host: '192.0.2.10', username: 'acme', password: 'pw-1', register: true, registration_expires_s: 300 });
  assert.equal(created.status, 201, created.raw);
  const trunkId = created.body.id as string;
  assert.equal(created.body.registration.state, 'pending', 'no worker has it yet');
  const a = worker('wrk_a');
  const b = worker('wrk_b');
  await Promise.all([a.keeper.kick(), b.keeper.kick(), a.keeper.kick(), b.keeper.kick()]);
  const first = a.registers(trunkId).length > 0 ? a : b;
  const second = first === a ? b : a;
  assert.equal(first.registers(trunkId).length, 1, 'registered once (a second pass renews, it does not re-register)');
  assert.equal(second.registers(trunkId).length, 0, 'the other worker keeps off');
  assert.deepEqual(first.registers(trunkId)[0], {
    type: 'register', trunkId, registrar: { host: '192.0.2.10', port: 5060, transport: 'udp' }, user: 'acme', credentials: { username: 'acme', password: 'pw-1' }, expiresS: 300,
  });
  assert.equal((await holder(trunkId))?.worker_id, first.id);
  assert.equal((await t.org.req('GET', `/v1/trunks/${trunkId}`)).body.registration.state, 'registering');

  // The holder's reports are kept (and shown by the API); the other worker's would be dropped.
  first.keeper.onEvent({ type: 'registration', trunkId, state: 'registered', expiresAt: Date.parse('2030-01-01T00:05:00Z'), lastSuccessAt: Date.parse('2030-01-01T00:00:00Z'), at: Date.now() });
  second.keeper.onEvent({ type: 'registration', trunkId, state: 'failed', lastError: 'not mine', at: Date.now() });
  await first.keeper.kick();
  const shown = (await t.org.req('GET', `/v1/trunks/${trunkId}`)).body.registration;
  assert.deepEqual(shown, { state: 'registered', expires_at: '2030-01-01T00:05:00.000Z', last_error: null, last_success_at: '2030-01-01T00:00:00.000Z' });

  // An edit (new password) reaches the holder as a new register; the other still keeps off.
  assert.equal((await t.org.req('PATCH', `/v1/trunks/${trunkId}`, { password: 'pw-2' })).status, 200);
  await Promise.all([first.keeper.kick(), second.keeper.kick()]);
  assert.deepEqual(first.registers(trunkId).map((c) => c.credentials?.password), ['pw-1', 'pw-2']);
  assert.equal(second.registers(trunkId).length, 0);

  // A graceful stop removes the binding and frees the lease: the other worker takes it at once.
  await first.keeper.stop();
  assert.equal(first.unregisters(trunkId).length, 1);
  await second.keeper.kick();
  assert.equal(second.registers(trunkId).length, 1, 'taken over after the stop');
  assert.equal((await holder(trunkId))?.worker_id, second.id);

  // A third worker while the second holds a live lease: nothing. Once the second stops renewing
  // (its process froze or died) and the lease lapses, the third takes it.
  const c = worker('wrk_c');
  await c.keeper.kick();
  assert.equal(c.registers(trunkId).length, 0);
  clock.advance(10_001);
  await c.keeper.kick();
  assert.equal(c.registers(trunkId).length, 1, 'taken over after the lease lapsed');
  // The second comes back: it finds the trunk someone else's and lets go (unregisters) instead of fighting.
  await second.keeper.kick();
  assert.equal(second.unregisters(trunkId).length, 1);
  assert.equal((await holder(trunkId))?.worker_id, c.id, 'the letting go did not touch the new holder\'s lease');

  // Register off: the holder lets go; the API shows no registration.
  const off = await t.org.req('PATCH', `/v1/trunks/${trunkId}`, { register: false });
  assert.equal(off.body.registration, null);
  await c.keeper.kick();
  assert.equal(c.unregisters(trunkId).length, 1);
  assert.deepEqual(await holder(trunkId), { worker_id: null, state: 'unregistered' });
  await Promise.all([second.keeper.stop(), c.keeper.stop()]);
});
