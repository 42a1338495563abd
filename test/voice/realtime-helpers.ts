/** Shared by the Realtime session tests: a session on a FakeLeg against the local protocol server. */
import { tone } from '../fixtures/media/signals.js';
import { VirtualClock } from '../helpers/virtual-clock.js';
import type { OpenAiRealtimeServer, RecordedConnection } from '../helpers/openai-realtime-server.js';
import { waitFor } from '../helpers/wait.js';
import { realtimeConfigFrom } from '../../src/voice/realtime/config.js';
import { RealtimeSession } from '../../src/voice/realtime/session.js';
import type { VoiceEvent } from '../../src/voice/events.js';
import type { VoiceSessionOptions } from '../../src/voice/session.js';
import type { ToolRunner } from '../../src/voice/brain.js';
import type { ResolvedProviderSettings } from '../../src/providers/settings.js';
import type { TtsProvider } from '../../src/providers/tts/types.js';
import type { LlmToolSpec } from '../../src/providers/llm/types.js';
import { FakeLeg } from './helpers/fake-leg.js';

export const KEY = 'sk-test-realtime-0123456789abcdef';

export interface Rig {
  leg: FakeLeg;
  clock: VirtualClock;
  session: RealtimeSession;
  events: VoiceEvent[];
  tools: Array<{ name: string; args: unknown }>;
}

export function startSession(
  server: OpenAiRealtimeServer,
  o: {
    options?: Partial<VoiceSessionOptions>;
    settings?: Partial<ResolvedProviderSettings>;
    runTool?: ToolRunner;
    codecs?: string[];
    localTts?: TtsProvider;
    endCall?: LlmToolSpec | null;
  } = {},
): Rig {
  const leg = new FakeLeg();
  const clock = new VirtualClock();
  const events: VoiceEvent[] = [];
  const tools: Rig['tools'] = [];
  const config = realtimeConfigFrom({ provider: 'openai', base_url: server.baseUrl, api_key: KEY, ...o.settings });
  const session = new RealtimeSession({
    leg,
    clock,
    config,
    instructions: 'You confirm deliveries.\n\ncall_context: {"dynamic_variables":{"name":"Ana"}}',
    tools: [{ name: 'lookup_order', description: 'Looks an order up', parameters: { type: 'object', properties: { order: { type: 'string' } } } }],
    runTool:
      o.runTool ??
      (async (name, args) => {
        tools.push({ name, args });
        return { status: 'ships tomorrow' };
      }),
    options: { firstSpeaker: 'agent', bargeIn: { minSpeechMs: 200 }, inactivityTimeoutMs: 10_000, maxDurationMs: 120_000, greeting: 'Hi, this is Outcall calling about your order.', ...o.options },
    offeredCodecs: o.codecs ?? ['PCMU', 'PCMA'],
    ...(o.localTts ? { localTts: o.localTts } : {}),
    ...(o.endCall !== undefined ? { endCall: o.endCall } : {}),
    emit: (e) => events.push(e),
  });
  return { leg, clock, session, events, tools };
}

/** Lets the leg play `ms` in 20 ms steps of virtual time (the playout tops it up as it goes). */
export function play(r: Rig, ms: number): void {
  for (let t = 0; t < ms; t += 20) {
    r.leg.play(20);
    r.clock.advance(20);
  }
}

/** The callee's audio: `silenceMs`, then a loud tone for `speechMs`, then `afterMs` of silence, as 20 ms frames at `rate`. */
export function calleeFrames(rate: number, speechMs: number, silenceMs = 200, afterMs = 0): Int16Array[] {
  const n = rate / 50;
  const out: Int16Array[] = [];
  const quiet = () => new Int16Array(n).map(() => Math.round((Math.random() - 0.5) * 20));
  for (let t = 0; t < silenceMs; t += 20) out.push(quiet());
  const loud = tone(rate, 300, speechMs, 9000);
  for (let i = 0; i + n <= loud.length; i += n) out.push(loud.slice(i, i + n));
  for (let t = 0; t < afterMs; t += 20) out.push(quiet());
  return out;
}

/** Pushes frames, yielding to the event loop now and then so the socket keeps up. */
export async function pushFrames(r: Rig, frames: readonly Int16Array[]): Promise<void> {
  for (let i = 0; i < frames.length; i++) {
    r.session.pushAudio(frames[i] as Int16Array);
    if (i % 5 === 4) await new Promise((res) => setTimeout(res, 2));
  }
}

/** The client event types a connection received, in order. */
export const sentTypes = (c: RecordedConnection): string[] => c.events.map((e) => String(e.event.type));

/** The session started after `n` connections had been made, once configured (session.update received). */
export function connectedAfter(server: OpenAiRealtimeServer, n: number): Promise<RecordedConnection> {
  return waitFor('connected', () => server.connections.slice(n).find((c) => sentTypes(c).includes('session.update')));
}
