import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AMD_DEFAULTS, AMD_RANGES, createMachineDetector } from '../../src/amd/detector.js';
import type { AmdEvent, AmdSettings } from '../../src/amd/types.js';
import { WORDS_SETTLE_MS } from '../../src/amd/thresholds.js';
import * as S from '../fixtures/amd/synth.js';

const R = 8000;
const DETECT: AmdSettings = { ...AMD_DEFAULTS, mode: 'detect' };
const END: AmdSettings = { ...AMD_DEFAULTS, mode: 'detect_message_end' };
const verdicts = (ev: AmdEvent[]) => ev.filter((e) => e.type === 'verdict');
const ends = (ev: AmdEvent[]) => ev.filter((e) => e.type === 'greeting_end');

/** A machine's greeting: sentences of babble with 400 ms sentence gaps. */
const greeting = (ms: number, seed = 5) => S.concat([S.babble(R, ms / 2, seed), S.silence(R, 400), S.babble(R, ms / 2, seed + 1)]);

test('the defaults lie inside their ranges, and total_analysis_ms is 500-60000 (issue 17)', () => {
  assert.deepEqual([AMD_RANGES.total_analysis_ms.min, AMD_RANGES.total_analysis_ms.max, AMD_DEFAULTS.totalAnalysisMs], [500, 60000, 5000]);
  for (const r of Object.values(AMD_RANGES)) assert.ok(r.min <= r.default && r.default <= r.max);
});

test('only silence: exactly one verdict, unknown on initial silence, and nothing after it', () => {
  const ev = S.runDetector(DETECT, R, S.silence(R, 10_000));
  assert.deepEqual(ev, [{ type: 'verdict', answeredBy: 'unknown', atMs: 2500, cues: ['initial_silence'] }]);
});

test('line noise alone (any level, through G.711), and a click, are nobody speaking: initial silence', () => {
  for (const dbfs of [-60, -45, -30]) {
    const pcm = S.mulawRoundTrip(S.concat([S.noise(R, 1000, dbfs, 3), S.tones(R, [300, 1700, 2900], 20, -10), S.noise(R, 4000, dbfs, 4)]));
    assert.deepEqual(S.runDetector(DETECT, R, pcm).map((e) => [e.answeredBy, e.cues]), [['unknown', ['initial_silence']]], `noise at ${dbfs} dBFS`);
  }
});

test('the verdict is given at totalAnalysisMs at the latest, and by a push past the deadline', () => {
  const ev = S.runDetector({ ...DETECT, totalAnalysisMs: 1000, initialSilenceMs: 2500 }, R, S.silence(R, 3000));
  assert.deepEqual(ev, [{ type: 'verdict', answeredBy: 'unknown', atMs: 1000, cues: ['timeout'] }]);
  // A runtime that pushes its first frame late (or feeds words only) still gets the verdict at once.
  const d = createMachineDetector({ ...DETECT, totalAnalysisMs: 500 }, R);
  assert.deepEqual(d.words('uh', false, 900).map((e) => e.type === 'verdict' && e.answeredBy), ['unknown']);
  assert.equal(d.done, true);
  assert.deepEqual(d.push(new Int16Array(160)), []);
});

test('a person: "Hello?" then a wait is human within ~0.7 s of the end of the word', () => {
  const pcm = S.concat([S.silence(R, 600), S.babble(R, 500, 11), S.silence(R, 3000)]);
  const [v, ...rest] = S.runDetector(END, R, pcm);
  assert.equal(rest.length, 0);
  assert.ok(v && v.type === 'verdict');
  assert.equal(v.answeredBy, 'human');
  assert.deepEqual(v.cues, ['short_greeting']);
  assert.ok(v.atMs >= 600 + 500 + 600 && v.atMs <= 600 + 500 + 800, `at ${v.atMs}`);
});

test('a machine: a greeting speaking on past greetingMaxMs is machine_start soon after it; detect mode gives no greeting end', () => {
  const pcm = S.concat([S.silence(R, 300), greeting(6000), S.silence(R, 300), S.tone(R, 1000, 250), S.silence(R, 2000)]);
  const ev = S.runDetector(DETECT, R, pcm);
  assert.equal(ev.length, 1);
  const v = ev[0];
  assert.ok(v && v.type === 'verdict' && v.answeredBy === 'machine_start');
  assert.ok(v.cues.includes('long_greeting'));
  assert.ok(v.atMs >= 300 + AMD_DEFAULTS.greetingMaxMs && v.atMs <= 300 + AMD_DEFAULTS.greetingMaxMs + 200, `at ${v.atMs}`);
});

// The beep's end is known on the first frame that does not continue it: that frame, or the one holding
// the beep's last few ms (when they are too many to show as a level drop), so at most 2 frames late.
const BEEP_END_SLACK_MS = 40;

test('detect_message_end: the beep ends the greeting on the frame after its end, with its frequency', () => {
  for (const hz of [440, 1000, 1400]) {
    const before = S.concat([S.silence(R, 300), greeting(6000), S.silence(R, 350), S.tone(R, hz, 250)]);
    const beepEnd = (before.length * 1000) / R;
    const pcm = S.mulawRoundTrip(S.addNoise(S.concat([before, S.silence(R, 3000)]), R, 20));
    const ev = S.runDetector(END, R, pcm);
    assert.equal(verdicts(ev).length, 1);
    const e = ends(ev);
    assert.equal(e.length, 1);
    const g = e[0];
    assert.ok(g && g.type === 'greeting_end');
    assert.equal(g.answeredBy, 'machine_end_beep');
    assert.ok(Math.abs((g.beepHz ?? 0) - hz) <= 10, `beepHz ${g.beepHz}`);
    assert.ok(g.atMs >= beepEnd && g.atMs <= beepEnd + BEEP_END_SLACK_MS, `${hz} Hz: greeting_end at ${g.atMs}, beep ended ${beepEnd}`);
  }
});

test('detect_message_end: no beep, so silence after the greeting ends it (machine_end_silence); endless talk ends at beepTimeoutMs', () => {
  const spoken = S.concat([S.silence(R, 300), greeting(6000)]);
  const spokenEnd = (spoken.length * 1000) / R;
  const quiet = S.runDetector(END, R, S.concat([spoken, S.silence(R, 3000)]));
  const q = ends(quiet)[0];
  assert.ok(q && q.type === 'greeting_end' && q.answeredBy === 'machine_end_silence');
  assert.ok(q.atMs >= spokenEnd + 800 - 60 && q.atMs <= spokenEnd + 900, `at ${q.atMs}, speech ended ${spokenEnd}`);
  const long = S.runDetector({ ...END, beepTimeoutMs: 3000 }, R, S.babble(R, 9000, 2));
  const v = verdicts(long)[0];
  const o = ends(long)[0];
  assert.ok(v && o && o.type === 'greeting_end' && o.answeredBy === 'machine_end_other');
  assert.equal(o.atMs - v.atMs, 3000);
});

test('a short greeting and its beep: the beep itself makes the verdict (machine), and the greeting end comes with it', () => {
  const pcm = S.concat([S.silence(R, 300), S.babble(R, 900, 4), S.silence(R, 200), S.tone(R, 850, 300), S.silence(R, 2000)]);
  const ev = S.runDetector(END, R, pcm);
  assert.deepEqual(ev.map((e) => e.answeredBy), ['machine_start', 'machine_end_beep']);
  assert.ok(ev[0]?.cues.includes('beep'));
});

test('a mailbox with no greeting, only a beep: machine, and the greeting end with it', () => {
  const ev = S.runDetector(END, R, S.concat([S.silence(R, 800), S.tone(R, 1000, 300), S.silence(R, 3000)]));
  assert.deepEqual(ev.map((e) => [e.answeredBy, e.cues]), [['machine_start', ['beep']], ['machine_end_beep', ['beep']]]);
});

test('network and fax tones: SIT is intercept, CNG and CED are fax', () => {
  const sit = S.runDetector(DETECT, R, S.concat([S.silence(R, 200), S.mulawRoundTrip(S.sit(R)), S.babble(R, 3000)]));
  assert.deepEqual(sit.map((e) => [e.answeredBy, e.cues]), [['intercept', ['sit_tones']]]);
  const cng = S.runDetector(END, R, S.concat([S.silence(R, 500), S.cng(R, 2)]));
  assert.deepEqual(cng.map((e) => [e.answeredBy, e.cues]), [['fax', ['fax_tone']]]);
  const ced = S.runDetector(END, R, S.concat([S.silence(R, 300), S.ced(R)]));
  assert.deepEqual(ced.map((e) => e.answeredBy), ['fax']);
  assert.ok((ced[0]?.atMs ?? 0) <= 300 + 1500 + 40);
  // A fax that cuts CED to ~1 s and goes on to V.21 flags (1850/1650 Hz): fax, not a beep.
  const v21 = S.concat([S.silence(R, 60), S.tone(R, 2094, 1040), S.tone(R, 1850, 200), S.tone(R, 1650, 100), S.tone(R, 1850, 300), S.silence(R, 500)]);
  assert.deepEqual(S.runDetector(END, R, v21).map((e) => e.answeredBy), ['fax']);
  // The same 1 s tone after speech is a machine's beep.
  const beep = S.runDetector(END, R, S.concat([S.silence(R, 300), S.babble(R, 900, 4), S.silence(R, 200), S.tone(R, 2100, 1000), S.silence(R, 1000)]));
  assert.deepEqual(beep.map((e) => e.answeredBy), ['machine_start', 'machine_end_beep']);
});

test('words decide before cadence does: voicemail, screening, intercept and IVR phrases', () => {
  const cases: [string, string][] = [
    ["Hi, you've reached Sam, please leave a message", 'machine_start'],
    ['The person you are calling is using a screening service', 'screening'],
    ['the number you have dialed is not in service', 'intercept'],
    ['thank you for calling, for billing press two', 'ivr'],
  ];
  for (const [text, want] of cases) {
    const d = createMachineDetector(DETECT, R);
    for (const f of S.frames20(S.concat([S.silence(R, 300), S.babble(R, 900, 8)]), R)) assert.deepEqual(d.push(f), []);
    const ev = d.words(text, false, 1200);
    assert.deepEqual(ev.map((e) => e.answeredBy), [want], text);
    assert.deepEqual(d.words(text, true, 1300), [], 'one verdict only');
  }
});

test('a machine found by words after its greeting already went quiet ends the greeting at once (detect_message_end)', () => {
  const d = createMachineDetector(END, R);
  for (const f of S.frames20(S.concat([S.silence(R, 300), S.babble(R, 1200, 9), S.silence(R, 600)]), R)) d.push(f);
  // 600 ms of quiet was a person's wait so far? No: HUMAN_WAIT is 700 ms; the words arrive first.
  const ev = d.words('please leave a message after the tone', true, 2100);
  assert.deepEqual(ev.map((e) => e.answeredBy), ['machine_start']);
  const later: AmdEvent[] = [];
  for (const f of S.frames20(S.silence(R, 1000), R)) later.push(...d.push(f));
  assert.deepEqual(later.map((e) => e.answeredBy), ['machine_end_silence']);
  assert.equal(d.done, true);
});

test('16 kHz legs: a person, a machine and its beep are found as at 8 kHz', () => {
  const W = 16000;
  const person = S.runDetector(DETECT, W, S.concat([S.silence(W, 500), S.babble(W, 600, 12), S.silence(W, 2000)]));
  assert.deepEqual(person.map((e) => e.answeredBy), ['human']);
  const before = S.concat([S.silence(W, 300), S.babble(W, 3000, 13), S.silence(W, 300), S.tone(W, 1400, 200)]);
  const machine = S.runDetector(END, W, S.concat([before, S.silence(W, 1000)]));
  assert.deepEqual(machine.map((e) => e.answeredBy), ['machine_start', 'machine_end_beep']);
  const end = machine[1]?.atMs ?? 0;
  const beepEnd = (before.length * 1000) / W;
  assert.ok(end >= beepEnd && end <= beepEnd + BEEP_END_SLACK_MS, `greeting_end at ${end}, beep ended ${beepEnd}`);
});

test('whatever the audio, exactly one verdict, and at most one greeting_end, only after a machine verdict in detect_message_end', () => {
  const r = S.rng(99);
  const pieces = [
    (n: number) => S.silence(R, 200 + n * 2000),
    (n: number) => S.babble(R, 300 + n * 4000, Math.floor(n * 1000)),
    (n: number) => S.tone(R, 400 + n * 1700, 60 + n * 900),
    (n: number) => S.dtmf(R, 50 + n * 200),
    (n: number) => S.noise(R, 100 + n * 1500, -30 - n * 20, Math.floor(n * 1000)),
    () => S.sit(R),
  ];
  for (let i = 0; i < 40; i++) {
    const parts: Int16Array[] = [];
    for (let k = 0; k < 1 + Math.floor(r() * 5); k++) parts.push((pieces[Math.floor(r() * pieces.length)] as (n: number) => Int16Array)(r()));
    const pcm = S.concat(parts);
    for (const settings of [DETECT, END, { ...END, totalAnalysisMs: 500 }]) {
      const ev = S.runDetector(settings, R, pcm, settings.totalAnalysisMs + settings.beepTimeoutMs);
      const v = verdicts(ev);
      const g = ends(ev);
      assert.equal(v.length, 1, `case ${i}: ${JSON.stringify(ev)}`);
      assert.ok((v[0]?.atMs ?? Infinity) <= Math.max(settings.totalAnalysisMs, 20), `case ${i}: verdict at ${v[0]?.atMs}`);
      const machineEnd = settings.mode === 'detect_message_end' && v[0]?.answeredBy === 'machine_start';
      assert.equal(g.length, machineEnd ? 1 : 0, `case ${i}: ${JSON.stringify(ev)}`);
      if (g[0]) assert.ok(g[0].atMs >= (v[0]?.atMs ?? 0));
    }
  }
});

test('revision: a machine on sound alone is taken back by a screening or a person\'s phrase heard after it, once; a voicemail phrase, a beep or the window\'s end confirm it', () => {
  const long = S.concat([S.silence(R, 300), greeting(3000, 21)]);
  const machineOnSound = (settings: AmdSettings) => {
    const d = createMachineDetector(settings, R);
    const ev: AmdEvent[] = [];
    for (const f of S.frames20(long, R)) ev.push(...d.push(f));
    assert.deepEqual(verdicts(ev).map((e) => e.answeredBy), ['machine_start']);
    assert.equal(d.done, false, 'still listening for words that may take it back');
    return { d, at: (verdicts(ev)[0] as AmdEvent).atMs };
  };
  for (const [text, to] of [['hello doctor lees office maria speaking how can i help you', 'human'], ['please say your name and why youre calling', 'screening']] as const) {
    const { d, at } = machineOnSound(DETECT);
    // Past the audio pushed so far: the words' own time.
    const ev = d.words(text, true, at + 3000);
    assert.deepEqual(ev, [{ type: 'revised', answeredBy: to, atMs: at + 3000, cues: [to === 'human' ? 'human_phrase' : 'screening_phrase'] }], text);
    assert.equal(d.done, true);
    assert.deepEqual(d.words(text, true, at + 3100), [], 'once');
  }
  // A voicemail phrase confirms the machine: later words change nothing.
  const confirmed = machineOnSound(END);
  assert.deepEqual(confirmed.d.words('please leave a message after the tone', true, confirmed.at + 500), []);
  assert.deepEqual(confirmed.d.words('how can i help you', true, confirmed.at + 900), [], 'confirmed: no revision');
  // The window ends: too late to take it back.
  const late = machineOnSound(DETECT);
  for (const f of S.frames20(S.silence(R, 8100), R)) late.d.push(f);
  assert.equal(late.d.done, true);
  assert.deepEqual(late.d.words('how can i help you', true, late.at + 8200), []);
  // A partial (words still changing) revises as a final does; words with no phrase do nothing.
  const partial = machineOnSound(DETECT);
  assert.deepEqual(partial.d.words('the weather is nice today', false, partial.at + 300), []);
  assert.deepEqual(partial.d.words('maria speaking', false, partial.at + 400).map((e) => e.type), ['revised']);
});

test('revision: not after a machine found by its beep or its greeting end (detect_message_end)', () => {
  const d = createMachineDetector(END, R);
  const ev: AmdEvent[] = [];
  for (const f of S.frames20(S.concat([S.silence(R, 300), greeting(3000, 22), S.silence(R, 300), S.tone(R, 1000, 250), S.silence(R, 500)]), R)) ev.push(...d.push(f));
  assert.deepEqual(ev.map((e) => e.answeredBy), ['machine_start', 'machine_end_beep']);
  assert.equal(d.done, true);
  assert.deepEqual(d.words('how can i help you', true, 6000), []);
});

test('wordsComing: a greeting end found by silence waits for the words of a cadence-only machine (up to WORDS_SETTLE_MS more); they may take it back', () => {
  const speech = S.concat([S.silence(R, 300), greeting(3000, 23)]);
  const settle = (feed?: { atQuietMs: number; text: string }) => {
    const d = createMachineDetector({ ...END, wordsComing: true }, R);
    const ev: AmdEvent[] = [];
    for (const f of S.frames20(speech, R)) ev.push(...d.push(f));
    let quiet = 0;
    for (const f of S.frames20(S.silence(R, 800 + WORDS_SETTLE_MS + 500), R)) {
      quiet += 20;
      ev.push(...d.push(f));
      if (feed && quiet === feed.atQuietMs) ev.push(...d.words(feed.text, true, speech.length / 8 + quiet));
    }
    return ev.filter((e) => e.type !== 'verdict');
  };
  const none = settle();
  assert.deepEqual(none.map((e) => e.answeredBy), ['machine_end_silence']);
  const endAt = (none[0] as AmdEvent).atMs;
  assert.ok(endAt >= speech.length / 8 + 800 + WORDS_SETTLE_MS - 100, `no words: the end waits out the settle time (${endAt})`);
  const late = settle({ atQuietMs: 1000, text: 'how can i help you' });
  assert.deepEqual(late.map((e) => [e.type, e.answeredBy]), [['revised', 'human']], 'a person after all: no greeting end');
  const noPhrase = settle({ atQuietMs: 1000, text: 'thanks for calling' });
  assert.deepEqual(noPhrase.map((e) => [e.type, e.answeredBy]), [['greeting_end', 'machine_end_silence']]);
  assert.ok(Math.abs((noPhrase[0] as AmdEvent).atMs - (speech.length / 8 + 1000)) <= 20, 'the end comes with the words that settled it');
});

test('lost frames (no audio) are quiet but do not lower the noise floor: hiss after a gap is still nobody speaking', () => {
  const d = createMachineDetector(DETECT, R);
  const ev: AmdEvent[] = [];
  for (const f of S.frames20(S.noise(R, 600, -45, 7), R)) ev.push(...d.push(f));
  for (let i = 0; i < 50; i++) ev.push(...d.push(new Int16Array(0)));
  for (const f of S.frames20(S.noise(R, 3000, -45, 8), R)) ev.push(...d.push(f));
  assert.deepEqual(verdicts(ev).map((e) => [e.answeredBy, e.cues]), [['unknown', ['initial_silence']]]);
});
