/** An http tool's POST carries the call's metadata as the client sent it, as the call object and webhooks do. */
import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';
import { createToolRunner, type ToolCallContext } from '../../src/worker/media/tools/index.js';
import { generateWebhookSecret, verifyWebhook } from '../../src/http-client/signing.js';
import { VirtualClock } from '../helpers/virtual-clock.js';
import { ToolServer } from './tools-server.js';

const META = String.raw`{"id": 18446744073709551617, "f": 1.0, "e": 1e2, "s": "\u00e9\/"}`;
const secret = generateWebhookSecret();

let srv: ToolServer;
before(async () => {
  srv = await new ToolServer().start();
  srv.answer = () => ({ status: 200, body: '{}', contentType: 'application/json' });
});
after(async () => srv.stop());

const context = (o: Partial<ToolCallContext>): ToolCallContext => ({
  callId: 'call_1', agentId: 'agt_1', metadata: JSON.parse(META) as unknown, signingSecrets: [secret], allowPrivateUrls: true, trunk: { host: '127.0.0.1', port: 5060 }, ...o,
});

async function post(ctx: ToolCallContext): Promise<string> {
  srv.requests.length = 0;
  const run = createToolRunner({ tools: [{ type: 'http', name: 'lookup', description: 'd', url: srv.url() }], context: ctx, clock: new VirtualClock(), control: () => undefined });
  await run('lookup', { day: 'tue' }, new AbortController().signal);
  const r = srv.requests[0]!;
  verifyWebhook(secret, r.headers, r.body);
  return r.body;
}

test('with the metadata text, the POST body has it byte for byte (and is signed over it)', async () => {
  const body = await post(context({ metadataJson: META }));
  assert.equal(body, `{"call_id":"call_1","agent_id":"agt_1","tool":"lookup","arguments":{"day":"tue"},"metadata":${META}}`);
});

test('without it (a worker given only the value), the value as JSON, as before', async () => {
  const body = await post(context({}));
  assert.ok(body.endsWith('"metadata":{"id":18446744073709552000,"f":1,"e":100,"s":"é/"}}'), body);
});
