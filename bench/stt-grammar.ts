/**
 * Grammar-mode recognition (soundswallower from npm): word error rate and CPU on a closed set, at
 * 8 kHz and through G.711 mu-law, the way a flow agent or a sandbox persona hears a phone call.
 *
 *   node --import tsx bench/stt-grammar.ts
 *
 * The closed set: short phone answers and prompts. The grammar is what the dialogue expects (every
 * sentence of the set as a phrase), plus the base words, digits and filler loop of
 * src/providers/stt/grammar.ts. Speech is flite's `slt` voice (Debian flite, for the audio only),
 * resampled to 8 kHz, optionally mu-law encoded and decoded, each utterance with 300 ms of silence
 * around it, pushed in 20 ms frames through the provider's own endpointer and decoding thread.
 * Also: keyword accuracy, the share of utterances whose yes/no keyword is heard right when the
 * grammar holds only a flow's branch keywords (the demo agent's case).
 */
import { SoundswallowerStt } from '../src/providers/stt/soundswallower.js';
import { decodeMuLaw, encodeMuLaw } from '../src/media/g711.js';
import { phraseWords } from '../src/providers/stt/grammar.js';
import { atRate, concat, fliteSpeech, silence, toFrames } from '../test/providers/conformance/audio.js';

const CLOSED_SET = [
  'yes i have a minute', 'no i am busy right now', 'yes please', 'no thank you', 'sure go ahead', 'okay that works for me',
  'please call me back tomorrow', 'i would like to cancel my appointment', 'my number is five five five one two three four',
  'the appointment is on tuesday', 'can you repeat that please', 'i am not interested', 'yes that is correct', 'no that is wrong',
  'please hold for a moment', 'thank you goodbye', 'seven eight nine zero', 'i need to speak to a person', 'what time is it',
  'yes i will be there', 'no i cannot make it', 'call me later this week', 'that sounds good', 'sorry i did not catch that',
  'hello who is this', 'can we do friday instead', 'four thirty in the afternoon', 'transfer me to billing', 'yes i confirm',
  'no please stop calling',
];
const YES_NO = [
  ['Yes, I have a minute.', 'yes'], ['No, I am busy right now.', 'no'], ['Yeah, sure.', 'yeah'], ['Sure, go ahead.', 'sure'],
  ['Okay.', 'okay'], ['No thanks.', 'no'], ['Yes please, that sounds good.', 'yes'], ['I am busy.', 'busy'],
  ['Well, maybe later this afternoon.', ''], ['Who is calling?', ''],
] as const;
const KEYWORDS = ['yes', 'yeah', 'sure', 'okay', 'no', 'busy'];
const VERBOSE = process.argv.includes('--verbose');

function editDistance(a: string[], b: string[]): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length] as number;
}

async function hear(stt: SoundswallowerStt, pcm: Int16Array, vocabulary: string[]): Promise<string> {
  const s = stt.start({ sampleRate: 8000, vocabulary });
  for (const f of toFrames(concat(silence(300, 8000), pcm, silence(600, 8000)), 8000)) s.push(f);
  s.end();
  const out: string[] = [];
  for await (const e of s) if (e.type === 'final') out.push(e.text);
  return out.join(' ');
}

/** CPU of this process and its threads (the decoding thread included). */
const cpuS = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const stt = new SoundswallowerStt();
await hear(stt, atRate(await fliteSpeech('hello'), 8000), CLOSED_SET); // load the thread, module and grammar first
const rows: string[] = [];
for (const path of ['8 kHz', 'mu-law'] as const) {
  let errors = 0;
  let words = 0;
  let audioS = 0;
  const c0 = cpuS();
  for (const text of CLOSED_SET) {
    let pcm = atRate(await fliteSpeech(text), 8000);
    if (path === 'mu-law') pcm = decodeMuLaw(encodeMuLaw(pcm));
    audioS += pcm.length / 8000 + 0.9;
    const ref = phraseWords(text);
    const got = phraseWords(await hear(stt, pcm, CLOSED_SET));
    errors += editDistance(ref, got);
    words += ref.length;
    if (VERBOSE && editDistance(ref, got) > 0) console.error(`${path} phrases : "${ref.join(' ')}" -> "${got.join(' ')}"`);
  }
  const cpu = cpuS() - c0;
  let right = 0;
  let keywordErrors = 0;
  let keywordWords = 0;
  for (const [text, want] of YES_NO) {
    let pcm = atRate(await fliteSpeech(text), 8000);
    if (path === 'mu-law') pcm = decodeMuLaw(encodeMuLaw(pcm));
    const heard = phraseWords(await hear(stt, pcm, KEYWORDS));
    const first = heard.find((w) => KEYWORDS.includes(w)) ?? '';
    if (first === want) right++;
    keywordErrors += editDistance(phraseWords(text), heard);
    keywordWords += phraseWords(text).length;
    if (VERBOSE) console.error(`${path} keywords: "${phraseWords(text).join(' ')}" -> "${heard.join(' ')}"`);
  }
  rows.push(
    `| ${path} | ${CLOSED_SET.length} | ${words} | ${((100 * errors) / words).toFixed(1)} % | ${(cpu / audioS).toFixed(3)} | ${right}/${YES_NO.length} | ${((100 * keywordErrors) / keywordWords).toFixed(1)} % |`,
  );
}
console.log('| audio | sentences | words | WER (closed set) | CPU-s per audio-s | yes/no keyword right | WER of those answers (keywords-only grammar) |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
process.exit(0);
