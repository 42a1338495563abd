/** The early-media intercept watcher on synthetic carrier audio: SIT decides; ringback and announcements alone never do. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EarlyIntercept } from '../../src/amd/early-intercept.js';
import * as S from '../fixtures/amd/synth.js';

/** Feeds the audio in 20 ms frames; the ms at which SIT was matched, if it was. */
function watch(pcm: Int16Array, rate: 8000 | 16000): number | undefined {
  const w = new EarlyIntercept(rate);
  let at: number | undefined;
  for (const f of S.frames20(pcm, rate)) at ??= w.push(f);
  assert.equal(w.found, at !== undefined);
  return at;
}

/** North American ringback: 440 + 480 Hz together, 2 s on, 4 s off. */
const ringback = (rate: number, cycles: number) => S.concat(Array.from({ length: cycles }, () => S.concat([S.tones(rate, [440, 480], 2000, -16), S.silence(rate, 4000)])));

test('SIT over early media, after G.711, after ringback or straight away: matched during its third tone', () => {
  for (const rate of [8000, 16000] as const) {
    const sit = S.mulawRoundTrip(S.sit(rate));
    const lead = rate === 8000 ? S.mulawRoundTrip(ringback(rate, 1)) : S.silence(rate, 300);
    const at = watch(S.concat([lead, sit, S.babble(rate, 3000)]), rate);
    const leadMs = rate === 8000 ? 6000 : 300;
    assert.ok(at !== undefined, `SIT at ${rate} Hz`);
    // Segments of 274, 274, 380 ms: the third starts at lead + 548 ms and decides within it.
    assert.ok(at > leadMs + 548 && at <= leadMs + 548 + 380, `matched at ${at} ms (lead ${leadMs} ms)`);
  }
  const noisy = S.addNoise(S.concat([S.silence(8000, 200), S.sit(8000, true)]), 8000, 25);
  assert.ok(watch(S.alawRoundTrip(noisy), 8000) !== undefined, 'the high SIT variant, A-law, 25 dB SNR');
});

test('ringback, an announcement without SIT, a beep, one SIT tone alone, DTMF: never an intercept', () => {
  const R = 8000;
  assert.equal(watch(S.mulawRoundTrip(ringback(R, 3)), R), undefined, 'ringback');
  assert.equal(watch(S.concat([S.babble(R, 6000), S.silence(R, 500), S.babble(R, 4000)]), R), undefined, 'an announcement');
  assert.equal(watch(S.concat([S.silence(R, 200), S.tone(R, 1000, 400)]), R), undefined, 'a beep');
  assert.equal(watch(S.concat([S.tone(R, 913.8, 330), S.silence(R, 400), S.tone(R, 913.8, 330)]), R), undefined, 'the first SIT tone, twice');
  assert.equal(watch(S.concat([S.dtmf(R, 200), S.silence(R, 100), S.dtmf(R, 200)]), R), undefined, 'DTMF');
  assert.equal(watch(S.concat([S.tone(R, 1776.7, 380), S.tone(R, 1370.6, 274), S.tone(R, 913.8, 274)]), R), undefined, 'SIT tones in the wrong order');
});
