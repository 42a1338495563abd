import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ProviderError } from '../../src/providers/errors.js';
import type { SharedCooldowns } from '../../src/providers/fallback/cooldowns.js';
import { FallbackLlm, FallbackStt, FallbackTts, type FallbackSwitch } from '../../src/providers/fallback/index.js';
import { AnthropicLlm } from '../../src/providers/llm/anthropic.js';
import { ProviderRateLimitedError } from '../../src/providers/llm/http-errors.js';
import { OpenAiCompatibleLlm } from '../../src/providers/llm/openai-compatible.js';
import type { LlmChatRequest, LlmEvent, LlmProvider } from '../../src/providers/llm/types.js';
import { SttEventQueue } from '../../src/providers/stt/event-queue.js';
import type { SttEvent, SttProvider, SttStartOptions, SttStream } from '../../src/providers/stt/types.js';
import type { TtsProvider, TtsRequest } from '../../src/providers/tts/types.js';
import { AnthropicProtocolServer } from '../helpers/anthropic-protocol-server.js';
import { OpenAiProtocolServer } from '../helpers/openai-protocol-server.js';
import { flush, VirtualClock } from '../helpers/virtual-clock.js';

type Step<T> = { items: T[]; fail?: ProviderError } | { hang: true };

/** A provider kind's fake: each request plays the next scripted step; records what happened to it. */
class Script<T> {
  calls = 0;
  aborted = 0;
  closedEarly = 0;
  constructor(private readonly steps: Array<Step<T>>) {}
  async *play(signal: AbortSignal | undefined): AsyncGenerator<T> {
    const step = this.steps[Math.min(this.calls++, this.steps.length - 1)] as Step<T>;
    let complete = false;
    try {
      if ('hang' in step) {
        await new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve(), { once: true }));
        this.aborted++;
        complete = true;
        return;
      }
      for (const item of step.items) {
        await Promise.resolve();
        if (signal?.aborted) {
          this.aborted++;
          complete = true;
          return;
        }
        yield item;
      }
      complete = true;
      if (step.fail) throw step.fail;
    } finally {
      if (!complete) this.closedEarly++;
    }
  }
}

class FakeLlm implements LlmProvider {
  readonly capabilities: LlmProvider['capabilities'];
  readonly script: Script<LlmEvent>;
  constructor(readonly name: string, steps: Array<Step<LlmEvent>>, caps = { streaming: true, toolCalls: true }) {
    this.script = new Script(steps);
    this.capabilities = caps;
  }
  chat(req: LlmChatRequest): AsyncIterable<LlmEvent> {
    return this.script.play(req.signal);
  }
}

class FakeTts implements TtsProvider {
  readonly script: Script<Int16Array>;
  constructor(readonly name: string, steps: Array<Step<Int16Array>>, readonly capabilities = { streaming: true, nativeSampleRates: [8000, 16000] as readonly number[] }) {
    this.script = new Script(steps);
  }
  readonly prepared: number[] = [];
  prepare(req: { sampleRate: number }): void {
    this.prepared.push(req.sampleRate);
  }
  synthesize(req: TtsRequest): AsyncIterable<Int16Array> {
    return this.script.play(req.signal);
  }
}

const text = (t: string): LlmEvent => ({ type: 'text_delta', text: t });
const done: LlmEvent = { type: 'done', finishReason: 'stop' };
const unavailable = () => new ProviderError('provider_unavailable', 'x: HTTP 529: Overloaded', true);
const hi = { messages: [{ role: 'user' as const, content: 'hi' }] };

async function collect<T>(it: AsyncIterable<T>, into: T[] = []): Promise<T[]> {
  for await (const x of it) into.push(x);
  return into;
}

describe('FallbackLlm', () => {
  test('a provider failing before its first event is replaced within the turn, and the switch is reported', async () => {
    const a = new FakeLlm('a', [{ items: [], fail: unavailable() }]);
    const b = new FakeLlm('b', [{ items: [text('Hello'), done] }]);
    const switches: FallbackSwitch[] = [];
    const llm = new FallbackLlm([a, b], { onFallback: (s) => switches.push(s) });
    assert.deepEqual(await collect(llm.chat(hi)), [text('Hello'), done]);
    assert.deepEqual(switches, [{ kind: 'llm', from: 'a', to: 'b', error: { code: 'provider_unavailable', message: 'x: HTTP 529: Overloaded' } }]);
    assert.equal(llm.name, 'a|b');
  });

  test('once output started, an error passes through: the next provider is not asked and nothing is replayed', async () => {
    const a = new FakeLlm('a', [{ items: [text('Half a ')], fail: new ProviderError('provider_failed', 'dropped', true) }]);
    const b = new FakeLlm('b', [{ items: [text('whole sentence'), done] }]);
    const switches: FallbackSwitch[] = [];
    const got: LlmEvent[] = [];
    await assert.rejects(collect(new FallbackLlm([a, b], { onFallback: (s) => switches.push(s) }).chat(hi), got), /dropped/);
    assert.deepEqual(got, [text('Half a ')]);
    assert.equal(b.script.calls, 0);
    assert.deepEqual(switches, []);
  });

  test('a refused key moves on too, and that provider is tried last for the auth cooldown (injected clock)', async () => {
    const clock = new VirtualClock();
    const a = new FakeLlm('a', [{ items: [], fail: new ProviderError('provider_auth_failed', 'bad key', false) }, { items: [text('A'), done] }]);
    const b = new FakeLlm('b', [{ items: [text('B'), done] }]);
    const llm = new FallbackLlm([a, b], { clock, authCooldownMs: 60_000 });
    assert.deepEqual(await collect(llm.chat(hi)), [text('B'), done]);
    assert.deepEqual(await collect(llm.chat(hi)), [text('B'), done], 'next turn starts at b');
    assert.equal(a.script.calls, 1);
    clock.advance(60_000);
    assert.deepEqual(await collect(llm.chat(hi)), [text('A'), done], 'after the cooldown a is first again');
  });

  test('a 429 puts the provider last for its Retry-After, an overloaded one for the outage cooldown; other failures keep the order', async () => {
    const clock = new VirtualClock();
    const a = new FakeLlm('a', [
      { items: [], fail: new ProviderRateLimitedError('slow down', true, 7) },
      { items: [], fail: unavailable() },
      { items: [], fail: new ProviderError('provider_failed', 'stream cut', true) },
      { items: [text('A'), done] },
    ]);
    const b = new FakeLlm('b', [1, 2, 3, 4].map(() => ({ items: [text('B'), done] })));
    const llm = new FallbackLlm([a, b], { clock });
    await collect(llm.chat(hi));
    await collect(llm.chat(hi));
    assert.equal(a.script.calls, 1, 'skipped while cooling');
    clock.advance(7_000);
    assert.deepEqual(await collect(llm.chat(hi)), [text('B'), done], 'a tried again, failed (529), b answered');
    assert.equal(a.script.calls, 2);
    assert.deepEqual(await collect(llm.chat(hi)), [text('B'), done], 'the overloaded a waits: no round trip of silence every turn');
    assert.equal(a.script.calls, 2);
    clock.advance(30_000);
    assert.deepEqual(await collect(llm.chat(hi)), [text('B'), done], 'a first again, its stream fails (provider_failed), b answers');
    assert.equal(a.script.calls, 3);
    assert.deepEqual(await collect(llm.chat(hi)), [text('A'), done], 'a failed stream does not demote a');
  });

  test('a cooling provider is still tried, last, when the others fail', async () => {
    const clock = new VirtualClock();
    const a = new FakeLlm('a', [{ items: [], fail: new ProviderRateLimitedError('slow down', true, 30) }, { items: [text('A'), done] }]);
    const b = new FakeLlm('b', [{ items: [text('B'), done] }, { items: [], fail: unavailable() }]);
    const switches: FallbackSwitch[] = [];
    const llm = new FallbackLlm([a, b], { clock, onFallback: (s) => switches.push(s) });
    await collect(llm.chat(hi));
    assert.deepEqual(await collect(llm.chat(hi)), [text('A'), done]);
    assert.deepEqual(switches.map((s) => `${s.from}>${s.to}`), ['a>b', 'b>a']);
  });

  test('when every provider fails the last error is thrown, after one report per switch', async () => {
    const switches: FallbackSwitch[] = [];
    const llm = new FallbackLlm(
      [new FakeLlm('a', [{ items: [], fail: unavailable() }]), new FakeLlm('b', [{ items: [], fail: new ProviderError('provider_bad_request', 'b refused', false) }])],
      { onFallback: (s) => switches.push(s) },
    );
    await assert.rejects(collect(llm.chat(hi)), (e: unknown) => e instanceof ProviderError && e.code === 'provider_bad_request' && e.message === 'b refused');
    assert.equal(switches.length, 1);
  });

  test('firstOutputTimeoutMs abandons a silent provider (aborting it) for the next, on the injected clock', async () => {
    const clock = new VirtualClock();
    const a = new FakeLlm('a', [{ hang: true }]);
    const b = new FakeLlm('b', [{ items: [text('B'), done] }]);
    const switches: FallbackSwitch[] = [];
    const turn = collect(new FallbackLlm([a, b], { clock, firstOutputTimeoutMs: 3_000, onFallback: (s) => switches.push(s) }).chat(hi));
    await flush();
    clock.advance(2_999);
    await flush();
    assert.equal(b.script.calls, 0, 'not yet');
    clock.advance(1);
    assert.deepEqual(await turn, [text('B'), done]);
    assert.equal(a.script.aborted, 1, 'the abandoned request was cancelled');
    assert.equal(switches[0]?.error.code, 'provider_timeout');
  });

  test('a consumer that stops early closes the answering stream; an aborted turn ends quietly without fallback', async () => {
    const a = new FakeLlm('a', [{ items: [text('1'), text('2'), done] }, { hang: true }]);
    const b = new FakeLlm('b', [{ items: [text('B'), done] }]);
    const llm = new FallbackLlm([a, b]);
    for await (const ev of llm.chat(hi)) if (ev.type === 'text_delta') break;
    assert.equal(a.script.closedEarly, 1);
    const ac = new AbortController();
    const turn = collect(llm.chat({ ...hi, signal: ac.signal }));
    await flush();
    ac.abort();
    assert.deepEqual(await turn, []);
    assert.equal(b.script.calls, 0);
  });

  test('capabilities are what every provider offers', () => {
    const llm = new FallbackLlm([new FakeLlm('a', []), new FakeLlm('b', [], { streaming: true, toolCalls: false })]);
    assert.deepEqual(llm.capabilities, { streaming: true, toolCalls: false });
    assert.throws(() => new FallbackLlm([]), /at least one provider/);
  });
});

describe('FallbackTts', () => {
  test('fails before audio -> the next voice speaks the sentence; fails after audio -> the error passes through', async () => {
    const chunk = (v: number) => new Int16Array([v, v]);
    const a = new FakeTts('a', [{ items: [], fail: new ProviderError('provider_failed', 'broken', true) }, { items: [chunk(1)], fail: new ProviderError('provider_failed', 'cut', true) }]);
    const b = new FakeTts('b', [{ items: [chunk(2), chunk(3)] }], { streaming: true, nativeSampleRates: [16000, 24000] });
    const switches: FallbackSwitch[] = [];
    const tts = new FallbackTts([a, b], { onFallback: (s) => switches.push(s) });
    assert.deepEqual(await collect(tts.synthesize({ text: 'Hello.', sampleRate: 8000 })), [chunk(2), chunk(3)]);
    assert.deepEqual(switches.map((s) => [s.kind, s.from, s.to, s.error.code]), [['tts', 'a', 'b', 'provider_failed']]);
    const got: Int16Array[] = [];
    await assert.rejects(collect(tts.synthesize({ text: 'Again.', sampleRate: 8000 }), got), /cut/);
    assert.deepEqual(got, [chunk(1)]);
    assert.equal(b.script.calls, 1);
    assert.deepEqual(tts.capabilities, { streaming: true, nativeSampleRates: [16000] });
  });

  test("shared cooldowns: a chain built for the next call knows what the previous call's chain learned; a chain's own are forgotten with it", async () => {
    const clock = new VirtualClock();
    const refused = () => new ProviderError('provider_auth_failed', 'a: HTTP 401', false);
    const chainFor = (shared: SharedCooldowns | undefined) => {
      const a = new FakeTts('a', [{ items: [], fail: refused() }]);
      const b = new FakeTts('b', [{ items: [new Int16Array([2])] }]);
      const switches: FallbackSwitch[] = [];
      const tts = new FallbackTts([a, b], { clock, onFallback: (x) => switches.push(x), ...(shared ? { cooldowns: shared } : {}) });
      return { a, tts, switches };
    };
    const names = new WeakMap<object, string>();
    const shared: SharedCooldowns = { store: new Map(), identity: (p) => names.get(p) ?? (p as { name?: string }).name };
    const first = chainFor(shared);
    await collect(first.tts.synthesize({ text: 'Hi.', sampleRate: 8000 }));
    assert.equal(first.switches.length, 1, 'the first call finds the refused key');
    const second = chainFor(shared);
    await collect(second.tts.synthesize({ text: 'Hi.', sampleRate: 8000 }));
    assert.deepEqual([second.switches.length, second.a.script.calls], [0, 0], 'the next call does not try it first');
    clock.advance(300_000);
    const later = chainFor(shared);
    await collect(later.tts.synthesize({ text: 'Hi.', sampleRate: 8000 }));
    assert.equal(later.a.script.calls, 1, 'after the auth cooldown it is tried first again');
    // Without a shared store each chain starts afresh.
    const own1 = chainFor(undefined);
    await collect(own1.tts.synthesize({ text: 'Hi.', sampleRate: 8000 }));
    const own2 = chainFor(undefined);
    await collect(own2.tts.synthesize({ text: 'Hi.', sampleRate: 8000 }));
    assert.equal(own2.switches.length, 1);
  });

  test('prepare readies only the provider the next utterance tries first: the primary, or the next one while it cools down', async () => {
    const clock = new VirtualClock();
    const a = new FakeTts('a', [{ items: [], fail: new ProviderError('provider_auth_failed', 'a: HTTP 401', false) }]);
    const b = new FakeTts('b', [{ items: [new Int16Array([1])] }]);
    const tts = new FallbackTts([a, b], { clock });
    tts.prepare({ sampleRate: 8000 });
    assert.deepEqual([a.prepared, b.prepared], [[8000], []]);
    await collect(tts.synthesize({ text: 'Hi.', sampleRate: 8000 })); // a's key is refused: a cools down
    tts.prepare({ sampleRate: 16000 });
    assert.deepEqual([a.prepared, b.prepared], [[8000], [16000]]);
  });
});

/** A recognizer whose events the test writes; it records the audio it got and closes on abort or end(). */
class FakeSttStream implements SttStream {
  readonly q = new SttEventQueue();
  readonly frames: Int16Array[] = [];
  ended = false;
  constructor(signal: AbortSignal | undefined) {
    if (signal?.aborted) this.q.emit({ type: 'closed' });
    signal?.addEventListener('abort', () => this.q.emit({ type: 'closed' }), { once: true });
  }
  push(f: Int16Array): void {
    if (!this.q.closed) this.frames.push(f);
  }
  end(): void {
    this.ended = true;
    this.q.emit({ type: 'closed' });
  }
  emit(ev: SttEvent): void {
    this.q.emit(ev);
  }
  [Symbol.asyncIterator](): AsyncIterator<SttEvent> {
    return this.q[Symbol.asyncIterator]();
  }
}

class FakeStt implements SttProvider {
  readonly streams: FakeSttStream[] = [];
  constructor(
    readonly name: string,
    readonly capabilities = { streaming: true, interimResults: true, sampleRates: [8000, 16000] as readonly number[] },
    private readonly refuse?: ProviderError,
  ) {}
  start(opts: SttStartOptions): SttStream {
    if (this.refuse) throw this.refuse;
    const s = new FakeSttStream(opts.signal);
    this.streams.push(s);
    return s;
  }
}

const RATE = 8000;
/** 20 ms frames at 8 kHz, each filled with its index so replays can be checked. */
const frame = (i: number) => new Int16Array(160).fill(i);
const ids = (frames: Int16Array[]) => frames.map((f) => f[0]);

describe('FallbackStt', () => {
  test('a stream failing before any result is replaced and gets all the audio so far, then the rest', async () => {
    const a = new FakeStt('a');
    const b = new FakeStt('b');
    const switches: FallbackSwitch[] = [];
    const s = new FallbackStt([a, b], { onFallback: (x) => switches.push(x) }).start({ sampleRate: RATE });
    const events = collect(s);
    for (let i = 0; i < 5; i++) s.push(frame(i));
    a.streams[0]?.emit({ type: 'error', error: unavailable() });
    await flush();
    assert.deepEqual(switches, [{ kind: 'stt', from: 'a', to: 'b', error: { code: 'provider_unavailable', message: 'x: HTTP 529: Overloaded' } }]);
    s.push(frame(5));
    const bs = b.streams[0] as FakeSttStream;
    assert.deepEqual(ids(bs.frames), [0, 1, 2, 3, 4, 5]);
    bs.emit({ type: 'final', text: 'hello', startMs: 20, endMs: 100 });
    s.end();
    assert.deepEqual(await events, [{ type: 'final', text: 'hello', startMs: 20, endMs: 100 }, { type: 'closed' }]);
    assert.equal(a.streams[0]?.q.closed, true, 'the failed engine was stopped');
  });

  test('after results, a failure switches for the rest of the call, replaying only unsettled audio, times shifted', async () => {
    const a = new FakeStt('a');
    const b = new FakeStt('b');
    const switches: FallbackSwitch[] = [];
    const s = new FallbackStt([a, b], { onFallback: (x) => switches.push(x) }).start({ sampleRate: RATE });
    const events = collect(s);
    for (let i = 0; i < 10; i++) s.push(frame(i)); // 0..200 ms
    a.streams[0]?.emit({ type: 'final', text: 'yes', startMs: 20, endMs: 120 });
    await flush();
    a.streams[0]?.emit({ type: 'error', error: new ProviderError('provider_failed', 'socket dropped', true) });
    await flush();
    assert.equal(switches[0]?.afterOutput, true);
    const bs = b.streams[0] as FakeSttStream;
    assert.deepEqual(ids(bs.frames), [6, 7, 8, 9], 'frames from 120 ms on');
    bs.emit({ type: 'final', text: 'tuesday', startMs: 10, endMs: 70 });
    s.end();
    assert.deepEqual(await events, [
      { type: 'final', text: 'yes', startMs: 20, endMs: 120 },
      { type: 'final', text: 'tuesday', startMs: 130, endMs: 190 },
      { type: 'closed' },
    ]);
  });

  test('the replay buffer is bounded (last replayMs of audio)', async () => {
    const a = new FakeStt('a');
    const b = new FakeStt('b');
    const s = new FallbackStt([a, b], { replayMs: 100 }).start({ sampleRate: RATE });
    void collect(s);
    for (let i = 0; i < 50; i++) s.push(frame(i));
    a.streams[0]?.emit({ type: 'error', error: unavailable() });
    await flush();
    assert.deepEqual(ids(b.streams[0]?.frames ?? []), [45, 46, 47, 48, 49]);
  });

  test('a provider refusing at start is skipped at once; all refusing throws the last refusal', () => {
    const refuse = new ProviderError('unsupported_audio', 'a hears only 16 kHz', false);
    const b = new FakeStt('b');
    const switches: FallbackSwitch[] = [];
    new FallbackStt([new FakeStt('a', undefined, refuse), b], { onFallback: (x) => switches.push(x) }).start({ sampleRate: RATE });
    assert.equal(b.streams.length, 1);
    assert.deepEqual(switches.map((x) => x.error.code), ['unsupported_audio']);
    const no = new ProviderError('provider_auth_failed', 'b has no key', false);
    assert.throws(() => new FallbackStt([new FakeStt('a', undefined, refuse), new FakeStt('b', undefined, no)]).start({ sampleRate: RATE }), (e: unknown) => e === no);
  });

  test('an unexpected closed switches; the last provider failing passes its error on, then closed', async () => {
    const a = new FakeStt('a');
    const b = new FakeStt('b');
    const s = new FallbackStt([a, b]).start({ sampleRate: RATE });
    const events = collect(s);
    a.streams[0]?.emit({ type: 'closed' });
    await flush();
    assert.equal(b.streams.length, 1);
    const boom = new ProviderError('provider_failed', 'b died', true);
    b.streams[0]?.emit({ type: 'error', error: boom });
    assert.deepEqual(await events, [{ type: 'error', error: boom }, { type: 'closed' }]);
  });

  test('aborting closes quietly without a switch', async () => {
    const a = new FakeStt('a');
    const b = new FakeStt('b');
    const ac = new AbortController();
    const s = new FallbackStt([a, b]).start({ sampleRate: RATE, signal: ac.signal });
    const events = collect(s);
    s.push(frame(1));
    ac.abort();
    assert.deepEqual(await events, [{ type: 'closed' }]);
    assert.equal(b.streams.length, 0);
  });

  test('a narrowband call with a 16 kHz-only recognizer in the chain: it is skipped at start, the 8 kHz recognizer hears the call', async () => {
    const cloud = new FakeStt('deepgram');
    const switches: FallbackSwitch[] = [];
    const wideOnly = new FakeStt('wideband-only', { streaming: true, interimResults: false, sampleRates: [16000] }, new ProviderError('unsupported_audio', 'hears 16 kHz only', false));
    const chain = new FallbackStt([wideOnly, cloud], { onFallback: (x) => switches.push(x) });
    assert.deepEqual(chain.capabilities.sampleRates, [8000, 16000]);
    const s = chain.start({ sampleRate: 8000 });
    const events = collect(s);
    s.push(frame(1));
    await flush();
    assert.equal(cloud.streams.length, 1);
    assert.deepEqual(ids(cloud.streams[0]!.frames), [1]);
    assert.deepEqual(switches.map((x) => [x.from, x.to, x.error.code]), [['wideband-only', 'deepgram', 'unsupported_audio']]);
    cloud.streams[0]!.emit({ type: 'final', text: 'yes', startMs: 0, endMs: 20 });
    s.end();
    assert.deepEqual(await events, [{ type: 'final', text: 'yes', startMs: 0, endMs: 20 }, { type: 'closed' }]);
  });

  test('capabilities: rates some provider takes (none listed = any), partials only if all give them', () => {
    const caps = (rates: number[], interim = true) => ({ streaming: true, interimResults: interim, sampleRates: rates });
    assert.deepEqual(new FallbackStt([new FakeStt('a', caps([8000, 16000])), new FakeStt('b', caps([16000, 48000], false))]).capabilities, caps([8000, 16000, 48000], false));
    assert.deepEqual(new FallbackStt([new FakeStt('a', caps([16000])), new FakeStt('b', caps([]))]).capabilities.sampleRates, [], 'one takes any rate: the chain does');
    assert.deepEqual(new FallbackStt([new FakeStt('a', caps([16000])), new FakeStt('b', caps([8000]))]).capabilities.sampleRates, [8000, 16000]);
  });
});

test('chained real adapters: Anthropic answering 529 is replaced by the OpenAI-compatible client within the turn', async () => {
  const anthropic = await AnthropicProtocolServer.start();
  const openai = await OpenAiProtocolServer.start();
  try {
    anthropic.reply({ kind: 'error', status: 529, errorType: 'overloaded_error', message: 'Overloaded' });
    openai.reply({ kind: 'text', pieces: ['Hello ', 'from the fallback.'] });
    const switches: FallbackSwitch[] = [];
    const llm = new FallbackLlm(
      [new AnthropicLlm({ baseUrl: anthropic.baseUrl, apiKey: 'sk-ant-x' }), new OpenAiCompatibleLlm({ name: 'openai', baseUrl: openai.baseUrl, model: 'gpt-4o-mini', apiKey: 'sk-x' })],
      { onFallback: (s) => switches.push(s) },
    );
    const events = await collect(llm.chat({ messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi' }] }));
    assert.equal(events.map((e) => (e.type === 'text_delta' ? e.text : '')).join(''), 'Hello from the fallback.');
    assert.equal(events.at(-1)?.type, 'done');
    assert.equal(anthropic.requests.length, 1);
    assert.equal(openai.requests.length, 1);
    assert.deepEqual(openai.requests[0]?.body.messages, [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi' }]);
    assert.equal(switches.length, 1);
    assert.deepEqual([switches[0]?.kind, switches[0]?.from, switches[0]?.to, switches[0]?.error.code], ['llm', 'anthropic', 'openai', 'provider_unavailable']);
    assert.match(switches[0]?.error.message ?? '', /HTTP 529: Overloaded/);
  } finally {
    await anthropic.close();
    await openai.close();
  }
});
