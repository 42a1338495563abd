// Command: node --import tsx bench/answer-to-greeting.ts [--calls 30]
//
// From the callee's answer (the 200 OK processed: the leg's 'answered' event, emitted while the
// datagram is handled) to the first RTP packet of the greeting leaving our socket (dgram send with
// a non-silent payload), against SIPp (uas_answer.xml: 180, 500 ms of ringing, 200 with PCMU; uas_answer_l16.xml the same on L16/16000 for the voice agent).
// The same MediaRuntime the media worker thread runs, in this process, one call at a time:
// - greeting-only agent: the greeting is synthesized while it rings (PendingGreeting) and played at answer;
// - voice agent (a flow whose first node says the greeting): VoiceSession starts at answer and
//   synthesizes then (espeak-ng), with energy VAD + pocketsphinx started too.
import dgram from 'node:dgram';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { PocketsphinxStt } from '../src/providers/stt/pocketsphinx.js';
import { EspeakNgTts } from '../src/providers/tts/espeak-ng.js';
import { EnergyVad } from '../src/providers/vad/energy.js';
import { realClock } from '../src/time/clock.js';
import { CallLeg, PortPool, UserAgent } from '../src/telephony/index.js';
import { MediaRuntime } from '../src/worker/media/media-runtime.js';
import type { DialCommand, WorkerEvent } from '../src/worker/protocol.js';
import { voicePreparer } from '../src/worker/media/voice-call.js';
import { freePort, havePeer, startSipp } from '../test/helpers/sipp.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const CALLS = arg('calls', 30);
const GREETING = 'Hello, this is Outcall.';

let answeredAt: number | undefined;
let firstPacket: number | undefined;
const origSend = dgram.Socket.prototype.send;
dgram.Socket.prototype.send = function patched(this: dgram.Socket, ...args: unknown[]) {
  const b = args[0];
  // One call at a time: the first RTP packet (v2, 20 ms of PCMU or of L16/16000) after the answer whose payload is not silence.
  if (answeredAt !== undefined && firstPacket === undefined && Buffer.isBuffer(b) && (b[0]! & 0xc0) === 0x80) {
    if (b.length === 172 && b.subarray(12).some((x) => x !== 0xff && x !== 0x7f)) firstPacket = performance.now();
    else if (b.length === 652 && b.subarray(12).some((x) => x !== 0)) firstPacket = performance.now();
  }
  return (origSend as (...a: unknown[]) => void).apply(this, args);
} as typeof dgram.Socket.prototype.send;

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

async function run(kind: 'greeting-only' | 'voice (flow)', ua: UserAgent, pool: PortPool): Promise<number[]> {
  const port = await freePort();
  const sipp = await startSipp({
    // A voice agent hears with a 16 kHz recognizer and refuses narrowband legs: it is measured on L16/16000.
    scenario: fileURLToPath(new URL(kind === 'voice (flow)' ? '../test/fixtures/sipp/uas_answer_l16.xml' : '../test/fixtures/sipp/uas_answer.xml', import.meta.url)),
    port,
    calls: CALLS,
    extraArgs: ['-mp', String(await freePort()), '-timeout', '600s'],
  });
  const tts = new EspeakNgTts({ defaultVoice: 'en-us' });
  const out: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    answeredAt = undefined;
    firstPacket = undefined;
    const ended = new Promise<WorkerEvent>((resolve) => {
      const runtime = new MediaRuntime({
        tts,
        emit: (e) => {
          if (e.type === 'ended') resolve(e);
        },
        prepareVoice: voicePreparer({ engines: { tts, vad: new EnergyVad(), stt: new PocketsphinxStt() }, clock: realClock }),
        dialLeg: async (cmd) => {
          const leg = await CallLeg.dial({
            ua,
            portPool: pool,
            localAddress: '127.0.0.1',
            codecs: kind === 'voice (flow)' ? ['L16/16000'] : ['PCMU'],
            dial: { to: cmd.to, from: cmd.from, trunk: cmd.trunk, ringTimeoutMs: cmd.ringTimeoutMs },
          });
          // Subscribed before the runtime's own listener: the mark is set before anything reacts.
          leg.on((e) => {
            if (e.type === 'answered') answeredAt = performance.now();
          });
          return leg;
        },
      });
      const cmd: DialCommand = {
        type: 'dial',
        callId: `a2g-${i}`,
        to: `bench${i}`,
        from: 'outcall',
        customHeaders: [],
        trunk: { host: '127.0.0.1', port, transport: 'udp' },
        ringTimeoutMs: 10_000,
        maxDurationMs: 30_000,
        greeting: kind === 'greeting-only' ? { text: GREETING } : null,
        ...(kind === 'voice (flow)'
          ? { voice: { flow: { start: 'greet', nodes: { greet: { type: 'say', text: GREETING, next: 'bye' }, bye: { type: 'end' } } }, systemPrompt: '', dynamicVariables: {} } }
          : {}),
      };
      runtime.handle(cmd);
    });
    const e = await ended;
    if (answeredAt !== undefined && firstPacket !== undefined) out.push(firstPacket - answeredAt);
    else console.log(`${kind} call ${i}: no greeting packet (${JSON.stringify(e)})`);
  }
  await sipp.stop();
  return out;
}

async function main(): Promise<void> {
  if (!havePeer('sipp')) throw new Error('sipp is not installed');
  const load0 = loadavg()[0] ?? NaN;
  const ua = await UserAgent.listen({ udp: { host: '127.0.0.1', port: 0 } });
  const pool = new PortPool({ min: 38800, max: 38998 });
  const rows: Array<[string, number[]]> = [];
  for (const kind of ['greeting-only', 'voice (flow)'] as const) rows.push([kind, await run(kind, ua, pool)]);
  await ua.close();
  console.log(`\nanswer -> first greeting RTP packet on the wire, vs SIPp (500 ms ringing; greeting-only on PCMU, voice on L16/16000), ${CALLS} calls each, one at a time; node ${process.version}; 1-min load average before/after ${load0.toFixed(2)}/${(loadavg()[0] ?? NaN).toFixed(2)} (2 cores shared with other work)`);
  console.log('| agent | n | p50 ms | p99 ms | max ms |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [k, xs] of rows) console.log(`| ${k} | ${xs.length} | ${pct(xs, 50).toFixed(1)} | ${pct(xs, 99).toFixed(1)} | ${Math.max(...xs).toFixed(1)} |`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
