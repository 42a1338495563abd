import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callFixture, startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(async () => t.close());

test('healthz reports the store', async () => {
  const r = await t.app.inject({ method: 'GET', url: '/healthz' });
  assert.equal(r.statusCode, 200);
  assert.equal(r.json().status, 'ok');
  assert.equal(r.json().store, t.db.driver);
});

test('unknown routes get the error envelope', async () => {
  const r = await t.app.inject({ method: 'GET', url: '/v2/nothing' });
  assert.equal(r.statusCode, 404);
  assert.equal(r.json().error.code, 'not_found');
});

test('the OpenAPI 3.1 document lists every route with its schemas', async () => {
  const r = await t.app.inject({ method: 'GET', url: '/openapi.json' });
  assert.equal(r.statusCode, 200);
  const doc = r.json();
  assert.equal(doc.openapi, '3.1.0');
  const paths = Object.keys(doc.paths).sort();
  for (const p of [
    '/v1/trunks',
    '/v1/trunks/{id}',
    '/v1/phone-numbers',
    '/v1/phone-numbers/{id}',
    '/v1/agents',
    '/v1/agents/{id}',
    '/v1/agents/{agentId}/outbound-calls',
    '/v1/agents/{agentId}/outbound-calls/{callId}',
    '/v1/agents/{agentId}/outbound-calls/{callId}/cancel',
    '/v1/calls/{callId}',
    '/v1/calls/{callId}/events',
    '/v1/transcripts/{id}',
  ]) {
    assert.ok(paths.includes(p), `missing ${p} in ${paths.join(', ')}`);
  }
  const create = doc.paths['/v1/agents/{agentId}/outbound-calls'].post;
  const body = create.requestBody.content['application/json'].schema;
  assert.equal(body.additionalProperties, false);
  assert.deepEqual(body.required, ['to']);
  assert.ok(create.responses['202']);
  assert.ok(doc.components.securitySchemes.bearerAuth);
});

test('the OpenAPI document holds no TypeBox bookkeeping keys, names its server, and @redocly/cli lints it with zero errors', async () => {
  const r = await t.app.inject({ method: 'GET', url: '/openapi.json' });
  const doc = r.json();
  assert.ok(!/"~[a-z]+"\s*:/i.test(r.body), 'no "~kind" / "~optional" keys');
  assert.deepEqual(doc.servers, [{ url: '/', description: 'this Outcall server' }]);
  const dir = mkdtempSync(join(tmpdir(), 'outcall-openapi-'));
  try {
    const file = join(dir, 'openapi.json');
    writeFileSync(file, r.body);
    const bin = new URL('../../node_modules/.bin/redocly', import.meta.url).pathname;
    // redocly exits 1 on errors; its JSON report is on stdout either way.
    const run = spawnSync(bin, ['lint', file, '--format=json'], { encoding: 'utf8', timeout: 120_000 });
    assert.ok(run.stdout.includes('"totals"'), `redocly ran: ${run.stderr.slice(-500)}`);
    const report = JSON.parse(run.stdout.slice(run.stdout.indexOf('{'))) as { totals: { errors: number }; problems: Array<{ ruleId: string; severity: string; message: string }> };
    const errors = report.problems.filter((p) => p.severity === 'error');
    assert.equal(report.totals.errors, 0, JSON.stringify(errors.slice(0, 5)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('metrics are Prometheus text and count created calls and requests', async () => {
  const fx = await callFixture(t.org);
  await t.org.req('POST', `/v1/agents/${fx.agentId}/outbound-calls`, { to: '+14155550123' });
  await t.org.req('POST', `/v1/agents/${fx.agentId}/outbound-calls`, { to: '+14155550124' });
  const r = await t.app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(r.statusCode, 200);
  assert.match(r.headers['content-type'] as string, /text\/plain/);
  assert.match(r.body, /^outcall_calls_created_total 2$/m);
  assert.match(r.body, /^outcall_calls\{status="queued"\} 2$/m);
  assert.match(r.body, /outcall_http_requests_total\{route="\/v1\/agents\/:agentId\/outbound-calls",method="POST",status="202"\} 2/);
});
