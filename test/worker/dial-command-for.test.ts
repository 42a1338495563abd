/**
 * The dial command's SIP edge, as pure logic: which codecs are offered (the call's, else the trunk's,
 * else the worker's, whatever the agent hears with), whose digest credentials
 * answer a challenge (the call's, never the trunk's then), the trunk's CA bundle for TLS and its SRTP mode.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallOptions } from '../../src/calls/call-object.js';
import type { CodecList } from '../../src/contract/codecs.js';
import type { ClaimedCall } from '../../src/dispatch/types.js';
import type { AgentRow } from '../../src/store/agent-rows.js';
import type { VoiceCallSpec } from '../../src/voice/spec.js';
import { dialCommandFor, type DialInputs } from '../../src/worker/control/dial-command.js';

const options: CallOptions = {
  callback_url: null,
  status_callback: null,
  caller_id_name: null,
  custom_sip_headers: [],
  ring_timeout_s: 45,
  max_duration_s: 600,
  machine_detection: { mode: 'disabled', hangup_on_machine: false },
  record: { enabled: false, channels: 'mono' },
};

function claimed(
  over: { codecs?: CodecList | null; trunkCodecs?: string[] | null; sipAuth?: ClaimedCall['sipAuth']; tlsCaPem?: string | null; mediaEncryption?: ClaimedCall['trunk']['mediaEncryption'] } = {},
): ClaimedCall {
  return {
    id: 'call_1',
    orgId: 'org_1',
    agentId: 'agt_1',
    trunk: { id: 'trk_1', host: 'sip.example.net', port: 5061, transport: 'tls', username: 'trunkuser', passwordEnc: 'v1:x', tlsCaPem: over.tlsCaPem ?? null, codecs: over.trunkCodecs ?? null, mediaEncryption: over.mediaEncryption ?? 'disabled' },
    sipAuth: over.sipAuth ?? null,
    fromNumber: '+14155550100',
    to: '+14155550123',
    options: { ...options, codecs: over.codecs ?? null },
    callContext: null,
    dynamicVariables: {},
    metadata: null,
    scheduledAt: new Date(0),
    workerId: 'w',
    leaseExpiresAt: new Date(0),
  };
}

const agent = { greeting: 'Hi.', stt: null, tts: null, voice: null } as unknown as AgentRow;
/** A voice agent hearing with pocketsphinx (no stt settings: the default). */
const voice = { systemPrompt: '', dynamicVariables: {} } as VoiceCallSpec;

function inputs(over: Partial<DialInputs> = {}): DialInputs {
  return { agent, voice: undefined, secrets: {} as DialInputs['secrets'], password: 'trunkpw', codecs: ['PCMU', 'PCMA', 'G722'], ...over };
}

test('codecs: the call, then the trunk, then the worker; a pocketsphinx agent no longer reorders them (it hears 8 kHz too)', () => {
  assert.deepEqual(dialCommandFor(claimed({ codecs: ['PCMA'], trunkCodecs: ['G722', 'PCMU'] }), inputs({ voice })).codecs, ['PCMA']);
  assert.deepEqual(dialCommandFor(claimed({ trunkCodecs: ['PCMU', 'G722'] }), inputs({ voice })).codecs, ['PCMU', 'G722'], 'the trunk order is kept for a pocketsphinx agent');
  assert.deepEqual(dialCommandFor(claimed(), inputs({ voice })).codecs, ['PCMU', 'PCMA', 'G722'], 'the worker order as configured, narrowband first, for a pocketsphinx agent');
  assert.deepEqual(dialCommandFor(claimed(), inputs()).codecs, ['PCMU', 'PCMA', 'G722'], 'a greeting-only agent keeps the worker order');
  assert.equal(dialCommandFor(claimed(), inputs({ codecs: undefined, voice })).codecs, undefined, "no choice anywhere: the leg's default, for a pocketsphinx agent too");
});

test("credentials: the call's own replace the trunk's, even when they cannot be read", () => {
  assert.deepEqual(dialCommandFor(claimed(), inputs()).credentials, { username: 'trunkuser', password: 'trunkpw' });
  const own = { username: 'alice', password: 's3cret' };
  const withOwn = claimed({ sipAuth: { username: 'alice', passwordEnc: 'v1:y' } });
  assert.deepEqual(dialCommandFor(withOwn, inputs({ callCredentials: own })).credentials, own);
  assert.equal(dialCommandFor(withOwn, inputs({ callCredentials: undefined })).credentials, undefined, "never the trunk's for such a call");
});

test("the trunk's CA bundle goes with the trunk", () => {
  assert.equal(dialCommandFor(claimed({ tlsCaPem: 'PEM' }), inputs()).trunk.tlsCaPem, 'PEM');
  assert.equal('tlsCaPem' in dialCommandFor(claimed(), inputs()).trunk, false);
});

test("the trunk's media_encryption rides on the command; disabled is the absence of it", () => {
  assert.equal(dialCommandFor(claimed({ mediaEncryption: 'required' }), inputs()).mediaEncryption, 'required');
  assert.equal(dialCommandFor(claimed({ mediaEncryption: 'optional' }), inputs({ voice })).mediaEncryption, 'optional');
  assert.equal('mediaEncryption' in dialCommandFor(claimed(), inputs()), false);
});
