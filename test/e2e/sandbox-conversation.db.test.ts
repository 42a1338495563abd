/**
 * A newcomer's first call: the seeded demo agent (scripted flow) calls the sandbox's human persona
 * over live SIP/RTP on a narrowband PCMU leg (both recognizers use pocketsphinx's 8 kHz model). The persona says "Hello?" as it answers, waits for the greeting to end (energy VAD), hears it
 * (pocketsphinx), answers with its line (espeak-ng), the agent hears that (its own pocketsphinx),
 * branches on "yes", replies and hangs up. The stored transcript holds the turns in order.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sandboxSkip, startSandboxRig, type SandboxRig } from './sandbox-rig.js';
import { waitFor } from '../helpers/wait.js';

const skip = sandboxSkip;

let rig: SandboxRig;
let t: SandboxRig['t'];
let sandbox: SandboxRig['sandbox'];

before(async () => {
  if (skip) return;
  rig = await startSandboxRig(38600);
  ({ t, sandbox } = rig);
});
after(async () => {
  if (!skip) await rig.stop();
});

describe('sandbox human persona talks with the demo flow agent (live, PCMU)', { skip }, () => {
  test('greeting, the persona\'s "yes" as the agent heard it, the agent\'s reply; completed', async (tc) => {
    const call = await rig.call('+12025550100');
    const rec = await waitFor('the sandbox to record the call', () => sandbox.calls.find((x) => x.dialed === '+12025550100'), 10_000);
    const tr = call.transcript_id ? await t.org.req('GET', `/v1/transcripts/${call.transcript_id}`) : undefined;
    const turns = (tr?.body.turns ?? []) as Array<{ speaker: string; text: string }>;
    tc.diagnostic(`call: ${call.status}/${call.end_reason}; transcript: ${JSON.stringify(turns.map((x) => [x.speaker, x.text]))}`);
    tc.diagnostic(`persona: said ${JSON.stringify(rec.persona?.said)}, heard ${JSON.stringify(rec.persona?.heard)}, hangup ${rec.persona?.hangupReason ?? '-'}`);
    assert.equal(call.status, 'completed');
    assert.equal(call.sip_status_code, 200);
    assert.equal(rec.persona?.codec, 'PCMU', 'the demo agent offers the leg default (G.711); both sides hear it at 8 kHz');
    assert.ok((rec.persona?.heard.length ?? 0) > 0, 'the persona recognized some of the agent\'s words');
    // Which "yes" line depends on whether the persona's recognizer settled before its wait ran out.
    assert.match(rec.persona?.said[0] ?? '', /^Yes/, 'the persona answered the question after the greeting');

    // The persona says "Hello?" as it picks up, over the agent's opening: a pickup hello, which does
    // not cut the opening off and is no answer to it (src/voice/session.ts); it is in the transcript,
    // and the flow's question is answered by the persona's "yes".
    const GREETING = /^Hello, this is the Outcall demo calling\. Do you have a minute for a quick question\?$/;
    const speakers = turns.map((x) => x.speaker);
    assert.match(turns.find((x) => x.speaker === 'callee')?.text ?? '', /\bhello\b/i, 'the persona\'s pickup hello, as the agent heard it');
    const whole = turns.findIndex((x) => x.speaker === 'agent' && GREETING.test(x.text));
    assert.ok(whole >= 0, `the opening heard in full: ${JSON.stringify(turns)}`);
    const after = turns.slice(whole + 1);
    assert.deepEqual(after.slice(0, 2).map((x) => x.speaker), ['callee', 'agent'], JSON.stringify(speakers));
    assert.match(after[0]?.text ?? '', /\byes\b/i, 'the agent\'s pocketsphinx heard "yes"');
    assert.match(after[1]?.text ?? '', /^Great! This call went over real SIP and RTP/);
    assert.equal(call.end_reason, 'agent_hangup', 'the flow ended the call after its reply');
  });
});
