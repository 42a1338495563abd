/**
 * SRTP with SDES keys (a trunk's media_encryption) on live calls through the API, against baresip and
 * its srtp module (libre's own SRTP, not ours) as callee and as caller:
 * - required, outbound to baresip `srtp-mand` (RTP/SAVP only): the call completes, the agent hears the
 *   callee's "yes" (we decrypted its SRTP) and baresip hears the greeting (it decrypted ours: a packet
 *   that failed its authentication would be dropped, leaving silence);
 * - optional: encrypted with a callee that takes keys (baresip `srtp`, best effort), plain with one
 *   that ignores them, two-way audio either way;
 * - required against callees without SRTP: SIPp answering plain RTP fails the call with the reason
 *   (NO_COMMON_CRYPTO, hung up at once), baresip without its srtp module refuses the offer (488);
 * - inbound: baresip `srtp-mand` calls a number whose trunk is required and talks with its agent over
 *   SRTP; the same caller to a trunk with encryption disabled is refused 488.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { CallPlane } from '../../src/worker/control/call-plane.js';
import { readWav, rms } from '../fixtures/media/signals.js';
import { calleeSpeech, startCallee, type Callee } from '../fixtures/voice/callee.js';
import { bookingFlow } from '../fixtures/voice/flows.js';
import { toolAvailable } from '../helpers/require-tool.js';
import { freeUdpPort, startSipp } from '../helpers/sipp.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { startTestCallPlane } from '../helpers/test-call-plane.js';
import { waitFor } from '../helpers/wait.js';
import { sql } from '../../src/store/sql.js';

const missing = ['baresip', 'sipp', 'flite', 'sox', 'pocketsphinx_continuous'].filter((b) => !toolAvailable(b));
const skip = missing.length > 0 ? `${missing.join(', ')} not installed (scripts/setup-test-env.sh)` : false;

/** The agent greets, listens for "yes", and says which branch it took. */
const flow = bookingFlow();

let t: TestApp;
let plane: CallPlane;
let peer: Callee | undefined;

before(async () => {
  if (skip) return;
  t = await startTestApp({ allowPrivateUrls: true });
  plane = await startTestCallPlane(t.ctx, { rtpPortMin: 46600, rtpPortMax: 46798, codecs: ['L16/16000', 'PCMU', 'PCMA'] });
});
after(async () => {
  if (skip) return;
  await plane.stop();
  await t.close();
});
afterEach(async () => {
  await peer?.stop();
  peer = undefined;
});

const uniq = () => String(Math.floor(Math.random() * 9e6) + 1e6);
const ENDED = ['completed', 'failed', 'busy', 'no_answer', 'canceled'];

/** A trunk (media_encryption as given) to `port`, a flow agent, and a number answering and dialing with it. */
async function setup(mediaEncryption: string, port = 5060) {
  const n = uniq();
  const trunk = await t.org.req('POST', '/v1/trunks', { name: `srtp-${n}`, host: '127.0.0.1', port, media_encryption: mediaEncryption });
  assert.equal(trunk.status, 201, trunk.raw);
  assert.equal(trunk.body.media_encryption, mediaEncryption);
  const agent = await t.org.req('POST', '/v1/agents', { name: `srtp-${n}`, flow });
  assert.equal(agent.status, 201, agent.raw);
  const number = `+1628${n}`;
  const pn = await t.org.req('POST', '/v1/phone-numbers', { number, trunk_id: trunk.body.id, inbound_agent_id: agent.body.id, outbound_agent_id: agent.body.id });
  assert.equal(pn.status, 201, pn.raw);
  return { agentId: agent.body.id as string, number, trunkId: trunk.body.id as string };
}

async function ended(id: string) {
  return waitFor(`call ${id} to end`, async () => {
    const got = await t.org.req('GET', `/v1/calls/${id}`);
    return ENDED.includes(got.body.status) ? got.body : undefined;
  }, 60_000);
}

async function transcript(call: { transcript_id: string | null }) {
  const turns = call.transcript_id ? (((await t.org.req('GET', `/v1/transcripts/${call.transcript_id}`)).body.turns ?? []) as Array<{ speaker: string; text: string }>) : [];
  return { turns, said: JSON.stringify(turns.map((x) => [x.speaker, x.text])) };
}

/** Places an outbound call from the agent to baresip and waits for its end. */
async function callOut(agentId: string) {
  const r = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, { to: '+14155550177', max_duration_s: 40 });
  assert.equal(r.status, 202, r.raw);
  return ended(r.body.id as string);
}

/** What baresip heard, once it closed the call: its decoded dump. */
async function heardBy(c: Callee): Promise<Int16Array> {
  await waitFor('baresip to close the call', () => (/terminated|closed/i.test(c.log()) ? true : undefined), 10_000);
  return readWav(await waitFor('baresip recording (heard)', () => c.recordings().find((p) => p.endsWith('-dec.wav')), 8000)).samples;
}

/** baresip's srtp module logs each stream it secured, with the suite (`srtp: audio: SRTP is Enabled (cryptosuite=...)`). */
const securedBy = (c: Callee) => /srtp: audio: SRTP is Enabled \(cryptosuite=AES_CM_128_HMAC_SHA1_(?:80|32)\)/.exec(c.log());

function yesPlease() {
  const prompt = calleeSpeech('yes please', 5, 9);
  assert.ok(prompt, 'flite + sox made the callee speech');
  return prompt;
}

describe('SRTP (media_encryption) on live calls with baresip', { skip }, () => {
  test('required, outbound to an RTP/SAVP-only callee: two-way encrypted audio, the agent hears "yes" and baresip hears the greeting', async (tc) => {
    peer = await startCallee({ user: '+14155550177', prompt: yesPlease(), mediaenc: 'srtp-mand' });
    const { agentId } = await setup('required', peer.port);
    const call = await callOut(agentId);
    const { turns, said } = await transcript(call);
    tc.diagnostic(`${call.status}/${call.end_reason}: ${said}`);
    assert.deepEqual([call.status, call.end_reason], ['completed', 'agent_hangup'], `${JSON.stringify(call.error)}\n${peer.log().slice(-3000)}`);
    assert.ok(turns.some((x) => x.speaker === 'callee' && /yes/.test(x.text)), `we decrypted the callee: ${said}`);
    assert.equal(turns.at(-1)?.text, 'Great, see you then.', said);
    const heard = await heardBy(peer);
    assert.ok(rms(heard) > 300, `baresip decrypted the greeting (rms ${rms(heard).toFixed(0)})`);
    tc.diagnostic(`baresip: ${securedBy(peer)?.[0]}`);
    assert.ok(securedBy(peer), `baresip ran SRTP:\n${peer.log().slice(-3000)}`);
  });

  test('optional: encrypted with a callee that takes the keys, plain with one that ignores them; both hear each other', async (tc) => {
    for (const mediaenc of ['srtp', undefined] as const) {
      peer = await startCallee({ user: '+14155550177', prompt: yesPlease(), ...(mediaenc ? { mediaenc } : {}) });
      const { agentId } = await setup('optional', peer.port);
      const call = await callOut(agentId);
      const { turns, said } = await transcript(call);
      tc.diagnostic(`${mediaenc ?? 'plain'}: ${call.status}/${call.end_reason}: ${said}`);
      assert.equal(call.status, 'completed', `${mediaenc}: ${JSON.stringify(call.error)}\n${peer.log().slice(-3000)}`);
      assert.ok(turns.some((x) => x.speaker === 'callee' && /yes/.test(x.text)), `${mediaenc}: the callee was heard: ${said}`);
      const heard = await heardBy(peer);
      assert.ok(rms(heard) > 300, `${mediaenc}: baresip heard the greeting (rms ${rms(heard).toFixed(0)})`);
      assert.equal(Boolean(securedBy(peer)), mediaenc === 'srtp', `${mediaenc}: encrypted only when the callee took a key:\n${peer.log().slice(-2000)}`);
      await peer.stop();
      peer = undefined;
    }
  });

  test('required against callees without SRTP: an answer in plain RTP fails the call with NO_COMMON_CRYPTO (hung up at once); a 488 fails it sip_error', async () => {
    // SIPp answers any offer with plain RTP/AVP and no key: we must not talk in the clear.
    const port = await freeUdpPort();
    const sipp = await startSipp({ scenario: fileURLToPath(new URL('../fixtures/sipp/uas_answer.xml', import.meta.url)), port });
    try {
      const { agentId } = await setup('required', port);
      const call = await callOut(agentId);
      assert.deepEqual([call.status, call.end_reason], ['failed', 'dial_error'], JSON.stringify(call));
      assert.match(call.error?.message ?? '', /sdp_negotiation_failed: NO_COMMON_CRYPTO/, JSON.stringify(call.error));
      assert.equal(await sipp.exited, 0, `SIPp saw our BYE after its answer:\n${sipp.trace().slice(-2000)}`);
      assert.match(sipp.received()[0] ?? '', /m=audio \d+ RTP\/SAVP .*\r?\n(.*\r?\n)*a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:/, 'our offer was RTP/SAVP with keys');
    } finally {
      await sipp.stop();
    }
    // baresip without its srtp module refuses an RTP/SAVP offer.
    peer = await startCallee({ user: '+14155550177', prompt: yesPlease() });
    const { agentId } = await setup('required', peer.port);
    const refused = await callOut(agentId);
    assert.deepEqual([refused.status, refused.end_reason, refused.sip_status_code], ['failed', 'sip_error', 488], JSON.stringify(refused));
  });

  test('inbound: an RTP/SAVP caller talks with the agent of a required trunk; the same caller is refused 488 by a trunk with encryption disabled', async (tc) => {
    const secured = await setup('required');
    peer = await startCallee({ user: 'alice', prompt: yesPlease(), mediaenc: 'srtp-mand', keyboard: true });
    const c = peer;
    c.type(`/dial sip:${secured.number}@127.0.0.1:${plane.sipPort}\n`);
    const id = await waitFor('the inbound call to be recorded', async () => {
      const r = await t.db.query<{ id: string }>(sql`select id from calls where to_address = ${secured.number} and direction = 'inbound'`);
      return r.rows[0]?.id;
    }, 15_000);
    const call = await ended(id);
    const { turns, said } = await transcript(call);
    tc.diagnostic(`${call.status}/${call.end_reason}: ${said}`);
    assert.deepEqual([call.direction, call.status], ['inbound', 'completed'], `${JSON.stringify(call.error)}\n${c.log().slice(-3000)}`);
    assert.ok(turns.some((x) => x.speaker === 'callee' && /yes/.test(x.text)), `we decrypted the caller: ${said}`);
    const heard = await heardBy(c);
    assert.ok(rms(heard) > 300, `the caller decrypted the greeting (rms ${rms(heard).toFixed(0)})`);
    assert.ok(securedBy(c), `baresip ran SRTP:\n${c.log().slice(-3000)}`);
    await c.stop();

    const plain = await setup('disabled');
    peer = await startCallee({ user: 'alice', prompt: yesPlease(), mediaenc: 'srtp-mand', keyboard: true });
    const c2 = peer;
    c2.type(`/dial sip:${plain.number}@127.0.0.1:${plane.sipPort}\n`);
    await waitFor('baresip to be refused 488', () => (/488/.test(c2.log()) ? true : undefined), 15_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${c2.log().slice(-3000)}`);
    });
  });
});
