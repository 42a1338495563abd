/**
 * The SIP edge fields of trunks and calls, through the API on live calls against SIPp:
 * - trunk_id picks the trunk; without a number of the agent on it the call comes From the trunk's
 *   default_caller_id (and has no phone number row);
 * - codecs: the INVITE offers the call's codecs in order (else the trunk's, else the worker's), and
 *   the answered codec carries the audio;
 * - sip_auth_username/password answer the digest challenge instead of the trunk's credentials, and the
 *   password is never shown.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { decodeALaw } from '../../src/media/index.js';
import { sql } from '../../src/store/sql.js';
import type { CallPlane } from '../../src/worker/control/call-plane.js';
import { toolAvailable } from '../helpers/require-tool.js';
import { freeUdpPort, startSipp, waitExit, type SippProcess } from '../helpers/sipp.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { startTestCallPlane } from '../helpers/test-call-plane.js';
import { waitFor } from '../helpers/wait.js';

const haveTools = toolAvailable('sipp') && toolAvailable('espeak-ng');
const skip = haveTools ? false : 'sipp or espeak-ng is not installed (scripts/setup-test-env.sh)';
const fixture = (dir: string, name: string) => fileURLToPath(new URL(`../fixtures/${dir}/${name}`, import.meta.url));

let t: TestApp;
let plane: CallPlane;
const sipps: SippProcess[] = [];

before(async () => {
  if (skip) return;
  t = await startTestApp({ allowPrivateUrls: true });
  plane = await startTestCallPlane(t.ctx, { rtpPortMin: 42400, rtpPortMax: 42798 });
});
after(async () => {
  if (skip) return;
  await plane.stop();
  await t.close();
});
afterEach(async () => {
  for (const s of sipps.splice(0)) await s.stop();
});

async function sipp(scenario: string, o: { calls?: number; keys?: Record<string, string> } = {}): Promise<SippProcess> {
  const p = await startSipp({ scenario, port: await freeUdpPort(), ...o });
  sipps.push(p);
  return p;
}

const uniq = () => String(Math.floor(Math.random() * 9e6) + 1e6);

async function trunk(port: number, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await t.org.req('POST', '/v1/trunks', { name: `edge-${uniq()}`, host: '127.0.0.1', port, ...extra });
  assert.equal(r.status, 201, r.raw);
  return r.body.id as string;
}

async function agent(body: Record<string, unknown> = {}): Promise<string> {
  const r = await t.org.req('POST', '/v1/agents', { name: `edge-${uniq()}`, greeting: 'Hi.', max_cps: 50, ...body });
  assert.equal(r.status, 201, r.raw);
  return r.body.id as string;
}

async function number(trunkId: string, agentId?: string): Promise<string> {
  const n = `+1415${uniq()}`;
  const r = await t.org.req('POST', '/v1/phone-numbers', { number: n, trunk_id: trunkId, ...(agentId ? { outbound_agent_id: agentId } : {}) });
  assert.equal(r.status, 201, r.raw);
  return n;
}

async function place(agentId: string, body: Record<string, unknown>): Promise<string> {
  const r = await t.org.req('POST', `/v1/agents/${agentId}/outbound-calls`, { to: '+14155550123', ...body });
  assert.equal(r.status, 202, r.raw);
  return r.body.id as string;
}

async function ended(callId: string) {
  return waitFor(
    `call ${callId} to end`,
    async () => {
      const got = await t.org.req('GET', `/v1/calls/${callId}`);
      return ['completed', 'failed', 'busy', 'no_answer', 'canceled'].includes(got.body.status) ? got : undefined;
    },
    30_000,
  );
}

const invitesOf = (p: SippProcess) => p.received().filter((m) => m.startsWith('INVITE '));
const header = (msg: string, name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(msg)?.[1]?.trim() ?? '';
/** The payload types of the offer's m=audio line, in order. */
const offered = (invite: string) => /^m=audio \d+ RTP\/AVP ([\d ]+)$/m.exec(invite)?.[1]?.split(' ').map(Number) ?? [];

describe('SIP edge fields on live calls against SIPp', { skip }, () => {
  test('trunk_id: without a number of the agent on that trunk the INVITE comes From its default_caller_id', async () => {
    const peer = await sipp(fixture('sipp', 'uas_answer.xml'));
    const other = await sipp(fixture('sipp', 'uas_answer.xml'));
    const callerId = `+1628${uniq()}`;
    const viaTrunk = await trunk(peer.port, { default_caller_id: callerId });
    const agentId = await agent();
    // The agent's own number is on another trunk: without trunk_id the call would go there.
    await number(await trunk(other.port), agentId);
    const callId = await place(agentId, { trunk_id: viaTrunk });
    const got = await ended(callId);
    assert.deepEqual([got.body.status, got.body.from, got.body.trunk_id], ['completed', callerId, viaTrunk], got.raw);
    assert.equal(await waitExit(peer), 0);
    const invite = invitesOf(peer)[0] ?? '';
    assert.match(header(invite, 'From'), new RegExp(`^<sip:\\${callerId}@127\\.0\\.0\\.1:${peer.port}>;tag=`), 'From user is the default caller id');
    assert.equal(invitesOf(other).length, 0, "nothing went to the agent's number's trunk");
    const row = await t.db.query<{ phone_number_id: string | null }>(sql`select phone_number_id from calls where org_id = ${t.org.id} and id = ${callId}`);
    assert.equal(row.rows[0]?.phone_number_id, null, 'no phone number row behind a default caller id');
  });

  test("codecs: the offer lists the call's codecs in order, and the answered one (not the first) carries the audio", async () => {
    const sink: Socket = createSocket('udp4');
    const packets: Buffer[] = [];
    sink.on('message', (m) => packets.push(m));
    const sinkPort = await freeUdpPort();
    await new Promise<void>((r) => sink.bind(sinkPort, '127.0.0.1', r));
    try {
      const peer = await sipp(fixture('e2e', 'uas_answer_codec_sink.xml'), { keys: { sink_port: String(sinkPort), pt: '8', codec: 'PCMA' } });
      const agentId = await agent({ greeting: 'Hello, this call is carried in A-law, the second codec we offered.' });
      const trunkId = await trunk(peer.port, { codecs: ['PCMU', 'PCMA'] });
      await number(trunkId, agentId);
      const callId = await place(agentId, { codecs: ['G722', 'PCMA', 'PCMU'] });
      const got = await ended(callId);
      assert.equal(got.body.status, 'completed', got.raw);
      assert.deepEqual(got.body.codecs, ['G722', 'PCMA', 'PCMU']);
      assert.equal(await waitExit(peer), 0);
      // RFC 3551 static types: G722 9, PCMA 8, PCMU 0; then telephone-event (dynamic).
      const pts = offered(invitesOf(peer)[0] ?? '');
      assert.deepEqual(pts.slice(0, 3), [9, 8, 0], `the call's order, over the trunk's: ${pts.join(' ')}`);
      const events = (await t.org.req('GET', `/v1/calls/${callId}/events`)).body.data as Array<{ to_status: string; data: { codec?: string } }>;
      assert.equal(events.find((e) => e.to_status === 'in_progress')?.data.codec, 'PCMA');
      const audio = packets.filter((p) => (p[1]! & 0x7f) === 8);
      assert.ok(audio.length > 50 && audio.length === packets.filter((p) => (p[1]! & 0x7f) !== 101).length, `every audio packet is PT 8 (PCMA): ${audio.length}/${packets.length}`);
      const pcm = audio.flatMap((p) => [...decodeALaw(new Uint8Array(p.subarray(12)))]);
      const rms = Math.sqrt(pcm.reduce((a, v) => a + v * v, 0) / pcm.length);
      assert.ok(rms > 300, `A-law decodes to the greeting, not noise or silence (rms ${rms.toFixed(0)})`);
    } finally {
      sink.close();
    }
  });

  test("codecs: without the call's own, the trunk's order is offered, even to a pocketsphinx agent (no wideband-first)", async () => {
    const peer = await sipp(fixture('sipp', 'uas_busy.xml'), { calls: 2 });
    const trunkId = await trunk(peer.port, { codecs: ['PCMA', 'G722'] });
    // A greeting-only agent, and a flow agent hearing with pocketsphinx (which alone would put wideband first).
    const plain = await agent();
    const flow = await agent({ flow: { start: 'bye', nodes: { bye: { type: 'say', text: 'Bye.', next: 'end' }, end: { type: 'end' } } } });
    const from = await number(trunkId);
    for (const a of [plain, flow]) assert.equal((await ended(await place(a, { from }))).body.status, 'busy');
    assert.equal(await waitExit(peer), 0);
    const offers = invitesOf(peer).map((i) => offered(i).slice(0, 2));
    assert.deepEqual(offers, [[8, 9], [8, 9]], 'PCMA then G722, as the trunk says, for both agents');
  });

  test("sip_auth_username/password answer the challenge instead of the trunk's, and the password is never shown", async () => {
    const peer = await sipp(fixture('sipp', 'uas_auth.xml'), { calls: 2 });
    // The trunk's credentials are wrong for this peer (it wants alice / s3cret).
    const trunkId = await trunk(peer.port, { username: 'mallory', password: 'not-the-password' });
    const agentId = await agent();
    await number(trunkId, agentId);
    const withTrunks = await ended(await place(agentId, {}));
    assert.deepEqual([withTrunks.body.status, withTrunks.body.sip_status_code], ['failed', 403], "the trunk's credentials are refused");

    const callId = await place(agentId, { sip_auth_username: 'alice', sip_auth_password: 's3cret' });
    const got = await ended(callId);
    assert.deepEqual([got.body.status, got.body.end_reason, got.body.sip_status_code], ['completed', 'agent_hangup', 200], got.raw);
    assert.equal(await waitExit(peer), 0);
    const authorized = invitesOf(peer).map((i) => /username="([^"]*)"/.exec(header(i, 'Authorization'))?.[1]).filter((u) => u !== undefined);
    assert.deepEqual(authorized, ['mallory', 'alice'], 'the second call authenticated as alice, not as the trunk user');

    // Write-only: neither the call nor the list nor its events show the credentials.
    for (const url of [`/v1/calls/${callId}`, `/v1/agents/${agentId}/outbound-calls`, `/v1/calls/${callId}/events`]) {
      const r = await t.org.req('GET', url);
      assert.equal(r.status, 200);
      assert.ok(!r.raw.includes('s3cret') && !r.raw.includes('sip_auth'), `${url} shows no credentials: ${r.raw.slice(0, 300)}`);
    }
    const row = await t.db.query<{ sip_auth_username: string; sip_auth_password_enc: string }>(
      sql`select sip_auth_username, sip_auth_password_enc from calls where org_id = ${t.org.id} and id = ${callId}`,
    );
    assert.equal(row.rows[0]?.sip_auth_username, 'alice');
    assert.match(row.rows[0]?.sip_auth_password_enc ?? '', /^v1:/, 'stored encrypted (SecretBox)');
    assert.ok(!row.rows[0]?.sip_auth_password_enc.includes('s3cret'));
  });
});
