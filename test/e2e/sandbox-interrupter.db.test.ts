/**
 * The interrupter number on a live call: the persona starts talking 0.8 s into the agent's greeting.
 * The agent's barge-in stops the greeting, and the stored transcript keeps only the part that was
 * played, followed by what the agent heard from the persona.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO_FLOW } from '../../src/sandbox/index.js';
import { sandboxSkip, startSandboxRig, type SandboxRig } from './sandbox-rig.js';
import { waitFor } from '../helpers/wait.js';

const skip = sandboxSkip;

let rig: SandboxRig;
let t: SandboxRig['t'];
let sandbox: SandboxRig['sandbox'];

before(async () => {
  if (skip) return;
  rig = await startSandboxRig(37000);
  ({ t, sandbox } = rig);
});
after(async () => {
  if (!skip) await rig.stop();
});

describe('sandbox interrupter (live barge-in)', { skip }, () => {
  test('the persona talks over the greeting; the transcript keeps the greeting as far as it was played', async (tc) => {
    const call = await rig.call('+12025550108');
    const rec = await waitFor('the sandbox record', () => sandbox.calls.find((x) => x.dialed === '+12025550108'), 10_000);
    const tr = call.transcript_id ? await t.org.req('GET', `/v1/transcripts/${call.transcript_id}`) : undefined;
    const turns = (tr?.body.turns ?? []) as Array<{ speaker: string; text: string }>;
    tc.diagnostic(`call ${call.status}/${call.end_reason}; persona said ${JSON.stringify(rec.persona?.said)}; transcript ${JSON.stringify(turns.map((x) => [x.speaker, x.text]))}`);
    assert.equal(call.status, 'completed');
    assert.equal(rec.persona?.said[0], 'Hello? Who is this?');
    const greeting = (DEMO_FLOW.nodes.greet as { text: string }).text;
    assert.equal(turns[0]?.speaker, 'agent');
    const first = turns[0]?.text ?? '';
    assert.ok(first.length > 0 && first.length < greeting.length && greeting.startsWith(first), `the greeting was cut by the barge-in: "${first}"`);
    assert.ok(turns.some((x) => x.speaker === 'callee'), 'the agent heard the persona');
  });
});
