/**
 * The SDK against a running server: the generated types are current, every call is typed end to
 * end (a wrong path or body would not compile), errors arrive typed with their catalog code, and
 * watchCall follows a call to its end. The example program runs too.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createOutcallClient, watchCall, type CallStreamEvent } from '../../src/sdk/index.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
let t: TestApp;
let baseUrl: string;
before(async () => {
  t = await startTestApp();
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
after(async () => t.close());

test('create trunk, agent, number and a call; typed errors; watch the call to its end', async () => {
  const sdk = createOutcallClient({ baseUrl, apiKey: t.org.key });
  const trunk = await sdk.POST('/v1/trunks', { body: { name: 'sdk', host: 'sip.example.com' } });
  assert.ok(trunk.data, JSON.stringify(trunk.error));
  const agent = await sdk.POST('/v1/agents', { body: { name: 'SDK agent', greeting: 'Hello {{name}}' } });
  assert.ok(agent.data);
  const num = await sdk.POST('/v1/phone-numbers', { body: { number: '+14155550901', trunk_id: trunk.data.id, outbound_agent_id: agent.data.id } });
  assert.ok(num.data, JSON.stringify(num.error));

  const missingVar = await sdk.POST('/v1/agents/{agentId}/outbound-calls', { params: { path: { agentId: agent.data.id } }, body: { to: '+14155550123' } });
  assert.equal(missingVar.response.status, 422);
  assert.equal(missingVar.error?.error.code, 'missing_dynamic_variable');

  const call = await sdk.POST('/v1/agents/{agentId}/outbound-calls', {
    params: { path: { agentId: agent.data.id } },
    body: { to: '+14155550123', dynamic_variables: { name: 'Ana' }, metadata: { crm: 42 } },
  });
  assert.equal(call.response.status, 202);
  assert.ok(call.data);
  const got = await sdk.GET('/v1/calls/{callId}', { params: { path: { callId: call.data.id } } });
  assert.deepEqual(got.data?.metadata, { crm: 42 });

  const seen: CallStreamEvent['event'][] = [];
  for await (const e of watchCall({ baseUrl, apiKey: t.org.key }, call.data.id)) {
    seen.push(e.event);
    if (e.event === 'status' && e.data.to_status === 'queued') {
      const c: { response: Response } = await sdk.POST('/v1/agents/{agentId}/outbound-calls/{callId}/cancel', {
        params: { path: { agentId: agent.data.id, callId: call.data.id } },
      });
      assert.equal(c.response.status, 202);
    }
    if (e.event === 'end') assert.equal(e.data.status, 'canceled');
  }
  assert.deepEqual(seen, ['call', 'status', 'status', 'end']);
  await assert.rejects(
    async () => {
      for await (const _ of watchCall({ baseUrl, apiKey: t.org.key }, 'call_nope')) void _;
    },
    (err: Error & { status?: number; code?: string }) => err.status === 404 && err.code === 'call_not_found',
  );
});

test('examples/place-call.ts places a call and prints it to its end', async () => {
  const sdk = createOutcallClient({ baseUrl, apiKey: t.org.key });
  const agent = (await sdk.POST('/v1/agents', { body: { name: 'Example agent' } })).data!;
  const trunk = (await sdk.POST('/v1/trunks', { body: { name: 'ex', host: 'sip.example.com' } })).data!;
  assert.ok((await sdk.POST('/v1/phone-numbers', { body: { number: '+14155550902', trunk_id: trunk.id, outbound_agent_id: agent.id } })).data);
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/place-call.ts', agent.id, '+14155550124'], {
    cwd: root,
    env: { ...process.env, OUTCALL_URL: baseUrl, OUTCALL_API_KEY: t.org.key },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  for await (const line of createInterface({ input: child.stdout })) {
    lines.push(line);
    const m = /^call (\S+) queued$/.exec(line);
    // Nobody dispatches in this app: cancel the call so it ends.
    if (m) await sdk.POST('/v1/agents/{agentId}/outbound-calls/{callId}/cancel', { params: { path: { agentId: agent.id, callId: m[1]! } } });
  }
  const code = await new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', r)));
  assert.equal(code, 0);
  assert.match(lines[0] ?? '', /^call \S+ queued$/);
  assert.deepEqual(lines.slice(1), ['status queued', 'status canceled', 'ended canceled (canceled_by_api)']);
});
