import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { CalleeTurns } from '../../src/voice/callee-turns.js';

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
