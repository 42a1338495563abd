import assert from 'node:assert/strict';
import { test } from 'node:test';
import { containsPhrase, findPhrases, normalize } from '../../src/amd/phrases.js';

const classes = (text: string) => [...new Set(findPhrases(text).map((h) => h.cls))].sort();

test('normalize: lower case, punctuation gone, apostrophes (straight or curly) dropped', () => {
  assert.deepEqual(normalize("Hi! You've reached SAM's phone… Can’t talk."), ['hi', 'youve', 'reached', 'sams', 'phone', 'cant', 'talk']);
});

test('voicemail, screening, IVR and intercept phrases are found in recognizer text', () => {
  assert.deepEqual(classes("Hi, you've reached Sam. I can't come to the phone, please leave a message after the tone."), ['voicemail']);
  assert.deepEqual(classes("The person you're calling is using a screening service. Go ahead and say your name and why you're calling."), ['screening']);
  assert.deepEqual(classes('Thank you for calling Acme. For sales, press one.'), ['ivr']);
  assert.deepEqual(classes('We are sorry, the number you have dialed is not in service. Please check the number and dial again.'), ['intercept']);
});

test('recognizer noise: one wrong, missing or extra word inside a phrase of three or more still matches', () => {
  assert.equal(containsPhrase(normalize('please leave the message'), normalize('leave a message')), true); // substituted
  assert.equal(containsPhrase(normalize('please leave message now'), normalize('leave a message')), true); // dropped
  assert.equal(containsPhrase(normalize('leave a short message'), normalize('leave a message')), true); // inserted
  assert.equal(containsPhrase(normalize('after a tone'), normalize('after the tone')), true);
});

test('what people say when they answer matches nothing', () => {
  for (const t of ['Hello?', 'Yeah?', 'This is Sam.', "Hello, Doctor Lee's office, Maria speaking, how can I help you?", 'Hi, who is this?', 'Hello, Sam speaking.']) {
    assert.deepEqual(findPhrases(t), [], t);
  }
});

test('two-word phrases must match exactly, and the first and last words must be heard', () => {
  assert.equal(containsPhrase(normalize('press won'), normalize('press one')), false);
  assert.equal(containsPhrase(normalize('leave a massage'), normalize('leave a message')), false);
  assert.equal(containsPhrase(normalize('is not in service'), normalize('is not available')), false);
  assert.equal(containsPhrase(normalize('we leave a message'), normalize('leave a message')), true);
});
