/**
 * Place a call with the SDK and follow it live until it ends.
 *
 *   OUTCALL_URL=http://127.0.0.1:8080 OUTCALL_API_KEY=... \
 *     node --import tsx examples/place-call.ts <agent_id> <+E164 number>
 *
 * (In your own project: `import { createOutcallClient, watchCall } from 'outcall/sdk'`.)
 */
import { createOutcallClient, watchCall } from '../src/sdk/index.js';

const [agentId, to] = process.argv.slice(2);
if (!agentId || !to) {
  console.error('usage: place-call.ts <agent_id> <+E164 number>');
  process.exit(2);
}
const opts = { baseUrl: process.env.OUTCALL_URL ?? 'http://127.0.0.1:8080', apiKey: process.env.OUTCALL_API_KEY ?? '' };
const outcall = createOutcallClient(opts);

const { data: call, error } = await outcall.POST('/v1/agents/{agentId}/outbound-calls', {
  params: { path: { agentId } },
  body: { to, call_context: 'Example call placed with the SDK', metadata: { source: 'examples/place-call.ts' } },
});
if (error) {
  console.error(`could not place the call: ${error.error.code}: ${error.error.message}`);
  process.exit(1);
}
console.log(`call ${call.id} ${call.status}`);
for await (const e of watchCall(opts, call.id)) {
  if (e.event === 'status') console.log(`status ${e.data.to_status}`);
  else if (e.event === 'turn') console.log(`${e.data.speaker}: ${e.data.text}${e.data.interrupted ? ' (interrupted)' : ''}`);
  else if (e.event === 'end') console.log(`ended ${e.data.status} (${e.data.end_reason ?? 'no reason'})`);
}
