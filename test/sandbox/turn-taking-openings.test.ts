/** The persona state machine for the answer classes: answer_line, tones, hang-up after a greeting, beeps, hand-over lines. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../helpers/virtual-clock.js';
import { PersonaTurns, type TurnAction } from '../../src/sandbox/turn-taking.js';
import type { Persona } from '../../src/sandbox/persona.js';

function setup(persona: Persona, hearsWords = false) {
  const clock = new VirtualClock();
  const actions: TurnAction[] = [];
  const turns = new PersonaTurns(persona, { clock, act: (a) => actions.push(a), hearsWords, wordsWaitMs: 1500 });
  const kinds = () => actions.map((a) => (a.type === 'say' ? `${a.kind}:${a.text}` : a.type === 'tones' ? `tones#${a.pass}` : a.type === 'hangup' ? `hangup:${a.reason}` : a.type));
  return { clock, actions, turns, kinds };
}

const lines = [{ say: 'Yes, I have a minute.' }, { say: 'Bye.', then: 'hangup' as const }];

describe('persona openings', () => {
  test('answer_line is said at once, then the persona waits for the agent\'s whole turn, even one begun during it', () => {
    const s = setup({ name: 'h', answer_after_ms: 0, answer_line: 'Hello?', lines });
    s.turns.start();
    assert.deepEqual(s.kinds(), ['answer:Hello?']);
    assert.equal(s.turns.state, 'answering');
    s.turns.agentSpeechStart(); // the agent's greeting starts over our "Hello?"
    s.turns.playbackDone();
    assert.equal(s.turns.state, 'agent_speaking', 'does not reply while the agent still talks');
    s.clock.advance(5000);
    assert.deepEqual(s.kinds(), ['answer:Hello?']);
    s.turns.agentSpeechEnd();
    assert.deepEqual(s.kinds(), ['answer:Hello?', 'line:Yes, I have a minute.']);
  });

  test('answer_line without the agent talking: listens, and the idle timeout still applies', () => {
    const s = setup({ name: 'h', answer_after_ms: 0, answer_line: 'Hello?', lines, idle_hangup_ms: 4000 });
    s.turns.start();
    s.turns.playbackDone();
    assert.equal(s.turns.state, 'listening');
    s.clock.advance(3999);
    assert.deepEqual(s.kinds(), ['answer:Hello?']);
    s.clock.advance(1);
    assert.deepEqual(s.kinds(), ['answer:Hello?', 'hangup:agent_idle']);
  });

  test('tones play pass by pass as many times as asked, then the greeting; hangup_after_greeting ends it', () => {
    const segments = [{ hz: 913.8, ms: 330 }, { hz: 1370.6, ms: 330 }, { hz: 1776.7, ms: 330 }];
    const s = setup({ name: 'sit', answer_after_ms: 0, tones: { segments, repeat: 2 }, greeting: 'Not in service.', hangup_after_greeting: true, lines: [] });
    s.turns.start();
    assert.deepEqual(s.actions, [{ type: 'tones', segments, pass: 1 }]);
    s.turns.agentSpeechStart();
    s.turns.agentSpeechEnd();
    s.turns.playbackDone();
    assert.deepEqual(s.kinds(), ['tones#1', 'tones#2'], 'the agent talking changes nothing');
    s.turns.playbackDone();
    assert.deepEqual(s.kinds(), ['tones#1', 'tones#2', 'greeting:Not in service.']);
    s.turns.playbackDone();
    assert.deepEqual(s.kinds(), ['tones#1', 'tones#2', 'greeting:Not in service.', 'hangup:after_greeting']);
    assert.equal(s.turns.state, 'done');
  });

  test('tones until hangup repeat until hangup_after_ms', () => {
    const s = setup({ name: 'fax', answer_after_ms: 0, tones: { segments: [{ hz: 1100, ms: 500, gap_ms: 3000 }], repeat: 'until_hangup' }, lines: [], hangup_after_ms: 10_000 });
    s.turns.start();
    for (let i = 0; i < 2; i++) {
      s.clock.advance(3500);
      s.turns.playbackDone();
    }
    assert.deepEqual(s.kinds(), ['tones#1', 'tones#2', 'tones#3']);
    s.clock.advance(3000);
    assert.deepEqual(s.kinds().at(-1), 'hangup:hangup_after_ms');
    s.turns.playbackDone();
    assert.equal(s.kinds().length, 4, 'nothing after the hangup');
  });

  test('a beep of its own frequency and length; recording starts after it, or after the greeting without one', () => {
    const s = setup({ name: 'vm', answer_after_ms: 0, greeting: 'Leave a message.', beep: { hz: 1400, ms: 250 }, record: true, lines: [], hangup_after_last_line: false });
    s.turns.start();
    s.turns.playbackDone();
    assert.deepEqual(s.actions.at(-1), { type: 'beep', hz: 1400, ms: 250 });
    assert.equal(s.actions.filter((a) => a.type === 'start_recording').length, 0, 'not during the beep');
    s.turns.playbackDone();
    assert.deepEqual(s.actions.at(-1), { type: 'start_recording' });
    const n = setup({ name: 'vm', answer_after_ms: 0, greeting: 'Leave a message.', record: true, lines: [], hangup_after_last_line: false });
    n.turns.start();
    assert.deepEqual(n.kinds(), ['greeting:Leave a message.']);
    n.turns.playbackDone();
    assert.deepEqual(n.kinds(), ['greeting:Leave a message.', 'start_recording']);
    n.turns.agentSpeechStart();
    n.turns.agentSpeechEnd();
    n.turns.playbackDone();
    assert.equal(n.actions.filter((a) => a.type === 'start_recording').length, 1, 'once');
  });
});

describe('persona hand-over lines', () => {
  const screening: Persona = {
    name: 'screening', answer_after_ms: 0, greeting: 'Say your name and why you are calling.',
    lines: [
      { say: 'Thanks, stay on the line.', then: 'next' },
      { say: 'Hello? Yes, this is Sam.', pause_before_ms: 2500, voice: 'kal16', espeak_voice: 'en-us+m3' },
      { say: 'Yes, I have a minute.', when: { agent_said_any: ['minute'] }, voice: 'kal16' },
      { say: 'Sure.', voice: 'kal16' },
    ],
  };

  test('after the agent answers the screening: one line, the pause, then the person in their own voice, without waiting', () => {
    const s = setup(screening, true);
    s.turns.start();
    s.turns.playbackDone();
    s.turns.agentSpeechStart();
    s.turns.agentSpeechEnd();
    s.turns.agentSaid('this is alex from acme do you have a minute');
    assert.deepEqual(s.kinds().slice(1), ['line:Thanks, stay on the line.'], 'the keyword line is not picked past the hand-over');
    s.turns.playbackDone();
    assert.equal(s.turns.state, 'pausing');
    s.turns.agentSpeechStart(); // the agent says something meanwhile: the person picks up all the same
    s.clock.advance(2499);
    assert.equal(s.kinds().length, 2);
    s.clock.advance(1);
    assert.deepEqual(s.actions.at(-1), { type: 'say', kind: 'line', text: 'Hello? Yes, this is Sam.', voice: 'kal16', espeakVoice: 'en-us+m3' });
    s.turns.playbackDone();
    assert.equal(s.turns.state, 'agent_speaking', 'then waits for the agent, as the human does');
    s.turns.agentSpeechEnd();
    s.turns.agentSaid('do you have a minute');
    assert.deepEqual(s.actions.at(-1), { type: 'say', kind: 'line', text: 'Yes, I have a minute.', voice: 'kal16' });
    assert.deepEqual(s.turns.said, ['Thanks, stay on the line.', 'Hello? Yes, this is Sam.', 'Yes, I have a minute.']);
  });

  test('a hang-up during the pause cancels the line', () => {
    const s = setup({ ...screening, hangup_after_ms: 1000 });
    s.turns.start();
    s.turns.playbackDone();
    s.turns.agentSpeechStart();
    s.turns.agentSpeechEnd();
    s.turns.playbackDone();
    s.clock.advance(5000);
    assert.deepEqual(s.kinds().slice(1), ['line:Thanks, stay on the line.', 'hangup:hangup_after_ms']);
  });
});
