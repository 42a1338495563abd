// Command: node --import tsx bench/voice-turn-overhead.ts [--calls 4] [--turns 200]
//
// The platform's own overhead per agent turn: from the moment the end of the callee's speech is
// detected (the VAD's speech_end result is produced) to the agent's first audio frame written to
// the call leg, and to that frame's RTP packet leaving the socket. Providers answer instantly
// (in-process fakes: a VAD whose speech segments the bench scripts, an STT that finals at once, an
// LLM that streams one sentence at once, a TTS that returns 100 ms of tone), so everything measured
// is ours: VoiceSession turn-taking, LlmAgentBrain, AgentTurn, the sentence chunker, TurnSpeaker,
// Playout and the CallLeg/MediaSession send path. Real CallLegs against SIPp -rtp_echo (PCMU): the
// echoed packets are the callee's audio that drives the session, frame by frame.
import dgram from 'node:dgram';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { LlmEvent, LlmProvider } from '../src/providers/llm/types.js';
import type { SttEvent, SttProvider, SttStream } from '../src/providers/stt/types.js';
import type { TtsProvider } from '../src/providers/tts/types.js';
import type { VadEvent, VadFrameResult, VadProvider, VadStream } from '../src/providers/vad/types.js';
import { realClock } from '../src/time/clock.js';
import { CallLeg, PortPool, UserAgent } from '../src/telephony/index.js';
import { LlmAgentBrain } from '../src/voice/llm-brain.js';
import { VoiceSession } from '../src/voice/session.js';
import { freePort, freeUdpPort, havePeer, startSipp } from '../test/helpers/sipp.js';
import type { Leg } from '../src/voice/leg.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const CALLS = arg('calls', 4);
const TURNS = arg('turns', 200);
const SPEECH_FRAMES = 5; // callee "speaks" 100 ms per turn
const GAP_FRAMES = 3; // silence after the agent's reply before the callee speaks again

const toWrite: number[] = [];
const toWire: number[] = [];
const sessionE2e: number[] = [];

// "On the wire": the first RTP packet with a non-silent PCMU payload after a speech end, per leg
// (matched by the packet's source socket). PCMU silence is 0xFF (and 0x7F, negative zero).
const wireMarks = new Map<dgram.Socket, number>();
const origSend = dgram.Socket.prototype.send;
dgram.Socket.prototype.send = function patched(this: dgram.Socket, ...args: unknown[]) {
  const mark = wireMarks.get(this);
  const buf = args[0];
  if (mark !== undefined && Buffer.isBuffer(buf) && buf.length > 12 && buf.subarray(12).some((b) => b !== 0xff && b !== 0x7f)) {
    toWire.push(performance.now() - mark);
    wireMarks.delete(this);
  }
  return (origSend as (...a: unknown[]) => void).apply(this, args);
} as typeof dgram.Socket.prototype.send;

/** The bench's script for one call's callee: speech segments, one per agent turn. */
class CalleeScript {
  frame = 0;
  speakingFrom: number | undefined;
  waitReply = false;
  idleFrom = 0;
  turns = 0;
  speechEndAt: number | undefined;
  finals: ((e: SttEvent) => void) | undefined;
  done!: () => void;
  readonly finished = new Promise<void>((r) => (this.done = r));

  /** One VAD frame: decides the segment's events. */
  next(): VadEvent[] {
    const f = ++this.frame;
    if (this.waitReply || this.turns >= TURNS) return [];
    if (this.speakingFrom === undefined) {
      if (f - this.idleFrom < GAP_FRAMES) return [];
      this.speakingFrom = f;
      return [{ type: 'speech_start', atMs: f * 20 }];
    }
    if (f - this.speakingFrom === SPEECH_FRAMES - 1) this.finals?.({ type: 'final', text: 'hello there', startMs: this.speakingFrom * 20, endMs: f * 20 });
    if (f - this.speakingFrom < SPEECH_FRAMES) return [];
    this.speakingFrom = undefined;
    this.waitReply = true;
    this.turns++;
    return [{ type: 'speech_end', atMs: f * 20, durationMs: SPEECH_FRAMES * 20 }];
  }

  replied(): void {
    this.waitReply = false;
    this.idleFrom = this.frame;
    if (this.turns >= TURNS) this.done();
  }
}

function fakeVad(script: CalleeScript): VadProvider {
  return {
    name: 'scripted-vad',
    capabilities: { sampleRates: [8000, 16000] },
    create: async (o) => {
      const stream: VadStream = {
        sampleRate: o.sampleRate,
        push: async (): Promise<VadFrameResult> => {
          const events = script.next();
          // The moment the end of the callee's speech is detected.
          if (events.some((e) => e.type === 'speech_end')) script.speechEndAt = performance.now();
          return { probability: script.speakingFrom !== undefined ? 1 : 0, speaking: script.speakingFrom !== undefined, events };
        },
        end: async () => [],
      };
      return stream;
    },
  };
}

function fakeStt(script: CalleeScript): SttProvider {
  return {
    name: 'instant-stt',
    capabilities: { streaming: true, interimResults: false, sampleRates: [8000, 16000] },
    start: (o) => {
      const queue: SttEvent[] = [];
      let wake: (() => void) | undefined;
      let closed = false;
      script.finals = (e) => {
        queue.push(e);
        wake?.();
      };
      o.signal?.addEventListener('abort', () => {
        closed = true;
        wake?.();
      });
      const stream: SttStream = {
        push: () => undefined,
        end: () => undefined,
        async *[Symbol.asyncIterator]() {
          for (;;) {
            while (queue.length > 0) yield queue.shift() as SttEvent;
            if (closed) {
              yield { type: 'closed' };
              return;
            }
            await new Promise<void>((r) => (wake = r));
          }
        },
      };
      return stream;
    },
  };
}

const instantLlm: LlmProvider = {
  name: 'instant-llm',
  capabilities: { streaming: true, toolCalls: true },
  async *chat(): AsyncIterable<LlmEvent> {
    yield { type: 'text_delta', text: 'Sure, ' };
    yield { type: 'text_delta', text: 'done.' };
    yield { type: 'done', finishReason: 'stop' };
  },
};

function toneTts(): TtsProvider {
  return {
    name: 'tone-tts',
    capabilities: { streaming: true, nativeSampleRates: [8000, 16000] },
    async *synthesize(req) {
      const n = req.sampleRate / 10; // 100 ms
      const pcm = new Int16Array(n);
      for (let i = 0; i < n; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / req.sampleRate));
      yield pcm;
    },
  };
}

async function oneCall(ua: UserAgent, pool: PortPool, sippPort: number, i: number): Promise<void> {
  const script = new CalleeScript();
  const leg = await CallLeg.dial({
    ua,
    portPool: pool,
    localAddress: '127.0.0.1',
    codecs: ['PCMU'],
    dial: { to: `turns${i}`, from: 'outcall', trunk: { host: '127.0.0.1', port: sippPort }, ringTimeoutMs: 10_000 },
  });
  // The leg's RTP socket: the one whose sends carry this leg's packets (found on its first send).
  let rtpSocket: dgram.Socket | undefined;
  const wrapped: Leg = {
    on: (l) => leg.on(l),
    onAudio: (l) => leg.onAudio(l),
    get queuedMs() {
      return leg.queuedMs;
    },
    cancel: () => leg.cancel(),
    hangup: () => leg.hangup(),
    write: (frame) => {
      const t0 = script.speechEndAt;
      if (t0 !== undefined) {
        toWrite.push(performance.now() - t0);
        script.speechEndAt = undefined;
        if (rtpSocket) wireMarks.set(rtpSocket, t0);
      }
      leg.write(frame);
    },
  };
  const session = new VoiceSession({
    leg: wrapped,
    tts: toneTts(),
    vad: fakeVad(script),
    stt: fakeStt(script),
    brain: new LlmAgentBrain({ llm: instantLlm, systemPrompt: 'bench' }),
    clock: realClock,
    options: { firstSpeaker: 'callee', bargeIn: { minSpeechMs: 300 }, inactivityTimeoutMs: 1e9, maxDurationMs: 1e9 },
    emit: (e) => {
      if (e.type === 'agent_turn_finished') script.replied();
      else if (e.type === 'turn_latency' && e.latency.endToEndMs !== undefined) sessionE2e.push(e.latency.endToEndMs);
      else if (e.type === 'error') console.error(`call ${i}: ${e.source} ${e.message}`);
    },
  });
  leg.onAudio((f) => session.pushAudio(f));
  // Find the RTP socket: the socket sending to SIPp's media port first after answer.
  const before = dgram.Socket.prototype.send;
  dgram.Socket.prototype.send = function find(this: dgram.Socket, ...args: unknown[]) {
    const b = args[0];
    if (!rtpSocket && Buffer.isBuffer(b) && b.length === 12 + 160 && (b[0]! & 0xc0) === 0x80) rtpSocket = this;
    return (before as (...a: unknown[]) => void).apply(this, args);
  } as typeof dgram.Socket.prototype.send;
  await new Promise<void>((resolve, reject) =>
    leg.on((e) => {
      if (e.type === 'answered') resolve();
      else if (e.type === 'ended') reject(new Error(`call ${i} ended before answer: ${e.reason}`));
    }),
  );
  await script.finished;
  await leg.hangup();
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

async function main(): Promise<void> {
  if (!havePeer('sipp')) throw new Error('sipp is not installed');
  const load0 = loadavg()[0] ?? NaN;
  const port = await freePort();
  const mediaPort = await freeUdpPort();
  const sipp = await startSipp({
    scenario: fileURLToPath(new URL('../test/fixtures/sipp/uas_media_echo.xml', import.meta.url)),
    port,
    calls: CALLS,
    keys: { pt: '0', codec: 'PCMU' },
    extraArgs: ['-mp', String(mediaPort), '-rtp_echo', '-timeout', '600s'],
  });
  const ua = await UserAgent.listen({ udp: { host: '127.0.0.1', port: 0 } });
  const pool = new PortPool({ min: 38600, max: 38798 });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  // One call at a time is found its RTP socket reliably; start them a little apart.
  const calls: Promise<void>[] = [];
  for (let i = 0; i < CALLS; i++) {
    calls.push(oneCall(ua, pool, port, i));
    await new Promise((r) => setTimeout(r, 300));
  }
  await Promise.all(calls);
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await sipp.stop();
  await ua.close();
  console.log(`\nvoice turn overhead, instant providers, ${CALLS} concurrent CallLegs vs SIPp -rtp_echo (PCMU), ${TURNS} turns each; node ${process.version}; 1-min load average before/after ${load0.toFixed(2)}/${(loadavg()[0] ?? NaN).toFixed(2)} (2 cores shared with other work)`);
  console.log('| from speech end detected to | n | p50 ms | p99 ms | max ms |');
  console.log('|---|---:|---:|---:|---:|');
  const row = (name: string, xs: number[]) => console.log(`| ${name} | ${xs.length} | ${pct(xs, 50).toFixed(2)} | ${pct(xs, 99).toFixed(2)} | ${Math.max(...xs).toFixed(2)} |`);
  row('first agent frame written to the leg', toWrite);
  row('its RTP packet sent (socket send)', toWire);
  row("session's own endToEndMs (its clock, from speech end handled)", sessionE2e);
  console.log(`CPU: ${(((cpu.user + cpu.system) / 1e6 / wall) * 100).toFixed(1)}% of a core over ${wall.toFixed(1)} s`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
