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

test('what people say when they answer matches no machine phrase; what only a person says matches the human list', () => {
  for (const t of ['Hello?', 'Yeah?', 'This is Sam.', 'Hi, this is Sam.', 'Good afternoon.']) assert.deepEqual(findPhrases(t), [], t);
  for (const t of ["Hello, Doctor Lee's office, Maria speaking, how can I help you?", 'Hi, who is this?', 'Hello, Sam speaking.', 'Acme Plumbing, what can I do for you?', 'Front desk, may I help you?']) {
    assert.deepEqual(classes(t), ['human'], t);
  }
  // Greetings never say them (nor does a screening assistant or an IVR).
  for (const t of ["Hi, this is Sam. I can't come to the phone right now.", 'Thank you for calling Acme Dental. Our office is currently closed.', 'Hi, if you record your name and reason for calling, I\'ll see if this person is available.']) {
    assert.ok(!classes(t).includes('human'), t);
  }
});

test('recognizer garbage around "to ... to" is no IVR (pocketsphinx heard a talkative person as "something to eat to do it")', () => {
  assert.deepEqual(findPhrases("it's the old this is something to eat to do it all the league"), []);
  assert.deepEqual(classes('To speak with a representative, stay on the line.'), ['ivr']);
});

test('"thank you for calling" decides nothing: business greetings and receptionists say it as well as IVRs', () => {
  assert.deepEqual(findPhrases('Thank you for calling Acme Dental.'), []);
});

test('a negation is never the word a match may drop: "is available" is not "is not available"', () => {
  assert.equal(containsPhrase(normalize("I'll see if this person is available"), normalize('is not available')), false);
  assert.equal(containsPhrase(normalize('is now not available'), normalize('is not available')), true);
  assert.deepEqual(classes("Hi, if you record your name and reason for calling, I'll see if this person is available."), ['screening']);
});

test('two-word phrases must match exactly, and the first and last words must be heard', () => {
  assert.equal(containsPhrase(normalize('press won'), normalize('press one')), false);
  assert.equal(containsPhrase(normalize('leave a massage'), normalize('leave a message')), false);
  assert.equal(containsPhrase(normalize('is not in service'), normalize('is not available')), false);
  assert.equal(containsPhrase(normalize('we leave a message'), normalize('leave a message')), true);
});

test('a negation is never dropped nor gained by the fuzzy match: "the person is not available" is a voicemail, not the screening "person is available"', () => {
  assert.deepEqual(findPhrases('the person you are calling is not available').map((h) => h.cls).filter((c) => c === 'screening'), []);
  assert.ok(findPhrases('the person you are calling is not available').some((h) => h.cls === 'voicemail'));
  assert.deepEqual(findPhrases('stay on the line while i see if that person is available').map((h) => h.cls), ['screening', 'screening']);
});
