/**
 * CallLeg against baresip 1.0.0 (an independent SIP + RTP stack on libre/librem) as an auto-answer
 * callee. baresip plays an espeak-ng prompt generated at test time and its sndfile module records what
 * it heard (dump-*-dec.wav). Both directions are checked against the actual signal:
 * - we hear baresip's prompt: a 0.5 s window of the prompt WAV is found in our received audio with a
 *   normalised cross-correlation (best of three 300 ms windows) > 0.99 for G.711 (measured 0.9999), > 0.98 for G.722 (0.995), > 0.999 for L16 (1.0);
 * - baresip heard us: its recording holds our 1 kHz tone (dominant frequency) and our chirp (correlation).
 * Over PCMU, PCMA and wideband G.722 (baresip's g722.so) and L16/16000 (l16.so; mono, RFC 3551 §4.5.11 big-endian).
 * DTMF: baresip's RFC 4733 receiver logs every event it decodes ("received event: '5' (end=1)"): the
 * log, from the peer's own decoder, is the proof that our telephone-event packets are understood.
 * The other way: keys typed into baresip's stdio UI during the call become its RFC 4733 digits, which
 * must arrive as our 'dtmf' events in order.
 * Far-end BYE: baresip 1.0 hangs up when its prompt file ends, while our audio is still flowing.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CallLeg, PortPool, UserAgent, type LegEvent } from '../../src/telephony/index.js';
import { havePeer } from '../helpers/sipp.js';
import { startBaresip, synthSpeech, type Baresip } from '../fixtures/media/baresip.js';
import { chirp, concat, dominantFrequency, findSignal, frames, readWav, rms, tone } from '../fixtures/media/signals.js';

const missing = ['baresip', 'espeak-ng', 'sox'].filter((b) => !havePeer(b));
const skip = missing.length > 0 ? `${missing.join(', ')} not installed: skipping CallLeg/baresip media tests` : false;
const PROMPT = 'Hello, this is the callee speaking. One two three four five six seven eight nine ten.';

let baresip: Baresip | undefined;
let ua: UserAgent | undefined;
let leg: CallLeg | undefined;

afterEach(async () => {
  // Closing the UA ends a leg a failed test left without waiting for a BYE to a possibly dead peer.
  await ua?.close();
  await leg?.ended;
  await baresip?.stop();
  leg = undefined;
  ua = undefined;
  baresip = undefined;
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function call(o: { peerCodecs: string; ours: string[]; rate: number; modules?: string[]; keyboard?: boolean; text?: string }) {
  const prompt = synthSpeech(o.text ?? PROMPT, o.rate);
  assert.ok(prompt, 'espeak-ng + sox produced the prompt');
  baresip = await startBaresip({ prompt, codecs: o.peerCodecs, srate: o.rate, ...(o.modules ? { modules: o.modules } : {}), ...(o.keyboard ? { keyboard: true } : {}) });
  ua = await UserAgent.listen({ udp: { host: '127.0.0.1', port: 0 } });
  const min = 44000 + ((process.pid * 3) % 300) * 20;
  const portPool = new PortPool({ min, max: min + 16 });
  const b = baresip;
  leg = await CallLeg.dial({
    ua,
    portPool,
    localAddress: '127.0.0.1',
    codecs: o.ours,
    // baresip answers the account user (bob@); it ignores calls to anyone else.
    dial: { to: `sip:bob@127.0.0.1:${b.port}`, from: 'sip:alice@127.0.0.1', trunk: { host: '127.0.0.1', port: b.port }, ringTimeoutMs: 5000 },
  });
  const heard: Int16Array[] = [];
  leg.onAudio((f) => heard.push(f));
  const l = leg;
  const answered = await new Promise<Extract<LegEvent, { type: 'answered' }>>((resolve, reject) => {
    l.on((e) => {
      if (e.type === 'answered') resolve(e);
      if (e.type === 'ended') reject(new Error(`ended before answer: ${e.reason}\n${b.log().slice(-2000)}`));
    });
  });
  return { leg: l, baresip: b, portPool, heard, answered, prompt: readWav(`${b.dir}/prompt_s16_8k.wav`) };
}

/** Hangs up and waits until baresip closed the call (sndfile finalises its WAVs then). */
async function finish(c: { leg: CallLeg; baresip: Baresip; portPool: PortPool }): Promise<void> {
  const ended = await c.leg.hangup();
  assert.deepEqual({ by: ended.by, outcome: ended.outcome }, { by: 'local', outcome: 'completed' });
  await until(() => /terminated/.test(c.baresip.log()), 3000, 'baresip to close the call');
  assert.equal(c.portPool.used, 0, 'RTP port returned');
}

describe('CallLeg vs baresip callee', { skip }, () => {
  const cases = [
    { name: 'PCMU', peerCodecs: 'PCMU/8000/1', ours: ['PCMU', 'PCMA'], rate: 8000, codec: 'PCMU', minCorr: 0.99 },
    { name: 'PCMA', peerCodecs: 'PCMA/8000/1', ours: ['PCMU', 'PCMA'], rate: 8000, codec: 'PCMA', minCorr: 0.99 },
    // Wideband: L16 is linear, so both directions should be bit-exact copies (correlation ~1).
    // G.722 (ADPCM, lossy): 16 kHz PCM on a 8000 Hz RTP clock (RFC 3551 §4.5.2); baresip's g722.so is spandsp.
    { name: 'G722', peerCodecs: 'G722/8000/1', ours: ['G722', 'PCMU'], rate: 16000, codec: 'G722', minCorr: 0.98, modules: ['g722.so'] },
    { name: 'L16/16000', peerCodecs: 'L16/16000/1', ours: ['L16/16000', 'PCMU'], rate: 16000, codec: 'L16', minCorr: 0.999, modules: ['l16.so'] },
  ];
  for (const k of cases) {
    test(`${k.name}: we hear baresip's prompt and baresip's recording is our tone + chirp`, async (t) => {
      const c = await call(k);
      assert.deepEqual(c.answered, { type: 'answered', codec: k.codec, sampleRate: k.rate });
      const sr = k.rate;
      const tonePart = tone(sr, 1000, 1000);
      const chirpPart = chirp(sr, 1500);
      for (const f of frames(concat([tonePart, chirpPart]), sr)) c.leg.write(f);
      await until(() => c.leg.queuedMs === 0, 8000, 'our audio to play out');
      await sleep(300);
      await finish(c);

      // 1. What we heard is baresip's prompt.
      const got = concat(c.heard);
      assert.ok(rms(got) > 500, `not silence (rms ${rms(got).toFixed(0)})`);
      assert.ok(rms(c.prompt.samples.subarray(sr / 2, sr * 2)) > 500, 'the prompt windows hold speech');
      const heardCorr = findSignal(c.prompt.samples, got, sr, [500, 1000, 1500]);
      assert.ok(heardCorr.corr > k.minCorr, `we heard the prompt (corr ${heardCorr.corr.toFixed(4)})`);

      // 2. What baresip heard is us.
      const dec = c.baresip.recordings().find((p) => p.endsWith('-dec.wav'));
      assert.ok(dec, `baresip wrote a dump-*-dec.wav (files: ${c.baresip.recordings().join(', ')})`);
      const rec = readWav(dec);
      assert.equal(rec.sampleRate, sr);
      // Where our tone starts in baresip's recording: the chirp follows 1 s later.
      const chirpAt = findSignal(chirpPart, rec.samples, sr, [200, 600, 1000]);
      assert.ok(chirpAt.corr > k.minCorr, `baresip recorded our chirp (corr ${chirpAt.corr.toFixed(4)})`);
      const toneStart = chirpAt.offset - sr;
      assert.ok(toneStart >= 0, `tone precedes the chirp in the recording (at ${toneStart})`);
      const toneRec = rec.samples.subarray(toneStart + sr / 10, toneStart + (sr * 9) / 10);
      const f = dominantFrequency(toneRec, sr);
      assert.ok(Math.abs(f - 1000) <= 10, `baresip heard a 1 kHz tone (dominant ${f} Hz)`);
      t.diagnostic(`${k.name}: prompt heard corr ${heardCorr.corr.toFixed(4)}; baresip recorded chirp corr ${chirpAt.corr.toFixed(4)}, tone ${f} Hz`);
    });
  }

  test('DTMF from baresip: keys typed into its UI arrive as RFC 4733 dtmf events, in order', async () => {
    const c = await call({ peerCodecs: 'PCMU/8000/1', ours: ['PCMU'], rate: 8000, keyboard: true });
    const got: string[] = [];
    c.leg.on((e) => {
      if (e.type === 'dtmf') got.push(e.digit);
    });
    await sleep(200);
    // One key at a time: baresip's menu turns each key press into one telephone-event.
    for (const k of ['4', '2', '#']) {
      c.baresip.type(k);
      await until(() => got.length > ['4', '2', '#'].indexOf(k), 3000, `digit ${k}`);
    }
    assert.deepEqual(got, ['4', '2', '#']);
    await finish(c);
  });

  test('baresip hangs up when its prompt ends (BYE while media flows): ended by remote, port free', async () => {
    // baresip 1.0's menu ends the call when the aufile source hits end of file: a real far-end BYE.
    const c = await call({ peerCodecs: 'PCMU/8000/1', ours: ['PCMU'], rate: 8000, text: 'Goodbye now.' });
    for (const f of frames(chirp(8000, 5000), 8000)) c.leg.write(f);
    const ended = await c.leg.ended;
    assert.deepEqual({ by: ended.by, outcome: ended.outcome, reason: ended.reason }, { by: 'remote', outcome: 'completed', reason: 'BYE from remote' });
    assert.ok(rms(concat(c.heard)) > 300, 'we heard the prompt before the BYE');
    assert.ok(c.leg.playedMs > 200 && c.leg.playedMs < 5000, `our audio was cut mid-way (${c.leg.playedMs} ms played)`);
    assert.equal(c.portPool.used, 0, 'media closed, port returned');
    assert.match(c.baresip.log(), /terminated/);
  });

  test('DTMF: baresip decodes our RFC 4733 digits in order', async () => {
    const c = await call({ peerCodecs: 'PCMU/8000/1', ours: ['PCMU'], rate: 8000 });
    const digits = '159#*0';
    c.leg.sendDtmf(digits, 100);
    const ended = (): string[] => [...c.baresip.log().matchAll(/received event: '(.)' \(end=1\)/g)].map((m) => m[1] ?? '');
    await until(() => ended().length >= digits.length, 5000, 'baresip to log the digits');
    // RFC 4733 §2.5.1.4: the end packet is sent three times; baresip must still report each event once.
    assert.deepEqual(ended().join(''), digits);
    assert.throws(() => c.leg.sendDtmf('x'), RangeError, 'not a DTMF digit');
    await finish(c);
  });
});
