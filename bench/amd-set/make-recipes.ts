// Command: node --import tsx bench/amd-set/make-recipes.ts   (writes bench/amd-set/recipes.json)
//
// Draws the labelled answering-machine set's recipes from the lists below with a seeded generator, so
// the committed recipes.json can be remade exactly. The set is the recipes, not audio: generate.ts
// renders each to PCM in memory (TTS, tones, G.711, line noise).
import { writeFileSync } from 'node:fs';
import { rng } from '../../test/fixtures/amd/synth.js';
import type { AmdClass, Part, Recipe } from './generate.js';

const r = rng(17);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
const between = (lo: number, hi: number) => Math.round(lo + r() * (hi - lo));

const VOICES = ['flite:kal16', 'flite:slt', 'flite:rms', 'flite:awb', 'espeak:en-us', 'espeak:en-us+f3', 'espeak:en-gb', 'espeak:en-us+m3'];

const HUMAN_SHORT = [
  'Hello?', 'Yeah?', 'Hello.', 'Hi.', 'Yes?', 'This is Sam.', 'Hello, this is Sam.', 'Sam speaking.', "Hi, who's this?", 'Good afternoon.',
  'Hello, Maria speaking.', 'Yeah, hello?', 'Hey.', 'Hello, who is calling?',
];
const HUMAN_LONG = [
  "Hello, Doctor Lee's office, Maria speaking, how can I help you?",
  'Good morning, Acme Plumbing, this is Dave, what can I do for you?',
];
const HUMAN_SECOND = ['Hello?', 'Anyone there?', 'Hello? Can you hear me?', 'Who is this?'];

const GREETINGS = [
  "Hi, you've reached Sam. I can't come to the phone right now. Please leave a message after the tone.",
  "Hello, this is Maria. Sorry I missed your call. Leave your name and number and I'll call you back.",
  'The person you are calling is not available. Please leave a message after the tone.',
  'You have reached the voicemail of John Smith. Please leave a message.',
  'Thank you for calling Acme Dental. Our office is currently closed. Please leave a message and we will return your call.',
  "Hey, this is Alex, I'm away from my phone right now. Leave a voicemail and I'll get back to you.",
  'Hello. You have reached five five five, one two three four. No one is available to take your call. Please leave a message after the beep.',
  "Hi! Sorry we can't take your call right now. Leave a message and we'll get back to you as soon as we can. Thanks!",
  'The subscriber you have dialed is not available. Please record your message after the tone. When you have finished recording, you may hang up.',
  "Hi, it's Dave. I'm not here. Leave a message.",
];
/** Debian asterisk-core-sounds-en-wav (Allison Smith, CC-BY-SA-3.0): real recorded voicemail prompts. */
const ASTERISK_GREETINGS: string[][] = [
  ['vm-theperson', 'digits/4', 'digits/2', 'digits/7', 'vm-isunavail', 'vm-intro'],
  ['vm-nobodyavail', 'vm-intro'],
  ['vm-theperson', 'digits/1', 'digits/0', 'digits/1', 'vm-isonphone', 'vm-intro'],
];
/** Google's Call Screen and iOS 26's call screening, as they speak. */
const SCREENING = [
  "Hi, the person you're calling is using a screening service from Google, and will get a copy of this conversation. Go ahead and say your name and why you're calling.",
  "Hi, if you record your name and reason for calling, I'll see if this person is available.",
];
const INTERCEPT = [
  'The number you have dialed is not in service. Please check the number and try again.',
  'We are sorry, your call cannot be completed as dialed. Please check the number and dial again.',
  'The number you have reached has been disconnected or is no longer in service.',
];
const BEEP_HZ = [440, 500, 600, 850, 1000, 1200, 1400, 1800, 2000, 2100];
const BEEP_MS = [100, 150, 250, 500, 1000];

const line = () => ({ codec: pick(['mulaw', 'alaw'] as const), snrDb: pick([35, 25, 15]), gainDb: between(-6, 4) });
const recipes: Recipe[] = [];
const add = (cls: AmdClass, parts: Part[], talkative = false) =>
  recipes.push({ id: `${cls}-${String(recipes.filter((x) => x.cls === cls).length + 1).padStart(2, '0')}`, cls, parts, ...line(), ...(talkative ? { talkative } : {}) });

for (let i = 0; i < 60; i++) {
  const lead: Part = { silence: between(250, 1500) };
  if (i % 12 === 11) {
    add('human', [lead, { play: ['hello'] }, { silence: between(2500, 4000) }]);
    continue;
  }
  const voice = pick(VOICES);
  const talkative = i % 10 === 9;
  const text = talkative ? pick(HUMAN_LONG) : pick(HUMAN_SHORT);
  const parts: Part[] = [lead, { say: text, voice }];
  if (r() < 0.35) parts.push({ silence: between(1200, 2200) }, { say: pick(HUMAN_SECOND), voice });
  parts.push({ silence: between(2500, 4000) });
  add('human', parts, talkative);
}
const greeting = (): Part => (r() < 0.15 ? { play: pick(ASTERISK_GREETINGS) } : { say: pick(GREETINGS), voice: pick(VOICES) });
for (let i = 0; i < 60; i++) {
  add('machine_with_beep', [{ silence: between(150, 900) }, greeting(), { silence: between(150, 700) }, { tone: pick(BEEP_HZ), ms: pick(BEEP_MS), beep: true }, { silence: 3000 }]);
}
for (let i = 0; i < 45; i++) add('machine_without_beep', [{ silence: between(150, 900) }, greeting(), { silence: 4000 }]);
for (let i = 0; i < 15; i++) add('screening', [{ silence: between(200, 800) }, { say: pick(SCREENING), voice: pick(VOICES) }, { silence: 3000 }]);
for (let i = 0; i < 15; i++) {
  const msg: Part = i % 5 === 4 ? { play: ['ss-noservice'] } : { say: pick(INTERCEPT), voice: pick(VOICES) };
  add('intercept', [{ silence: between(100, 600) }, { sit: r() < 0.5 ? 'low' : 'high' }, { silence: between(100, 300) }, msg, { silence: 1500 }]);
}
for (let i = 0; i < 12; i++) {
  add('fax', i % 2 === 0 ? [{ silence: between(200, 1500) }, { cng: 3 }] : [{ silence: between(100, 500) }, { ced: between(2600, 4000) }, { silence: 1000 }]);
}

// Round 2 (words decide the hard cases): more talkative people and screening assistants, drawn from
// their own generator so the recipes above stay as they were. One talkative answer says none of the
// human phrases: only audio judges it, and it is called a machine (a known limit, kept in the set).
const r2 = rng(1702);
const pick2 = <T>(xs: readonly T[]): T => xs[Math.floor(r2() * xs.length)] as T;
const TALKATIVE = [
  "Hello, Doctor Lee's office, Maria speaking, how can I help you?",
  'Good morning, Acme Plumbing, this is Dave, what can I do for you?',
  'Hi, thanks for calling Sunrise Bakery, this is Jen, how may I help you?',
  'Good afternoon, City Dental, front desk, how can I help you today?',
  'Hello, this is Tom Baker speaking, who is calling please?',
  "Yeah, hi, this is Sam, I'm driving right now so make it quick.",
];
for (let i = 0; i < 12; i++) {
  add('human', [{ silence: Math.round(250 + r2() * 1000) }, { say: TALKATIVE[i % TALKATIVE.length] as string, voice: pick2(VOICES) }, { silence: Math.round(2500 + r2() * 1500) }], true);
}
for (let i = 0; i < 10; i++) add('screening', [{ silence: Math.round(200 + r2() * 600) }, { say: SCREENING[i % 2] as string, voice: pick2(VOICES) }, { silence: 3000 }]);

writeFileSync(new URL('./recipes.json', import.meta.url), `${JSON.stringify(recipes, null, 0).replace(/\},\{"id"/g, '},\n{"id"')}\n`);
console.log(`${recipes.length} recipes`);
