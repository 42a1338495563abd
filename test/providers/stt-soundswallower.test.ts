import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sttConformance, collectEvents } from './conformance/stt.js';
import { SoundswallowerStream, SoundswallowerStt } from '../../src/providers/stt/soundswallower.js';
import { buildGrammar, phraseWords } from '../../src/providers/stt/grammar.js';
import type { SttProvider } from '../../src/providers/stt/types.js';
import { skipReason } from '../helpers/require-tool.js';
import { atRate, concat, fliteSpeech, mix, silence, toFrames, whiteNoise } from './conformance/audio.js';
import { decodeMuLaw, encodeMuLaw } from '../../src/media/g711.js';

// flite makes the test speech; the recognizer itself is npm only.
const skip = skipReason('flite');

/** The conformance sentence is what the dialogue expects here (a grammar recognizer hears a closed set). */
function withVocabulary(p: SttProvider, vocabulary: string[]): SttProvider {
  return { name: p.name, capabilities: p.capabilities, start: (o) => p.start({ ...o, vocabulary }) };
}

const shared = new SoundswallowerStt();
sttConformance('soundswallower 16 kHz', () => withVocabulary(shared, ['please confirm my appointment on tuesday']), { skip, sampleRate: 16000, unsupportedRate: 44100 });
sttConformance('soundswallower 8 kHz', () => withVocabulary(shared, ['please confirm my appointment on tuesday']), { skip, sampleRate: 8000 });

async function hear(stt: SttProvider, pcm: Int16Array, rate: number, vocabulary: string[]): Promise<string> {
  const s = stt.start({ sampleRate: rate, vocabulary });
  for (const f of toFrames(concat(silence(300, rate), pcm, silence(800, rate)), rate)) s.push(f);
  s.end();
  const events = await collectEvents(s, 30_000);
  assert.deepEqual(events.filter((e) => e.type === 'error'), []);
  return events.flatMap((e) => (e.type === 'final' ? [e.text] : [])).join(' ');
}

test('grammar: keywords, base words and fillers; a filler close to a keyword is left out; unknown words skipped', () => {
  const dict = new Map([
    ['yes', 'Y EH S'], ['best', 'B EH S T'], ['busy', 'B IH Z IY'], ['the', 'DH AH'], ['no', 'N OW'], ['now', 'N AW'], ['well', 'W EH L'], ['maybe', 'M EY B IY'],
  ]);
  const g = buildGrammar(['Busy', 'yes, please-zork'], { lookup: (w) => dict.get(w) ?? null });
  assert.deepEqual([...g.skipped].sort(), ['please', 'zork']);
  assert.ok(g.words.includes('busy') && g.words.includes('yes') && g.words.includes('no'));
  assert.ok(g.words.includes('maybe'), 'a filler far from every keyword stays');
  assert.ok(!g.words.includes('the'), '"the" is two phones from the two-phone "no": left out');
  assert.ok(!g.words.includes('now'), '"now" is one phone from "no": left out');
  assert.ok(!g.words.includes('well') && !g.words.includes('best'), 'two phones from the three-phone "yes": left out');
  assert.match(g.jsgf, /^#JSGF V1\.0;/);
  assert.deepEqual(phraseWords("Yes, I don't -- know!"), ['yes', 'i', "don't", 'know']);
});

test('the human persona\'s answer takes the yes branch and out-of-grammar speech does not become a keyword (8 kHz and mu-law)', { skip }, async () => {
  const stt = new SoundswallowerStt();
  const keywords = ['yes', 'yeah', 'sure', 'okay', 'no', 'busy'];
  const yes = atRate(await fliteSpeech('Yes, I have a minute.'), 8000);
  for (const pcm of [yes, decodeMuLaw(encodeMuLaw(yes))]) {
    const text = await hear(stt, pcm, 8000, keywords);
    assert.match(text, /\byes\b/, `heard "${text}"`);
    assert.doesNotMatch(text, /\b(no|busy)\b/, `heard "${text}"`);
  }
  const other = atRate(await fliteSpeech('Well, maybe later this afternoon.'), 8000);
  const text = await hear(stt, other, 8000, keywords);
  assert.doesNotMatch(text, /\b(yes|yeah|sure|okay)\b/, `heard "${text}"`);
});

test('setVocabulary changes what the next utterance can be heard as', { skip }, async () => {
  const stt = new SoundswallowerStt();
  const line = atRate(await fliteSpeech('Please hold for the billing department.'), 8000);
  const s = stt.start({ sampleRate: 8000, vocabulary: ['yes', 'no'] });
  s.setVocabulary?.(['please hold for the billing department']);
  for (const f of toFrames(concat(silence(300, 8000), line, silence(800, 8000)), 8000)) s.push(f);
  s.end();
  const text = (await collectEvents(s, 30_000)).flatMap((e) => (e.type === 'final' ? [e.text] : [])).join(' ');
  assert.match(text, /billing department/, `heard "${text}"`);
});

test('a phrase with an apostrophe ("you\'re", "can\'t") is heard, not a grammar the decoder refuses', { skip }, async () => {
  const stt = new SoundswallowerStt();
  const g = buildGrammar(["why you're calling", "can't come to the phone"], { lookup: () => 'AH' });
  assert.match(g.jsgf, /\(why you're calling\)/, 'apostrophe words are plain tokens (a quoted one keeps its quotes in the decoder)');
  const line = atRate(await fliteSpeech("Please say why you're calling."), 8000);
  const text = await hear(stt, line, 8000, ["why you're calling", "can't come to the phone"]);
  assert.match(text, /why you're calling/, `heard "${text}"`);
});

test('overFloorDb: on a line with hiss the utterance ends with the speech, not with the hiss; partials come while it goes on, with their audio times', { skip }, async () => {
  const line = atRate(await fliteSpeech('Please leave a message after the tone. We will call you back.'), 8000);
  const lead = 1000;
  const speech = concat(silence(lead, 8000), line, silence(2500, 8000));
  // White noise at -45 dBFS: over the fixed -45 dBFS threshold about half the time.
  const noisy = mix(speech, whiteNoise(speech.length / 8, 8000, -42, 3));
  const vocabulary = ['leave a message', 'call you back'];
  const run = async (stt: SoundswallowerStt) => {
    const st = stt.start({ sampleRate: 8000, vocabulary });
    for (const f of toFrames(noisy, 8000)) {
      st.push(f);
      // As live: a partial decode is done before much more audio comes.
      while (st instanceof SoundswallowerStream && st.partialPending) await new Promise((r) => setTimeout(r, 1));
    }
    st.end();
    return collectEvents(st, 60_000);
  };
  const floor = await run(new SoundswallowerStt({ overFloorDb: 9, partialEveryMs: 500 }));
  const finals = floor.flatMap((e) => (e.type === 'final' ? [e] : []));
  const speechEnd = lead + line.length / 8;
  assert.ok(finals.length >= 1, JSON.stringify(floor));
  assert.ok(finals.every((f) => f.endMs <= speechEnd + 400), `every utterance ends with the speech (${speechEnd} ms): ${JSON.stringify(finals)}`);
  assert.match(finals.map((f) => f.text).join(' '), /leave/, 'the words are decoded (accuracy on noise is not what this checks)');
  const partials = floor.flatMap((e) => (e.type === 'partial' ? [e] : []));
  assert.ok(partials.length >= 1, 'partials while the speech goes on');
  assert.ok(partials.every((p) => p.startMs !== undefined && p.endMs !== undefined && p.endMs > p.startMs && p.endMs <= speechEnd + 400), JSON.stringify(partials));
  // The fixed threshold alone takes the hiss for speech: the utterance runs past the speech into it.
  const fixed = (await run(new SoundswallowerStt())).flatMap((e) => (e.type === 'final' ? [e] : []));
  assert.ok(fixed.some((f) => f.endMs > speechEnd + 1000), `without the floor the hiss is speech: ${JSON.stringify(fixed)}`);
});

test('a language other than English is refused at start', () => {
  assert.throws(() => new SoundswallowerStt().start({ sampleRate: 8000, language: 'fr-FR' }), /US English/);
});
