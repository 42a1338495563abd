/**
 * One sandbox call answered by a persona: rings, answers, then runs PersonaTurns on live audio.
 * Ears: energy VAD on the agent's audio (turn ends after turn_silence_ms of silence) and a speech
 * recognizer at the leg's rate, when it takes that rate (pocketsphinx hears 8 and 16 kHz legs with
 * their own models; soundswallower hears both through its 8 kHz model), so keyword lines can react to words.
 * Mouth: a TtsProvider (the persona's flite voice when the provider is flite or flite-wasm, its
 * espeak-ng voice otherwise), written whole into the leg; the leg's 'drained' event says it has been played.
 */
import type { SttProvider, SttStream } from '../providers/stt/types.js';
import type { TtsProvider } from '../providers/tts/types.js';
import type { VadProvider, VadStream } from '../providers/vad/types.js';
import type { Clock } from '../time/clock.js';
import type { InboundLeg } from '../telephony/inbound-leg.js';
import type { LegEnded } from '../telephony/leg-events.js';
import type { Persona } from './persona.js';
import { DEFAULT_TURN_SILENCE_MS, PersonaTurns, type TurnAction, type TurnHangupReason } from './turn-taking.js';

export interface PersonaCallDeps {
  readonly tts: TtsProvider;
  readonly vad: VadProvider;
  /** Used on legs at a rate it takes; without it keyword lines fall back to the line order. */
  readonly stt?: SttProvider;
  /** What the persona expects to hear besides its own cues (the demo agent's lines): a grammar recognizer's hint. */
  readonly vocabulary?: readonly string[];
  readonly clock: Clock;
  readonly onRecording?: (r: SandboxRecording) => void;
  readonly warn?: (msg: string, err?: unknown) => void;
}

export interface SandboxRecording {
  readonly callId: string;
  readonly dialed: string;
  readonly persona: string;
  readonly sampleRate: number;
  /** What the agent said after the greeting and beep (PCM16 mono). */
  readonly samples: Int16Array;
}

export interface PersonaCallResult {
  readonly persona: string;
  readonly answered: boolean;
  readonly codec: string | undefined;
  /** Lines the persona said, in order. */
  readonly said: readonly string[];
  /** What the persona's recognizer heard from the agent, in order. */
  readonly heard: readonly string[];
  readonly hangupReason: TurnHangupReason | undefined;
  readonly ended: LegEnded;
}

/**
 * A persona's flite voice when it names none: kal16, not rms (the agents' default,
 * FLITE_WASM_DEFAULT_VOICE), so the two sides of a sandbox call sound different in a recording;
 * after rms it is the voice a recognizer hears best (BENCHMARKS.md), and the agent must hear the persona.
 */
export const DEFAULT_PERSONA_VOICE = 'kal16';
/** Likewise for espeak-ng: a female variant, the agents' default being plain en-us. */
export const DEFAULT_PERSONA_ESPEAK_VOICE = 'en-us+f3';

/** The voice a persona speaks with on `provider`: its flite voice for flite engines, its espeak-ng voice otherwise. */
export function personaVoice(persona: Pick<Persona, 'voice' | 'espeak_voice'>, provider: string): string {
  return provider === 'flite' || provider === 'flite-wasm' ? (persona.voice ?? DEFAULT_PERSONA_VOICE) : (persona.espeak_voice ?? DEFAULT_PERSONA_ESPEAK_VOICE);
}

const BEEP_MS = 400;
const BEEP_HZ = 1000;
/** Never keep more than 5 minutes of a voicemail recording in memory. */
const MAX_RECORDING_S = 300;

export async function runPersonaCall(leg: InboundLeg, persona: Persona, deps: PersonaCallDeps, o: { answerAfterMs?: number } = {}): Promise<PersonaCallResult> {
  const warn = deps.warn ?? ((m: string, err?: unknown) => process.emitWarning(`sandbox: ${m}${err !== undefined ? `: ${String(err)}` : ''}`));
  const result = (extra: Partial<PersonaCallResult>, ended: LegEnded): PersonaCallResult => ({
    persona: persona.name, answered: false, codec: undefined, said: [], heard: [], hangupReason: undefined, ...extra, ended,
  });
  leg.ringing();
  const rang = await ringFor(leg, deps.clock, o.answerAfterMs ?? persona.answer_after_ms);
  if (!rang) return result({}, await leg.ended);
  try {
    await leg.answer();
  } catch (err) {
    warn(`could not answer ${leg.dialed}`, err);
    return result({}, await leg.ended);
  }
  const rate = leg.sampleRate ?? 8000;
  const abort = new AbortController();
  const heard: string[] = [];
  let recording: Int16Array[] | undefined;
  let recorded = 0;
  let hangupReason: TurnHangupReason | undefined;
  let vad: VadStream | undefined;
  let stt: SttStream | undefined;
  try {
    vad = await deps.vad.create({ sampleRate: rate, minSilenceMs: persona.turn_silence_ms ?? DEFAULT_TURN_SILENCE_MS, minSpeechMs: 200 });
  } catch (err) {
    warn('VAD unavailable; the persona cannot take turns', err);
  }
  if (deps.stt?.capabilities.sampleRates.includes(rate)) {
    try {
      const cues = persona.lines.flatMap((l) => l.when?.agent_said_any ?? []);
      stt = deps.stt.start({ sampleRate: rate, language: 'en-US', signal: abort.signal, vocabulary: [...cues, ...(deps.vocabulary ?? [])] });
    } catch (err) {
      warn('speech recognition unavailable; lines go in order', err);
    }
  }
  let onPlayed: (() => void) | undefined;
  const offLeg = leg.on((e) => {
    if (e.type === 'drained' && onPlayed) {
      const f = onPlayed;
      onPlayed = undefined;
      f();
    }
  });
  const play = async (pcm: Int16Array): Promise<void> => {
    if (pcm.length === 0) {
      turns.playbackDone();
      return;
    }
    onPlayed = () => turns.playbackDone();
    leg.write(pcm);
  };
  const speak = async (text: string): Promise<void> => {
    const voice = personaVoice(persona, deps.tts.name);
    const chunks: Int16Array[] = [];
    for await (const c of deps.tts.synthesize({ text, sampleRate: rate, voice, signal: abort.signal })) chunks.push(c);
    if (abort.signal.aborted) return;
    await play(concat(chunks));
  };
  const act = (a: TurnAction): void => {
    switch (a.type) {
      case 'say':
        speak(a.text).then(undefined, (err: unknown) => {
          warn(`TTS failed for ${persona.name}`, err);
          turns.playbackDone();
        });
        return;
      case 'beep':
        void play(tone(rate, BEEP_HZ, BEEP_MS));
        return;
      case 'start_recording':
        recording = [];
        return;
      case 'hangup':
        hangupReason = a.reason;
        void leg.hangup();
        return;
    }
  };
  const turns = new PersonaTurns(persona, { clock: deps.clock, act, hearsWords: stt !== undefined });
  let vadChain: Promise<void> = Promise.resolve();
  const offAudio = leg.onAudio((frame) => {
    stt?.push(frame);
    if (recording && recorded < MAX_RECORDING_S * rate) {
      recording.push(frame);
      recorded += frame.length;
    }
    const v = vad;
    if (!v) return;
    vadChain = v.push(frame).then(
      (r) => {
        for (const ev of r.events) {
          if (ev.type === 'speech_start') turns.agentSpeechStart();
          else turns.agentSpeechEnd();
        }
      },
      (err: unknown) => warn('VAD failed', err),
    );
  });
  const listening = (async () => {
    if (!stt) return;
    for await (const ev of stt) {
      if (ev.type === 'final' && ev.text.trim() !== '') {
        heard.push(ev.text);
        turns.agentSaid(ev.text);
      } else if (ev.type === 'error') warn('speech recognition error', ev.error);
    }
  })();
  turns.start();
  const ended = await leg.ended;
  turns.stop();
  offAudio();
  offLeg();
  abort.abort();
  stt?.end();
  await vadChain;
  await listening.catch((err: unknown) => warn('recognizer loop failed', err));
  if (recording && deps.onRecording) {
    deps.onRecording({ callId: leg.callId, dialed: leg.dialed, persona: persona.name, sampleRate: rate, samples: concat(recording) });
  }
  return result({ answered: true, codec: leg.codec, said: [...turns.said], heard, hangupReason }, ended);
}

/** Rings for ms; false when the call ended meanwhile (the caller canceled). */
function ringFor(leg: InboundLeg, clock: Clock, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    let done = false;
    const h = clock.setTimer(ms, () => {
      if (done) return;
      done = true;
      resolve(true);
    });
    void leg.ended.then(() => {
      if (done) return;
      done = true;
      clock.clearTimer(h);
      resolve(false);
    });
  });
}

function concat(chunks: readonly Int16Array[]): Int16Array {
  const out = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function tone(rate: number, hz: number, ms: number): Int16Array {
  const n = Math.round((rate * ms) / 1000);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(9000 * Math.sin((2 * Math.PI * hz * i) / rate));
  return out;
}
