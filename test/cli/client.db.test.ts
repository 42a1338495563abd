/**
 * The CLI's client commands against a running API (a real HTTP listener): create and list
 * resources, place a call and follow it live to its end, API errors shown with their code, and the
 * exit statuses scripts rely on.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { REPO, runCli } from '../helpers/cli.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
let env: Record<string, string>;
before(async () => {
  t = await startTestApp();
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  env = { OUTCALL_URL: `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`, OUTCALL_API_KEY: t.org.key };
});
after(async () => t.close());

async function cli(args: string[]) {
  return runCli(args, env);
}

test('agents, trunks and numbers: create from JSON, list as a table and as JSON; errors carry the API code', async () => {
  const a = await cli(['agents', 'create', '--json', '--data', JSON.stringify({ name: 'CLI agent', greeting: 'Hi {{name}}' })]);
  assert.equal(a.code, 0, a.stderr);
  const agent = JSON.parse(a.stdout) as { id: string };
  const tr = await cli(['trunks', 'create', '--data', JSON.stringify({ name: 'cli-trunk', host: 'sip.example.com' })]);
  assert.match(tr.stdout, /^created trunk (\S+)/);
  const trunkId = /^created trunk (\S+)/.exec(tr.stdout)![1]!;
  const n = await cli(['numbers', 'create', '--data', JSON.stringify({ number: '+14155550931', trunk_id: trunkId, outbound_agent_id: agent.id })]);
  assert.equal(n.code, 0, n.stderr);

  const list = await cli(['agents', 'list']);
  assert.equal(list.code, 0);
  assert.match(list.stdout.split('\n')[0]!, /^ID\s+NAME\s+LANGUAGE/);
  assert.match(list.stdout, new RegExp(`${agent.id}\\s+CLI agent`));
  const listed = JSON.parse((await cli(['trunks', 'list', '--json'])).stdout) as { data: Array<{ id: string }> };
  assert.ok(listed.data.some((x) => x.id === trunkId));

  const missing = await cli(['agents', 'get', 'agt_nope']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /\[agent_not_found\]/);
  const bad = await cli(['agents', 'create', '--data', '{"name": ']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /not valid JSON/);
  const noKey = await runCli(['agents', 'list'], { OUTCALL_URL: env.OUTCALL_URL!, OUTCALL_API_KEY: '' });
  assert.equal(noKey.code, 2);
  assert.match(noKey.stderr, /no API key/);
});

test('outcall call streams the call to its end; a call that did not complete exits 1; calls list/events/cancel', async () => {
  const agent = (await t.org.req('POST', '/v1/agents', { name: 'Streamed', greeting: 'Hello {{name}}' })).body;
  const trunk = (await t.org.req('POST', '/v1/trunks', { name: 'st', host: 'sip.example.com' })).body;
  assert.equal((await t.org.req('POST', '/v1/phone-numbers', { number: '+14155550932', trunk_id: trunk.id, outbound_agent_id: agent.id })).status, 201);

  const missingVar = await cli(['call', '+14155550123', '--agent', agent.id]);
  assert.equal(missingVar.code, 1);
  assert.match(missingVar.stderr, /\[missing_dynamic_variable\]/);

  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'call', '+14155550123', '--agent', agent.id, '--var', 'name=Ana', '--meta', '{"crm":7}'], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  for await (const line of createInterface({ input: child.stdout })) {
    lines.push(line);
    const m = /^call (\S+) placed/.exec(line);
    if (m) {
      // Nobody dispatches here: cancel it from another CLI run, which finds the agent itself.
      const c = await cli(['calls', 'cancel', m[1]!]);
      assert.equal(c.code, 0, c.stderr);
    }
  }
  const code = await new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', r)));
  assert.equal(code, 1, 'a canceled call is not a completed one');
  const callId = /^call (\S+) placed to \+14155550123$/.exec(lines[0] ?? '')?.[1];
  assert.ok(callId, lines.join('\n'));
  assert.match(lines.join('\n'), /queued[\s\S]*canceled[\s\S]*result: canceled\s+end_reason=canceled_by_api/);
  assert.deepEqual((await t.org.req('GET', `/v1/calls/${callId}`)).body.metadata, { crm: 7 });

  const listed = await cli(['calls', 'list', '--agent', agent.id]);
  assert.match(listed.stdout, new RegExp(`${callId}\\s+\\+14155550123\\s+canceled\\s+canceled_by_api`));
  const events = JSON.parse((await cli(['calls', 'events', callId, '--json'])).stdout) as { data: Array<{ to_status: string }> };
  assert.deepEqual(events.data.map((e) => e.to_status), ['queued', 'canceled']);
});

test('keys create shows the new key once and it works; help everywhere', async () => {
  const k = await cli(['keys', 'create', '--name', 'ci', '--json']);
  const created = JSON.parse(k.stdout) as { key: string };
  const r = await fetch(`${env.OUTCALL_URL}/v1/agents`, { headers: { authorization: `Bearer ${created.key}` } });
  assert.equal(r.status, 200);
  const help = await cli(['calls', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /transcript <call_id>/);
  const callHelp = await cli(['call', '--help']);
  assert.match(callHelp.stdout, /--var k=v/);
});
