// Command: node --import tsx bench/inbound-answer.ts [--calls 30]
//          (OUTCALL_TEST_DRIVER=postgres for PostgreSQL at 127.0.0.1:5432; PGlite otherwise)
//
// Inbound calls through the whole stack: the API's store, the call plane (a media worker thread
// with its SIP port, the control side's router and dialer) and, as the caller, our own user agent
// and CallLeg in this process (PCMU), one call at a time, to a number whose inbound agent is
// - greeting-only ("Hello, you have reached the clinic."), or
// - a flow whose first node says the same line (a voice session: VAD and recognizer start too).
// Measured per call, on this process's monotonic clock:
// - INVITE -> 200: the caller's dial until its 'answered' (180 at once, then the router looks up the
//   number, checks limits, records the call ringing, and the media thread answers);
// - 200 -> first greeting packet: until the first RTP packet with a non-silent payload reaches the
//   caller's socket (before its jitter buffer; the TTS's own leading silence counts);
// - 200 -> first audible frame: until the caller's leg decodes the first frame over -40 dBFS (its
//   jitter buffer and playout pacing included: what a caller's phone would play).
import dgram from 'node:dgram';
import { loadavg } from 'node:os';
import { CallLeg, PortPool, UserAgent } from '../src/telephony/index.js';
import { startTestApp } from '../test/helpers/test-app.js';
import { startTestCallPlane } from '../test/helpers/test-call-plane.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const CALLS = arg('calls', 30);
const LINE = 'Hello, you have reached the clinic.';

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const rms = (f: Int16Array) => Math.sqrt(f.reduce((a, x) => a + x * x, 0) / Math.max(1, f.length));

/** The first RTP packet (v2) with a PCMU payload that is not silence (0xff/0x7f) since `armed`. */
let armed = false;
let firstPacketAt: number | undefined;
const origEmit = dgram.Socket.prototype.emit;
dgram.Socket.prototype.emit = function patched(this: dgram.Socket, event: string | symbol, ...args: unknown[]) {
  const b = args[0];
  if (armed && firstPacketAt === undefined && event === 'message' && Buffer.isBuffer(b) && b.length === 172 && (b[0]! & 0xc0) === 0x80) {
    if (b.subarray(12).some((x) => x !== 0xff && x !== 0x7f)) firstPacketAt = performance.now();
  }
  return (origEmit as (...a: unknown[]) => boolean).call(this, event, ...args);
} as typeof dgram.Socket.prototype.emit;

const t = await startTestApp({ allowPrivateUrls: true });
const plane = await startTestCallPlane(t.ctx, { rtpPortMin: 48000, rtpPortMax: 48398 });
const ua = await UserAgent.listen({ udp: { host: '127.0.0.1', port: 0 } });
const pool = new PortPool({ min: 48400, max: 48598 });
const trunk = await t.org.req('POST', '/v1/trunks', { name: 'bench-in', host: '127.0.0.1' });

async function numberFor(agent: Record<string, unknown>, number: string): Promise<void> {
  const a = await t.org.req('POST', '/v1/agents', { name: `bench-${number}`, ...agent });
  if (a.status !== 201) throw new Error(a.raw);
  const pn = await t.org.req('POST', '/v1/phone-numbers', { number, trunk_id: trunk.body.id, inbound_agent_id: a.body.id });
  if (pn.status !== 201) throw new Error(pn.raw);
}

async function run(number: string, calls = CALLS): Promise<{ setup: number[]; firstPacket: number[]; firstAudio: number[]; failed: number }> {
  const setup: number[] = [];
  const firstPacket: number[] = [];
  const firstAudio: number[] = [];
  let failed = 0;
  for (let i = 0; i < calls; i++) {
    const start = performance.now();
    armed = false;
    firstPacketAt = undefined;
    let answeredAt: number | undefined;
    let heardAt: number | undefined;
    const leg = await CallLeg.dial({
      ua,
      portPool: pool,
      localAddress: '127.0.0.1',
      codecs: ['PCMU'],
      dial: { to: number, from: '+14155550100', trunk: { host: '127.0.0.1', port: plane.sipPort, transport: 'udp' }, ringTimeoutMs: 10_000 },
    });
    leg.on((e) => {
      if (e.type === 'answered') {
        answeredAt = performance.now();
        armed = true;
      }
    });
    leg.onAudio((frame) => {
      if (heardAt === undefined && answeredAt !== undefined && rms(frame) > 300) {
        heardAt = performance.now();
        // Heard: hang up (the rest of the greeting is not measured).
        void leg.hangup();
      }
    });
    const timeout = setTimeout(() => void leg.hangup(), 10_000);
    await leg.ended;
    clearTimeout(timeout);
    armed = false;
    if (answeredAt === undefined || heardAt === undefined || firstPacketAt === undefined) {
      failed++;
      continue;
    }
    setup.push(answeredAt - start);
    firstPacket.push(firstPacketAt - answeredAt);
    firstAudio.push(heardAt - answeredAt);
  }
  return { setup, firstPacket, firstAudio, failed };
}

await numberFor({ greeting: LINE }, '+16285550100');
await numberFor({ flow: { start: 'hi', nodes: { hi: { type: 'say', text: LINE, next: 'bye' }, bye: { type: 'end' } } } }, '+16285550101');
// One call each first: engines load, code paths warm.
await run('+16285550100', 3);
await run('+16285550101', 3);
console.log(`inbound answer, ${CALLS} calls each, one at a time; load ${loadavg().map((x) => x.toFixed(2)).join(' ')}; store ${process.env.OUTCALL_TEST_DRIVER ?? 'pglite'}`);
console.log('agent            INVITE->200 p50 / p99    200->first packet p50 / p99   200->audible p50 / p99   failed');
for (const [label, number] of [['greeting-only', '+16285550100'], ['flow (voice)', '+16285550101']] as const) {
  const r = await run(number);
  const f = (xs: number[], p: number) => pct(xs, p).toFixed(1).padStart(7);
  console.log(`${label.padEnd(16)} ${f(r.setup, 50)} / ${f(r.setup, 99)} ms     ${f(r.firstPacket, 50)} / ${f(r.firstPacket, 99)} ms      ${f(r.firstAudio, 50)} / ${f(r.firstAudio, 99)} ms   ${r.failed}`);
}
await ua.close();
await plane.stop();
await t.close();
