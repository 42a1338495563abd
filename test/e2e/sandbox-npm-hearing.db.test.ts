/**
 * Twenty demo calls in a row from the API to the sandbox's human persona on a narrowband leg
 * (PCMU, 8 kHz), both sides hearing with the npm grammar recognizer (soundswallower): the persona
 * listens for its cues and the demo agent's lines, the agent for what its listen node branches on.
 * Each call must end completed, and the agent must take the keyword branch ("Great!") on the
 * persona's "Yes, I have a minute." in at least 19 of 20. Calls run five at a time (ten at once overloads two cores: calls passed 60 s).
 *
 * Voices: the defaults, from npm too (flite-wasm: the agent `rms`, the human persona `kal16`), so
 * nothing on either side of these calls comes from a Debian package.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSandboxRig, type SandboxRig } from './sandbox-rig.js';
import { SoundswallowerStt } from '../../src/providers/stt/soundswallower.js';
import { waitFor } from '../helpers/wait.js';

const CALLS = Number(process.env.NPM_HEARING_CALLS ?? 20);
const AT_ONCE = 5;
let rig: SandboxRig;

before(async () => {
  // 34400-34798: this file's RTP range (sandbox 34400-34598, call plane 34600-34798).
  rig = await startSandboxRig(34400, process.env.NPM_HEARING_DEAF ? {} : { stt: new SoundswallowerStt() });
  const r = await rig.t.org.req('PATCH', `/v1/agents/${rig.seed.agentId}`, { stt: { provider: 'soundswallower' } });
  assert.equal(r.status, 200, r.raw);
});
after(async () => {
  await rig.stop();
});

test(`${CALLS} narrowband demo calls: completed, and the yes branch taken in at least ${CALLS - 1}`, { timeout: 240_000 }, async (tc) => {
  const results: Array<{ status: string; branch: boolean; heard: string; codec: string | undefined; s: number }> = [];
  const one = async (): Promise<void> => {
    const call = await rig.call('+12025550100', { codecs: ['PCMU'] }, 60_000);
    const tr = call.transcript_id ? await rig.t.org.req('GET', `/v1/transcripts/${call.transcript_id}`) : undefined;
    const turns = (tr?.body.turns ?? []) as Array<{ speaker: string; text: string }>;
    const rec = await waitFor('the sandbox to record the call', () => rig.sandbox.calls.find((x) => x.callId === call.sip_call_id || x.persona?.said !== undefined), 10_000);
    if (results.length === 0) tc.diagnostic(`first call turns: ${JSON.stringify(turns.map((x: any) => [x.speaker, x.start_ms ?? x.startMs, x.text.slice(0, 30)]))}`); // eslint-disable-line @typescript-eslint/no-explicit-any
    results.push({
      status: call.status,
      branch: turns.some((x) => x.speaker === 'agent' && /^Great!/.test(x.text)),
      heard: turns.find((x) => x.speaker === 'callee')?.text ?? '',
      codec: rec.persona?.codec,
      s: call.duration_s as number,
    });
  };
  for (let i = 0; i < CALLS; i += AT_ONCE) await Promise.all(Array.from({ length: Math.min(AT_ONCE, CALLS - i) }, one));
  const branched = results.filter((r) => r.branch).length;
  tc.diagnostic(`yes branch taken in ${branched}/${CALLS}; heard: ${JSON.stringify(results.map((r) => r.heard))}; durations (s): ${results.map((r) => r.s).join(' ')}`);
  assert.deepEqual(results.map((r) => r.status), Array(CALLS).fill('completed'));
  assert.ok(rig.sandbox.calls.filter((c) => c.dialed === '+12025550100').every((c) => c.persona?.codec === 'PCMU'), 'every leg was narrowband PCMU');
  assert.ok(branched >= CALLS - 1, `yes branch in ${branched}/${CALLS}`);
});
