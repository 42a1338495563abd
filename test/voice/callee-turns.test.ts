import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { CalleeTurns, FINAL_COVERS_SLACK_MS } from '../../src/voice/callee-turns.js';

test('speech end then final: one utterance, timed from the speech, with the STT lag', () => {
  const c = new CalleeTurns();
  c.speechStart(1000, 500);
  assert.equal(c.speechMs(700), 200);
  assert.equal(c.speechEnd(1600), undefined, 'no words yet');
  assert.deepEqual(c.final('yes please', 1650), { text: 'yes please', startMs: 1000, endMs: 1600, sttFinalMs: 50 });
  assert.equal(c.speechMs(900), 0, 'silent again');
});

test('final while still speaking waits for the speech end, and finals of one turn are joined', () => {
  const c = new CalleeTurns();
  c.speechStart(0, 0);
  assert.equal(c.final('I would like', 300), undefined);
  assert.equal(c.final('to book', 500), undefined);
  assert.deepEqual(c.speechEnd(600), { text: 'I would like to book', startMs: 0, endMs: 600, sttFinalMs: 0 });
});

test('a pause inside a turn keeps the first start; an empty final is not a turn', () => {
  const c = new CalleeTurns();
  c.speechStart(100, 0);
  c.speechEnd(400);
  assert.equal(c.final('  ', 420), undefined);
  c.speechStart(500, 400);
  assert.deepEqual(c.final('hello', 900) ?? c.speechEnd(1000), { text: 'hello', startMs: 100, endMs: 1000, sttFinalMs: 0 });
});

test('a final that stops short of the speech end waits for the rest: one sentence split by the recognizer is one turn', () => {
  const c = new CalleeTurns();
  c.speechStart(0, 0);
  // The recognizer ends "yes" at the comma (audio 600 ms); the VAD hears one segment to 2000 ms.
  assert.equal(c.final('yes', 900, 600), undefined, 'still speaking');
  assert.equal(c.speechEnd(2400, 2000), undefined, 'the words stop 1400 ms before the speech does');
  assert.equal(c.waiting, true);
  assert.deepEqual(c.final('i have a minute', 2500, 1950), { text: 'yes i have a minute', startMs: 0, endMs: 2400, sttFinalMs: 100 });
  assert.equal(c.waiting, false);
});

test('a final within the slack of the speech end covers it', () => {
  const c = new CalleeTurns();
  c.speechStart(0, 0);
  c.speechEnd(1500, 1000);
  assert.equal(c.final('hello', 1600, 1000 - FINAL_COVERS_SLACK_MS - 1), undefined, 'just past the slack: not yet');
  const d = new CalleeTurns();
  d.speechStart(0, 0);
  d.speechEnd(1500, 1000);
  assert.deepEqual(d.final('hello', 1600, 1000 - FINAL_COVERS_SLACK_MS), { text: 'hello', startMs: 0, endMs: 1500, sttFinalMs: 100 });
});

test('settle() takes the words held when the rest never comes; an empty final with times settles the audio', () => {
  const c = new CalleeTurns();
  c.speechStart(0, 0);
  c.final('yes', 700, 500);
  c.speechEnd(2000, 1800);
  assert.deepEqual(c.settle(), { text: 'yes', startMs: 0, endMs: 2000, sttFinalMs: 0 });
  assert.equal(c.settle(), undefined, 'nothing held any more');

  const d = new CalleeTurns();
  d.speechStart(0, 0);
  d.final('yes', 700, 500);
  d.speechEnd(2000, 1800);
  assert.deepEqual(d.final(' ', 2100, 1800), { text: 'yes', startMs: 0, endMs: 2000, sttFinalMs: 0 }, 'the noise after "yes" held no words');
});

test('settle() while the callee speaks again takes nothing', () => {
  const c = new CalleeTurns();
  c.speechStart(0, 0);
  c.final('yes', 700, 500);
  c.speechEnd(2000, 1800);
  c.speechStart(2100, 2100);
  assert.equal(c.settle(), undefined);
});
