import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameAnalyzer } from '../../src/amd/spectrum.js';
import { isBeep, isCedSoFar, isCng, SitMatcher, ToneTracker, type ToneRun } from '../../src/amd/tones.js';
import * as S from '../fixtures/amd/synth.js';

/** Every run of steady tone in the audio, and whether SIT was matched, frame by frame. */
function analyze(pcm: Int16Array, rate: 8000 | 16000): { runs: ToneRun[]; sit: boolean; ced: boolean } {
  const a = new FrameAnalyzer(rate);
  const t = new ToneTracker(rate);
  const m = new SitMatcher();
  const runs: ToneRun[] = [];
  let sit = false;
  let ced = false;
  S.frames20(S.concat([pcm, S.silence(rate, 100)]), rate).forEach((f, i) => {
    const st = t.step(a.analyze(f), f, i * 20);
    if (st.ended) {
      runs.push(st.ended);
      m.ended(st.ended);
    }
    sit ||= m.matches(st.current);
    ced ||= st.current !== undefined && isCedSoFar(st.current);
  });
  return { runs, sit, ced };
}

const beeps = (pcm: Int16Array, rate: 8000 | 16000) => analyze(pcm, rate).runs.filter(isBeep);

const LINES: { name: string; rate: 8000 | 16000; line: (p: Int16Array, rate: number) => Int16Array }[] = [
  { name: 'clean 8k', rate: 8000, line: (p) => p },
  { name: 'clean 16k', rate: 16000, line: (p) => p },
  { name: 'mu-law, noise 15 dB', rate: 8000, line: (p, r) => S.mulawRoundTrip(S.addNoise(p, r, 15)) },
  { name: 'A-law, noise 10 dB', rate: 8000, line: (p, r) => S.alawRoundTrip(S.addNoise(p, r, 10)) },
];

for (const line of LINES) {
  test(`a beep at any frequency 400-2100 Hz, 100 ms to 1 s, is found once with its frequency and end (${line.name})`, () => {
    for (const hz of [400, 850, 1000, 1400, 2100]) {
      for (const ms of [100, 250, 1000]) {
        const lead = 330; // not a multiple of 20 ms: the tone straddles frames
        const pcm = line.line(S.concat([S.silence(line.rate, lead), S.tone(line.rate, hz, ms, -20), S.silence(line.rate, 400)]), line.rate);
        const found = beeps(pcm, line.rate);
        assert.equal(found.length, 1, `${hz} Hz ${ms} ms: ${JSON.stringify(found)}`);
        const b = found[0] as ToneRun;
        assert.ok(Math.abs(b.hz - hz) <= 10, `${hz} Hz measured ${b.hz}`);
        assert.ok(Math.abs(b.endMs - (lead + ms)) <= 20, `${hz} Hz ${ms} ms ends at ${b.endMs}`);
        assert.ok((b.coherence ?? 0) >= 0.95, `${hz} Hz ${ms} ms coherence ${b.coherence}`);
      }
    }
  });
}

test('a tone shorter than a beep (60 ms), and one outside 400-2100 Hz (300 and 2600 Hz), is no beep', () => {
  for (const [hz, ms] of [[1000, 60], [300, 500], [2600, 500]] as const) {
    assert.deepEqual(beeps(S.concat([S.silence(8000, 200), S.tone(8000, hz, ms), S.silence(8000, 200)]), 8000), [], `${hz} Hz ${ms} ms`);
  }
});

test('DTMF digits (two tones, Q.23) are not a beep, even long ones and after G.711', () => {
  for (const ms of [70, 100, 250, 800]) {
    const pcm = S.mulawRoundTrip(S.concat([S.silence(8000, 100), S.dtmf(8000, ms), S.silence(8000, 100)]));
    assert.deepEqual(beeps(pcm, 8000), [], `${ms} ms`);
  }
});

test('speech-like harmonic signals (gliding pitch, two formants) and babble are not a beep', () => {
  for (const rate of [8000, 16000] as const) {
    for (let seed = 1; seed <= 6; seed++) assert.deepEqual(beeps(S.babble(rate, 4000, seed), rate), [], `babble seed ${seed}`);
    for (const f0 of [90, 130, 210]) {
      assert.deepEqual(beeps(S.vowel(rate, 1500, { f0, f1: f0 * 1.15, formants: [650, 1100] }), rate), [], `vowel ${f0} Hz`);
    }
  }
});

test('a monotone vowel whose second harmonic sits on its first formant (a near-pure 400 Hz in the band) is no beep: its fundamental is under the band', () => {
  for (const rate of [8000, 16000] as const) {
    for (const f0 of [200, 210, 240]) {
      const hum = S.mulawRoundTrip(S.addNoise(S.vowel(rate, 400, { f0, f1: f0, formants: [2 * f0], syllableHz: 0, dbfs: -20 }), rate, 25));
      assert.deepEqual(beeps(S.concat([S.silence(rate, 100), hum, S.silence(rate, 100)]), rate), [], `f0 ${f0} Hz at ${rate}`);
    }
  }
});

test('SIT (Q.35: 913.8/985.2, 1370.6/1428.5, 1776.7 Hz) is matched in order, short and long segments, after G.711', () => {
  assert.equal(analyze(S.sit(8000), 8000).sit, true);
  assert.equal(analyze(S.mulawRoundTrip(S.sit(8000, true, [380, 380, 380])), 8000).sit, true);
  assert.equal(analyze(S.alawRoundTrip(S.addNoise(S.sit(8000, false, [274, 274, 380]), 8000, 15)), 8000).sit, true);
  assert.equal(analyze(S.sit(16000, true), 16000).sit, true);
  // The same tones in another order, or each too short, are not SIT.
  const reversed = S.concat([S.tone(8000, 1776.7, 380), S.tone(8000, 1370.6, 274), S.tone(8000, 913.8, 274)]);
  assert.equal(analyze(reversed, 8000).sit, false);
  assert.equal(analyze(S.sit(8000, false, [120, 120, 120]), 8000).sit, false);
});

test('fax: a CNG burst (1100 Hz, 0.5 s) and a CED answer tone (2100 Hz, 3.3 s) are named; a 1 s beep at 2100 Hz is not CED', () => {
  const cng = analyze(S.mulawRoundTrip(S.addNoise(S.cng(8000, 2), 8000, 20)), 8000).runs;
  assert.equal(cng.filter(isCng).length, 2);
  assert.equal(analyze(S.alawRoundTrip(S.ced(8000)), 8000).ced, true);
  assert.equal(analyze(S.tone(8000, 2100, 1000), 8000).ced, false);
  assert.equal(analyze(S.tone(8000, 1100, 250), 8000).runs.filter(isCng).length, 0);
});
