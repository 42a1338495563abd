import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AMD_DEFAULTS, createMachineDetector } from '../../src/amd/detector.js';
import { WORDS_HOLD_MS, WORDS_QUIET_MS } from '../../src/amd/thresholds.js';
import type { AmdEvent, AmdSettings } from '../../src/amd/types.js';
import * as S from '../fixtures/amd/synth.js';

const R = 8000;
const AUDIO: AmdSettings = { ...AMD_DEFAULTS, mode: 'detect' };
const WORDS: AmdSettings = { ...AUDIO, wordsExpected: true };

type Said = [atMs: number, text: string, final: boolean];

/** Streams PCM frame by frame, handing each transcript to words() once the audio has reached its time. */
function drive(settings: AmdSettings, pcm: Int16Array, said: readonly Said[] = [], tailMs = 0): AmdEvent[] {
  const d = createMachineDetector(settings, R);
  const events: AmdEvent[] = [];
  const queue = [...said].sort((a, b) => a[0] - b[0]);
  let t = 0;
  for (const f of S.frames20(S.concat([pcm, S.silence(R, tailMs)]), R)) {
    while (queue.length > 0 && (queue[0] as Said)[0] <= t) {
      const [at, text, final] = queue.shift() as Said;
      events.push(...d.words(text, final, at));
    }
    events.push(...d.push(f));
    t += 20;
  }
  return events;
}

const verdicts = (ev: AmdEvent[]) => ev.filter((e) => e.type === 'verdict');
const only = (ev: AmdEvent[]) => {
  const v = verdicts(ev);
  assert.equal(v.length, 1, JSON.stringify(ev));
  return v[0] as Extract<AmdEvent, { type: 'verdict' }>;
};

/** A long answer: 300 ms of quiet, then 5 s of speech with one 400 ms pause (inside the greeting), then quiet. */
const LONG = S.concat([S.silence(R, 300), S.babble(R, 2500, 5), S.silence(R, 400), S.babble(R, 2500, 6), S.silence(R, 3000)]);
/** Where the cadence alone calls LONG a machine (the audio-only verdict). */
const CADENCE_AT = only(drive(AUDIO, LONG)).atMs;

test('without wordsExpected the timing is the audio-only one; with it the cadence verdict is held', () => {
  const audio = only(drive(AUDIO, LONG));
  assert.equal(audio.answeredBy, 'machine_start');
  assert.ok(audio.atMs >= 300 + AMD_DEFAULTS.greetingMaxMs && audio.atMs <= 300 + AMD_DEFAULTS.greetingMaxMs + 200, `at ${audio.atMs}`);
  assert.deepEqual(drive({ ...AUDIO, wordsExpected: false }, LONG), drive(AUDIO, LONG));
  // The same words fed without wordsExpected: a human phrase changes nothing, a voicemail phrase decides as before.
  assert.deepEqual(drive(AUDIO, LONG, [[1500, 'Maria speaking', true]]), drive(AUDIO, LONG));
  const held = drive(WORDS, LONG);
  assert.ok(only(held).atMs > CADENCE_AT, `held verdict at ${only(held).atMs}, cadence at ${CADENCE_AT}`);
});

test('held, then a screening phrase: screening, decided when the phrase arrives', () => {
  const at = CADENCE_AT + 600;
  const v = only(drive(WORDS, LONG, [[at, "the person you're calling is using a screening service", true]]));
  assert.deepEqual([v.answeredBy, v.atMs, v.cues], ['screening', at, ['screening_phrase']]);
});

test('held, then a human phrase: human, decided when the phrase arrives', () => {
  const at = CADENCE_AT + 900;
  const v = only(drive(WORDS, LONG, [[at, 'maria speaking how can i help you', true]]));
  assert.deepEqual([v.answeredBy, v.atMs, v.cues], ['human', at, ['human_phrase']]);
});

test('held, then a voicemail phrase: machine_start at the phrase, not later, with the cadence cue', () => {
  const at = CADENCE_AT + 1100;
  const v = only(drive(WORDS, LONG, [[at, 'please leave a message after the tone', true]]));
  assert.equal(v.answeredBy, 'machine_start');
  assert.equal(v.atMs, at);
  assert.ok(v.cues.includes('voicemail_phrase') && v.cues.includes('long_greeting'), v.cues.join());
});

test('words never come: the cadence verdict stands at the hold deadline, never past totalAnalysisMs', () => {
  const v = only(drive(WORDS, LONG));
  assert.equal(v.answeredBy, 'machine_start');
  assert.ok(v.atMs >= CADENCE_AT + WORDS_HOLD_MS && v.atMs <= CADENCE_AT + WORDS_HOLD_MS + 20, `at ${v.atMs}, cadence ${CADENCE_AT}`);
  assert.ok(v.cues.includes('words_timeout') && v.cues.includes('long_greeting'), v.cues.join());
  const capped = only(drive({ ...WORDS, totalAnalysisMs: CADENCE_AT + 500 }, LONG));
  assert.deepEqual([capped.answeredBy, capped.atMs], ['machine_start', CADENCE_AT + 500]);
});

test('a final after the speech has stopped, with no phrase: the cadence verdict stands then; finals during speech do not release it', () => {
  // Speech from 300 to ~3150 ms (the cadence verdict comes near 2100), then quiet.
  const speech = S.babble(R, 2800, 9);
  const pcm = S.concat([S.silence(R, 300), speech, S.silence(R, 4000)]);
  const end = 300 + (speech.length * 1000) / R;
  const during: Said = [2500, 'hello there', true];
  const after: Said = [end + WORDS_QUIET_MS + 200, 'nice weather today', true];
  const v = only(drive(WORDS, pcm, [during, after]));
  assert.equal(v.answeredBy, 'machine_start');
  assert.ok(v.atMs >= after[0] && v.atMs <= after[0] + 20, `at ${v.atMs}`);
  assert.ok(v.cues.includes('no_phrase'), v.cues.join());
  // A final that comes just after the speech's end waits for WORDS_QUIET_MS of quiet after the speech.
  const early = only(drive(WORDS, pcm, [[end + 140, 'nice weather today', true]]));
  assert.ok(early.atMs >= end + WORDS_QUIET_MS - 60 && early.atMs <= end + WORDS_QUIET_MS + 40, `at ${early.atMs}`);
  assert.ok(early.cues.includes('no_phrase'), early.cues.join());
  // A final during speech alone, or a partial after it, releases nothing: the hold runs out.
  for (const said of [[during], [[end + WORDS_QUIET_MS + 200, 'nice weather today', false] as Said]]) {
    const held = only(drive(WORDS, pcm, said));
    assert.ok(held.cues.includes('words_timeout'), held.cues.join());
  }
});

test('a final in a pause inside the greeting releases nothing: a talkative person\'s phrase after the pause still decides', () => {
  // LONG pauses 400 ms after its first 2.5 s of speech (from ~2810 ms): a final comes in that pause.
  const v = only(drive(WORDS, LONG, [[3150, "hello doctor lee's office", true], [4000, 'maria speaking', true]]));
  assert.deepEqual([v.answeredBy, v.atMs], ['human', 4000]);
});

test('a human phrase before the cadence verdict decides at once; a short answer and a wait is still human at once', () => {
  const v = only(drive(WORDS, LONG, [[1200, "Doctor Lee's office, Maria speaking", true]]));
  assert.deepEqual([v.answeredBy, v.atMs, v.cues], ['human', 1200, ['human_phrase']]);
  const hello = S.concat([S.silence(R, 600), S.babble(R, 500, 11), S.silence(R, 3000)]);
  assert.deepEqual(drive(WORDS, hello).map((e) => [e.answeredBy, e.atMs]), drive(AUDIO, hello).map((e) => [e.answeredBy, e.atMs]));
});

test('a beep while held is a machine at once (not cadence alone), and detect_message_end ends the greeting with it', () => {
  const pcm = S.concat([S.silence(R, 300), S.babble(R, 2400, 7), S.silence(R, 300), S.tone(R, 1000, 250), S.silence(R, 2000)]);
  const ev = drive({ ...WORDS, mode: 'detect_message_end' }, pcm);
  assert.deepEqual(ev.map((e) => e.answeredBy), ['machine_start', 'machine_end_beep']);
  assert.ok(ev[0]?.cues.includes('beep'));
  assert.ok((ev[0]?.atMs ?? 0) < CADENCE_AT + WORDS_HOLD_MS);
});

test('whatever the audio and words, exactly one verdict, by totalAnalysisMs, and at most one greeting_end after it', () => {
  const r = S.rng(1717);
  const texts = ['hello', 'leave a message', 'how can i help you', 'say your name', 'press one', 'not in service', 'um yes', ''];
  const pieces = [
    (n: number) => S.silence(R, 200 + n * 2000),
    (n: number) => S.babble(R, 300 + n * 4000, Math.floor(n * 1000)),
    (n: number) => S.tone(R, 400 + n * 1700, 60 + n * 900),
    (n: number) => S.noise(R, 100 + n * 1500, -30 - n * 20, Math.floor(n * 1000)),
  ];
  for (let i = 0; i < 40; i++) {
    const parts: Int16Array[] = [];
    for (let k = 0; k < 1 + Math.floor(r() * 5); k++) parts.push((pieces[Math.floor(r() * pieces.length)] as (n: number) => Int16Array)(r()));
    const said: Said[] = [];
    for (let k = Math.floor(r() * 4); k > 0; k--) said.push([Math.round(r() * 8000), texts[Math.floor(r() * texts.length)] as string, r() < 0.7]);
    for (const s of [WORDS, { ...WORDS, mode: 'detect_message_end' as const }, { ...WORDS, totalAnalysisMs: 1500 }]) {
      const ev = drive(s, S.concat(parts), said, s.totalAnalysisMs + s.beepTimeoutMs);
      const v = only(ev);
      assert.ok(v.atMs <= Math.max(s.totalAnalysisMs, 20), `case ${i}: verdict at ${v.atMs}`);
      const g = ev.filter((e) => e.type === 'greeting_end');
      assert.equal(g.length, s.mode === 'detect_message_end' && v.answeredBy === 'machine_start' ? 1 : 0, `case ${i}: ${JSON.stringify(ev)}`);
      assert.ok(ev.indexOf(v) === 0, `case ${i}: the verdict comes first`);
    }
  }
});
