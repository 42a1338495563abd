/** The persona's turn-taking state machine in virtual time: inputs are VAD/STT/playback events, outputs actions. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../helpers/virtual-clock.js';
import { PersonaTurns, type TurnAction } from '../../src/sandbox/turn-taking.js';
import type { Persona } from '../../src/sandbox/persona.js';

function setup(persona: Persona, hearsWords = true) {
  const clock = new VirtualClock();
  const actions: TurnAction[] = [];
  const turns = new PersonaTurns(persona, { clock, act: (a) => actions.push(a), hearsWords, wordsWaitMs: 1500 });
  const says = () => actions.filter((a) => a.type === 'say').map((a) => (a as { text: string }).text);
  return { clock, actions, turns, says };
}

const human: Persona = {
  name: 'human',
  answer_after_ms: 3000,
  lines: [
    { say: 'Yes, I have a minute.', when: { agent_said_any: ['minute'] } },
    { say: 'Tell me more.' },
    { say: 'Bye.', then: 'hangup' },
  ],
};

describe('persona turn-taking', () => {
  test('waits for the agent to finish, replies once words are heard, hangs up after a hangup line', () => {
    const s = setup(human);
    s.turns.start();
    assert.equal(s.turns.state, 'listening');
    assert.deepEqual(s.actions, []);
    s.turns.agentSpeechStart();
    s.clock.advance(3000);
    s.turns.agentSaid('hello do you have a');
    assert.deepEqual(s.says(), [], 'never while the agent talks');
    s.turns.agentSpeechEnd();
    assert.equal(s.turns.state, 'awaiting_words');
    s.turns.agentSaid('minute for a question');
    assert.deepEqual(s.says(), ['Yes, I have a minute.'], 'keyword from any utterance of the turn');
    s.turns.agentSaid('late words of that turn');
    assert.equal(s.turns.state, 'speaking');
    s.turns.playbackDone();
    assert.equal(s.turns.state, 'listening');
    s.turns.agentSpeechStart();
    s.turns.agentSpeechEnd();
    s.clock.advance(1500);
    assert.deepEqual(s.says(), ['Yes, I have a minute.', 'Tell me more.'], 'no words within the wait: the line order');
    s.turns.playbackDone();
    s.turns.agentSpeechStart();
    s.turns.agentSpeechEnd();
    s.turns.agentSaid('great');
    s.turns.playbackDone();
    assert.deepEqual(s.actions.at(-1), { type: 'hangup', reason: 'line_says_hangup' });
    assert.equal(s.turns.state, 'done');
  });

  test('keyword lines are skipped when the words do not match; without ears lines go in order', () => {
    const a = setup(human);
    a.turns.start();
    a.turns.agentSpeechStart();
    a.turns.agentSpeechEnd();
    a.turns.agentSaid('good morning');
    assert.deepEqual(a.says(), ['Tell me more.'], 'first remaining line without when');
    const b = setup(human, false);
    b.turns.start();
    b.turns.agentSpeechStart();
    b.turns.agentSpeechEnd();
    assert.deepEqual(b.says(), ['Yes, I have a minute.'], 'narrowband: immediately, in order');
  });

  test('after the last line it hangs up; with hangup_after_last_line false it keeps listening', () => {
    const s = setup({ name: 'x', answer_after_ms: 0, lines: [{ say: 'Only line.' }] }, false);
    s.turns.start();
    s.turns.agentSpeechStart();
    s.turns.agentSpeechEnd();
    s.turns.playbackDone();
    assert.deepEqual(s.actions.at(-1), { type: 'hangup', reason: 'last_line' });
    const k = setup({ name: 'x', answer_after_ms: 0, lines: [{ say: 'Only line.' }], hangup_after_last_line: false }, false);
    k.turns.start();
    k.turns.agentSpeechStart();
    k.turns.agentSpeechEnd();
    k.turns.playbackDone();
    k.turns.agentSpeechStart();
    k.turns.agentSpeechEnd();
    assert.equal(k.turns.state, 'listening');
    assert.equal(k.actions.filter((x) => x.type === 'hangup').length, 0);
  });

  test('voicemail: greeting, beep, recording starts after the beep; idle timeout hangs up', () => {
    const s = setup({ name: 'vm', answer_after_ms: 0, greeting: 'Leave a message.', beep: true, record: true, lines: [], hangup_after_last_line: false, idle_hangup_ms: 8000 });
    s.turns.start();
    assert.deepEqual(s.actions, [{ type: 'say', text: 'Leave a message.', kind: 'greeting' }]);
    s.turns.agentSpeechStart(); // the agent talking over the greeting is ignored
    s.turns.playbackDone();
    assert.deepEqual(s.actions.at(-1), { type: 'beep', hz: 1000, ms: 400 });
    s.turns.playbackDone();
    assert.deepEqual(s.actions.at(-1), { type: 'start_recording' });
    s.turns.agentSpeechStart();
    s.clock.advance(20_000);
    assert.equal(s.actions.filter((x) => x.type === 'hangup').length, 0, 'no idle timeout while the agent speaks');
    s.turns.agentSpeechEnd();
    s.clock.advance(1500);
    assert.equal(s.turns.state, 'listening');
    s.clock.advance(7999);
    assert.equal(s.actions.filter((x) => x.type === 'hangup').length, 0);
    s.clock.advance(1);
    assert.deepEqual(s.actions.at(-1), { type: 'hangup', reason: 'agent_idle' });
  });

  test('hangup_after_ms hangs up mid-greeting; stop() silences everything', () => {
    const s = setup({ name: 'h', answer_after_ms: 0, lines: [], hangup_after_ms: 1500 });
    s.turns.start();
    s.turns.agentSpeechStart();
    s.clock.advance(1499);
    assert.deepEqual(s.actions, []);
    s.clock.advance(1);
    assert.deepEqual(s.actions, [{ type: 'hangup', reason: 'hangup_after_ms' }]);
    const t = setup(human);
    t.turns.start();
    t.turns.stop();
    t.turns.agentSpeechStart();
    t.turns.agentSpeechEnd();
    t.turns.agentSaid('minute');
    t.clock.advance(60_000);
    assert.deepEqual(t.actions, []);
  });

  test('interrupter: talks after after_agent_speech_ms of agent speech, without waiting for silence', () => {
    const s = setup({ name: 'i', answer_after_ms: 0, interrupt: { after_agent_speech_ms: 800 }, lines: [{ say: 'Who is this?' }, { say: 'Bye.', then: 'hangup' }] });
    s.turns.start();
    s.turns.agentSpeechStart();
    s.clock.advance(799);
    assert.deepEqual(s.says(), []);
    s.clock.advance(1);
    assert.deepEqual(s.says(), ['Who is this?']);
    s.turns.agentSpeechEnd(); // the agent stopped (it yielded): nothing more from us until our line ends
    s.turns.playbackDone();
    s.turns.agentSpeechStart();
    s.turns.agentSpeechEnd(); // a short agent turn: before the interrupt fires, the normal turn end answers
    s.turns.agentSaid('sorry');
    assert.deepEqual(s.says(), ['Who is this?', 'Bye.']);
    s.turns.playbackDone();
    assert.deepEqual(s.actions.at(-1), { type: 'hangup', reason: 'line_says_hangup' });
  });
});

describe('persona turn-taking: overlap', () => {
  test('an agent turn that started while the persona talked is answered when it ends', () => {
    const s = setup(human, false);
    s.turns.start();
    s.turns.agentSpeechStart();
    s.turns.agentSpeechEnd();
    assert.deepEqual(s.says(), ['Yes, I have a minute.']);
    s.turns.agentSpeechStart(); // the agent starts before our line ends
    s.turns.playbackDone();
    assert.equal(s.turns.state, 'agent_speaking');
    s.clock.advance(30_000);
    assert.equal(s.actions.filter((x) => x.type === 'hangup').length, 0, 'no idle hang-up while the agent talks');
    s.turns.agentSpeechEnd();
    assert.deepEqual(s.says(), ['Yes, I have a minute.', 'Tell me more.']);
  });
});
