import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sttConformance, collectEvents } from './conformance/stt.js';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { featParamsText, PocketsphinxStt } from '../../src/providers/stt/pocketsphinx.js';
import { skipReason } from '../helpers/require-tool.js';
import { ProviderError } from '../../src/providers/errors.js';
import { PocketsphinxOutputParser } from '../../src/providers/stt/pocketsphinx-output.js';
import { audibleBounds, concat, fliteSpeech, silence, toFrames } from './conformance/audio.js';
import type { SttEvent } from '../../src/providers/stt/types.js';

const skip = skipReason('pocketsphinx_continuous') || skipReason('flite');

sttConformance('pocketsphinx', () => new PocketsphinxStt(), { skip, unsupportedRate: 24000 });
// Narrowband legs: the 8 kHz model from soundswallower (the same suite, audio resampled to 8 kHz).
sttConformance('pocketsphinx 8 kHz', () => new PocketsphinxStt(), { skip, sampleRate: 8000 });


const RATE = 16000;

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(cond: () => boolean, guardMs: number): Promise<boolean> {
  const until = Date.now() + guardMs;
  while (!cond()) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

test('output parser: utterances from split chunks, with log lines, fillers and alternate pronunciations', () => {
  const out =
    'INFO: continuous.c(123): ready\nhello my name is john\n<s> 5.980 6.070 1.000000\nhello(2) 6.080 6.380 0.999900\n' +
    '<sil> 6.38 6.40 1.0\nmy 6.390 6.570 0.5\n[NOISE] 6.6 6.7 0.9\njohn 6.960 7.480 0.980981\n</s> 7.490 7.800 1.000000\n' +
    '\n<s> 8.0 8.1 1.0\n</s> 8.1 8.5 1.0\nyes 9.000 9.400 0.9\n';
  const p = new PocketsphinxOutputParser();
  const got = [];
  // Cut at every 7 bytes: lines and numbers split across chunks must not matter.
  for (let i = 0; i < out.length; i += 7) got.push(...p.push(out.slice(i, i + 7)));
  assert.equal(got.length, 1, 'the empty utterance (only markers) is dropped; the last is still open');
  assert.equal(got[0]?.text, 'hello my name is john');
  assert.deepEqual(got[0]?.words.map((w) => w.word), ['hello', 'my', 'john']);
  assert.deepEqual([got[0]?.words[0]?.startS, got[0]?.words[2]?.endS], [6.08, 7.48]);
  assert.equal(p.hasPending, true);
  // An utterance without a hypothesis line or `</s>` is settled by flush(), its text from its words.
  const rest = p.flush();
  assert.deepEqual(rest.map((u) => u.text), ['yes']);
  assert.equal(p.hasPending, false);
});

test('two utterances give two finals, in order, each timed near its own speech', { skip }, async () => {
  const a = await fliteSpeech('please confirm my appointment on tuesday');
  const b = await fliteSpeech('hello my name is john');
  const gapMs = 1500;
  const lead = 500;
  const s = new PocketsphinxStt().start({ sampleRate: RATE });
  for (const f of toFrames(concat(silence(lead, RATE), a, silence(gapMs, RATE), b, silence(1000, RATE)), RATE)) s.push(f);
  s.end();
  const finals = (await collectEvents(s, 30_000)).filter((e): e is Extract<SttEvent, { type: 'final' }> => e.type === 'final');
  assert.equal(finals.length, 2, JSON.stringify(finals));
  const onsetB = lead + a.length / 16 + gapMs + audibleBounds(b, RATE).onsetMs;
  assert.match(finals[1]?.text ?? '', /name/);
  assert.ok(Math.abs((finals[1]?.startMs ?? 0) - onsetB) <= 400, `second startMs ${finals[1]?.startMs} vs ${onsetB}`);
  assert.ok((finals[0]?.endMs ?? Infinity) < (finals[1]?.startMs ?? 0), 'ordered, not overlapping');
});

test('the engine dying mid-stream is a typed, non-retryable error, then closed', { skip }, async () => {
  const s = new PocketsphinxStt().start({ sampleRate: RATE });
  const pid = s.pid;
  assert.ok(pid !== undefined);
  s.push(new Int16Array(320));
  const reading = collectEvents(s, 30_000);
  await new Promise((r) => setTimeout(r, 300));
  process.kill(pid, 'SIGKILL');
  const events = await reading;
  s.push(new Int16Array(320)); // pushing into a dead stream is ignored, not thrown
  assert.deepEqual(events.map((e) => e.type), ['error', 'closed']);
  const err = events[0]?.type === 'error' ? events[0].error : undefined;
  assert.ok(err instanceof ProviderError);
  assert.equal(err.code, 'provider_failed');
  assert.equal(err.retryable, false);
  assert.match(err.message, /SIGKILL/);
  assert.ok(await waitUntil(() => !groupAlive(pid), 5000), 'the helper cat is gone too');
});

test('aborting kills the engine and its helper process', { skip }, async () => {
  const ac = new AbortController();
  const s = new PocketsphinxStt().start({ sampleRate: RATE, signal: ac.signal });
  const pid = s.pid;
  assert.ok(pid !== undefined);
  const reading = collectEvents(s, 30_000);
  for (const f of toFrames(await fliteSpeech('please confirm my appointment on tuesday'), RATE)) s.push(f);
  await new Promise((r) => setTimeout(r, 500)); // past model loading: the engine is decoding
  assert.ok(groupAlive(pid));
  ac.abort();
  assert.deepEqual((await reading).map((e) => e.type), ['closed']);
  assert.ok(await waitUntil(() => !groupAlive(pid), 5000), `process group ${pid} still alive after closed`);
});

test('a missing engine is provider_unavailable, not retryable', async () => {
  const s = new PocketsphinxStt({ binary: '/nonexistent/pocketsphinx_continuous' }).start({ sampleRate: RATE });
  s.push(new Int16Array(320));
  const events = await collectEvents(s, 10_000);
  assert.deepEqual(events.map((e) => e.type), ['error', 'closed']);
  const err = events[0]?.type === 'error' ? events[0].error : undefined;
  assert.equal(err?.code, 'provider_unavailable');
  assert.equal(err?.retryable, false);
});

test('rates other than 8 and 16 kHz, and non-English legs, are refused with clear reasons', () => {
  const stt = new PocketsphinxStt();
  assert.deepEqual(stt.capabilities.sampleRates, [8000, 16000]);
  assert.throws(() => stt.start({ sampleRate: 11025 }), (e: unknown) => e instanceof ProviderError && e.code === 'unsupported_audio' && /8 kHz .* or 16 kHz .* not 11025 Hz/.test(e.message));
  assert.throws(() => stt.start({ sampleRate: 16000, language: 'fr-FR' }), (e: unknown) => e instanceof ProviderError && e.code === 'provider_bad_request');
});

test('8 kHz: a missing narrowband model is provider_unavailable at start, naming the file', () => {
  const stt = new PocketsphinxStt({ narrowbandModelDir: '/nonexistent/model/en-us' });
  assert.throws(() => stt.start({ sampleRate: 8000 }), (e: unknown) => e instanceof ProviderError && e.code === 'provider_unavailable' && /nonexistent\/model\/en-us\/feat_params\.json/.test(e.message));
});

test('feat_params.json becomes the text feat.params the engine reads (booleans yes/no, nothing else injected)', () => {
  const text = featParamsText({ lowerf: 130, upperf: 3700, transform: 'dct', varnorm: false, remove_noise: true, 'bad key': 1, svspec: '0-12/13-25/26-38', evil: 'a -lm x' });
  assert.equal(text, '-lowerf 130\n-upperf 3700\n-transform dct\n-varnorm no\n-remove_noise yes\n-svspec 0-12/13-25/26-38\n');
});

test('8 kHz: feat.params is written once into a private cache dir, which must be ours and not group/world-writable', { skip }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ps8k-'));
  try {
    const cache = join(dir, 'cache');
    const s = new PocketsphinxStt({ cacheDir: cache }).start({ sampleRate: 8000 });
    s.end();
    await collectEvents(s, 30_000);
    const files = await readdir(cache);
    assert.equal(files.length, 1, files.join());
    assert.match(await readFile(join(cache, files[0]!), 'utf8'), /^-lowerf 130\n-upperf 3700\n/);
    assert.equal((await stat(cache)).mode & 0o777, 0o700);
    const open = join(dir, 'open');
    await mkdir(open, { mode: 0o777 });
    await chmod(open, 0o777);
    assert.throws(() => new PocketsphinxStt({ cacheDir: open }).start({ sampleRate: 8000 }), (e: unknown) => e instanceof ProviderError && e.code === 'provider_unavailable' && /not a private directory/.test(e.message));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
