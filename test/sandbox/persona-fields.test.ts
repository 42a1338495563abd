/** Validation of the persona fields for answer classes: tones, beep, answer_line, hand-over lines. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { personaProblems } from '../../src/sandbox/persona.js';

const base = { name: 'p', answer_after_ms: 0, lines: [] };

describe('persona fields: tones', () => {
  test('single and dual tones, gaps, a repeat count or until_hangup (with hangup_after_ms) are valid', () => {
    assert.deepEqual(personaProblems({ ...base, tones: { segments: [{ hz: 913.8, ms: 330 }, { hz: [350, 440], ms: 1000, gap_ms: 30 }] } }), []);
    assert.deepEqual(personaProblems({ ...base, tones: { segments: [{ hz: 2100, ms: 3000 }], repeat: 2 } }), []);
    assert.deepEqual(personaProblems({ ...base, tones: { segments: [{ hz: 1100, ms: 500, gap_ms: 3000 }], repeat: 'until_hangup' }, hangup_after_ms: 30_000 }), []);
  });

  test('each bad tone field is named', () => {
    assert.deepEqual(personaProblems({ ...base, tones: [{ hz: 1100, ms: 500 }] }), [
      'tones: { "segments": [{ "hz": n | [n, n], "ms": n, "gap_ms"?: n }, ...], "repeat"?: n | "until_hangup" }',
    ]);
    assert.deepEqual(personaProblems({ ...base, tones: { segments: [] } }), ['tones.segments: required, 1 to 20 segments']);
    assert.deepEqual(
      personaProblems({
        ...base,
        tones: { segments: [{ hz: 5000, ms: 10 }, { hz: [400], ms: 100, gap_ms: -1 }, { hz: [400, 'x'], ms: 100.5, level: 3 }, 7], repeat: 0, loop: true },
      }),
      [
        'tones.loop: unknown field (allowed: segments, repeat)',
        'tones.repeat: an integer from 1 to 100, or "until_hangup"',
        'tones.segments[0].hz: a frequency (50-3900 Hz) or two of them [hz1, hz2]',
        'tones.segments[0].ms: an integer from 20 to 10000',
        'tones.segments[1].hz: a frequency (50-3900 Hz) or two of them [hz1, hz2]',
        'tones.segments[1].gap_ms: an integer from 0 to 10000',
        'tones.segments[2].level: unknown field (allowed: hz, ms, gap_ms)',
        'tones.segments[2].hz: a frequency (50-3900 Hz) or two of them [hz1, hz2]',
        'tones.segments[2].ms: an integer from 20 to 10000',
        'tones.segments[3]: an object { "hz": n | [n, n], "ms": n, "gap_ms"?: n }',
      ],
    );
  });

  test('tones until hangup need hangup_after_ms and leave nothing after them', () => {
    const forever = { segments: [{ hz: 1100, ms: 500, gap_ms: 3000 }], repeat: 'until_hangup' };
    assert.deepEqual(personaProblems({ ...base, tones: forever }), ['tones.repeat: "until_hangup" needs hangup_after_ms, so the call cannot last forever']);
    assert.deepEqual(personaProblems({ ...base, tones: forever, hangup_after_ms: 30_000, greeting: 'Hi.', beep: true }), [
      'tones.repeat: "until_hangup" plays nothing after the tones, so greeting, beep would never happen',
    ]);
  });
});

describe('persona fields: beep', () => {
  test('true, false or a frequency and length within the range machines use', () => {
    for (const beep of [true, false, { hz: 400, ms: 100 }, { hz: 1400, ms: 250 }, { hz: 2100, ms: 2000 }, { hz: 987.5, ms: 500 }]) {
      assert.deepEqual(personaProblems({ ...base, greeting: 'Hi.', beep }), [], JSON.stringify(beep));
    }
  });

  test('out of range, wrong shape or extra fields are refused', () => {
    assert.deepEqual(personaProblems({ ...base, beep: 'yes' }), ['beep: true, false or { "hz": 400-2100, "ms": 100-2000 }']);
    assert.deepEqual(personaProblems({ ...base, beep: { hz: 399, ms: 2001 } }), ['beep.hz: a frequency from 400 to 2100 Hz', 'beep.ms: an integer from 100 to 2000']);
    assert.deepEqual(personaProblems({ ...base, beep: { hz: 2101, ms: 99, volume: 1 } }), [
      'beep.volume: unknown field (allowed: hz, ms)',
      'beep.hz: a frequency from 400 to 2100 Hz',
      'beep.ms: an integer from 100 to 2000',
    ]);
    assert.deepEqual(personaProblems({ ...base, beep: { ms: 400 } }), ['beep.hz: a frequency from 400 to 2100 Hz']);
  });
});

describe('persona fields: openings', () => {
  test('answer_line is a short non-empty text, and not together with a greeting', () => {
    assert.deepEqual(personaProblems({ ...base, answer_line: 'Hello?' }), []);
    assert.deepEqual(personaProblems({ ...base, answer_line: ' ' }), ['answer_line: a non-empty string of at most 300 characters']);
    assert.deepEqual(personaProblems({ ...base, answer_line: 'x'.repeat(301) }), ['answer_line: a non-empty string of at most 300 characters']);
    assert.deepEqual(personaProblems({ ...base, answer_line: 'Hello?', greeting: 'Leave a message.' }), [
      "answer_line: a person's answer_line or a machine's greeting, not both",
    ]);
  });

  test('hangup_after_greeting needs a greeting and nothing after it', () => {
    assert.deepEqual(personaProblems({ ...base, greeting: 'Not in service.', hangup_after_greeting: true }), []);
    assert.deepEqual(personaProblems({ ...base, hangup_after_greeting: 'yes' }), ['hangup_after_greeting: true or false']);
    assert.deepEqual(personaProblems({ ...base, hangup_after_greeting: true }), ['hangup_after_greeting: needs a greeting']);
    assert.deepEqual(personaProblems({ ...base, greeting: 'Hi.', hangup_after_greeting: true, beep: { hz: 1000, ms: 200 }, record: true, hangup_after_last_line: false }), [
      'hangup_after_greeting: hangs up before beep, record',
    ]);
  });
});

describe('persona fields: lines', () => {
  test('then "next", a pause and a voice of its own are valid on a line', () => {
    const lines = [{ say: 'Stay on the line.', then: 'next' }, { say: 'Hello? This is Sam.', pause_before_ms: 2500, voice: 'kal16', espeak_voice: 'en-us+m3' }];
    assert.deepEqual(personaProblems({ ...base, lines }), []);
  });

  test('bad line fields are named with their line', () => {
    const lines = [{ say: 'A.', then: 'transfer', pause_before_ms: 30_001, voice: 'en-us' }, { say: 'B.', espeak_voice: 'bad voice', pause_before_ms: 1.5 }, { say: 'C.', then: 'next' }];
    assert.deepEqual(personaProblems({ ...base, lines }), [
      'lines[0].then: "hangup" or "next"',
      'lines[0].pause_before_ms: an integer from 0 to 30000',
      'lines[0].voice: a flite voice (slt, rms, awb, kal16, kal, awb_time)',
      'lines[1].pause_before_ms: an integer from 0 to 30000',
      'lines[1].espeak_voice: a voice name (letters, digits, _ + -)',
      'lines[2].then: "next" needs a line after it',
    ]);
  });
});
