/**
 * The organization's own concurrency limit, set through the API, holds on live calls: with
 * max_concurrent_calls 1 a second call waits for the first to end; removing the limit lets calls
 * overlap again. SIPp answers; the greeting-only agent hangs up once its greeting has played.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { CallPlane } from '../../src/worker/control/call-plane.js';
import { startTestCallPlane } from '../helpers/test-call-plane.js';
import { freeUdpPort, startSipp, type SippProcess } from '../helpers/sipp.js';
import { toolAvailable } from '../helpers/require-tool.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

const haveTools = toolAvailable('sipp') && toolAvailable('espeak-ng');
const skip = haveTools ? false : 'sipp or espeak-ng is not installed (scripts/setup-test-env.sh)';
const scenario = fileURLToPath(new URL('../fixtures/sipp/uas_answer.xml', import.meta.url));

let t: TestApp;
let plane: CallPlane;
let sipp: SippProcess | undefined;

before(async () => {
  if (skip) return;
  t = await startTestApp({ allowPrivateUrls: true });
  plane = await startTestCallPlane(t.ctx, { rtpPortMin: 40000, rtpPortMax: 40398 });
});
after(async () => {
  if (skip) return;
  await plane.stop();
  await t.close();
});
afterEach(async () => {
  await sipp?.stop();
  sipp = undefined;
});

interface CallView {
  status: string;
  dispatched_at: string | null;
  answered_at: string | null;
  ended_at: string | null;
}

async function twoCalls(port: number): Promise<[CallView, CallView]> {
  const n = String(Math.floor(Math.random() * 9e6) + 1e6);
  const trunk = await t.org.req('POST', '/v1/trunks', { name: `sipp-${n}`, host: '127.0.0.1', port });
  const agent = await t.org.req('POST', '/v1/agents', { name: `agent-${n}`, greeting: 'Hello, this is a short reminder from the clinic.', max_cps: 50 });
  const pn = await t.org.req('POST', '/v1/phone-numbers', { number: `+1415${n}`, trunk_id: trunk.body.id, outbound_agent_id: agent.body.id });
  assert.equal(pn.status, 201, pn.raw);
  const ids: string[] = [];
  for (let i = 0; i < 2; i++) {
    const r = await t.org.req('POST', `/v1/agents/${agent.body.id}/outbound-calls`, { to: `+1415555010${i}` });
    assert.equal(r.status, 202, r.raw);
    ids.push(r.body.id as string);
  }
  const ended = await waitFor(
    'both calls ended',
    async () => {
      const calls = await Promise.all(ids.map(async (id) => (await t.org.req('GET', `/v1/calls/${id}`)).body as CallView));
      return calls.every((c) => c.ended_at !== null) ? calls : undefined;
    },
    60_000,
  );
  for (const c of ended) assert.equal(c.status, 'completed');
  return ended.sort((a, b) => Date.parse(a.dispatched_at!) - Date.parse(b.dispatched_at!)) as [CallView, CallView];
}

describe("the organization's max_concurrent_calls, set through the API, on live calls", { skip }, () => {
  test('GET and PATCH /v1/organization: the limit is shown, set, validated and removed', async () => {
    const org = await t.newOrg();
    const before = await org.req('GET', '/v1/organization');
    assert.equal(before.status, 200, before.raw);
    assert.equal(before.body.id, org.id);
    assert.equal(before.body.max_concurrent_calls, null);
    for (const bad of [{ max_concurrent_calls: 0 }, { max_concurrent_calls: 1.5 }, { max_concurrent_calls: 'many' }, {}, { id: 'org_x' }]) {
      const r = await org.req('PATCH', '/v1/organization', bad);
      assert.equal(r.status, 400, `${JSON.stringify(bad)}: ${r.raw}`);
      assert.ok(r.body.error.code, 'the error envelope');
    }
    const set = await org.req('PATCH', '/v1/organization', { max_concurrent_calls: 7 });
    assert.equal(set.body.max_concurrent_calls, 7);
    assert.equal((await org.req('GET', '/v1/organization')).body.max_concurrent_calls, 7);
    assert.equal((await t.org.req('GET', '/v1/organization')).body.max_concurrent_calls, null, "another organization's limit is its own");
    assert.equal((await org.req('PATCH', '/v1/organization', { max_concurrent_calls: null })).body.max_concurrent_calls, null);
  });

  test('limit 1: the second call is dialed only after the first ended; without it they overlap', async () => {
    const port = await freeUdpPort();
    sipp = await startSipp({ scenario, port, calls: 4, extraArgs: ['-mp', String(await freeUdpPort()), '-rtp_echo'] });
    assert.equal((await t.org.req('PATCH', '/v1/organization', { max_concurrent_calls: 1 })).status, 200);
    const [a, b] = await twoCalls(port);
    assert.ok(Date.parse(b.dispatched_at!) >= Date.parse(a.ended_at!), `the second call waited: dispatched ${b.dispatched_at}, first ended ${a.ended_at}`);

    assert.equal((await t.org.req('PATCH', '/v1/organization', { max_concurrent_calls: null })).status, 200);
    const [c, d] = await twoCalls(port);
    assert.ok(Date.parse(d.dispatched_at!) < Date.parse(c.ended_at!), `without the limit the calls overlap: dispatched ${d.dispatched_at}, first ended ${c.ended_at}`);
  });
});
