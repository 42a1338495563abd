/**
 * One sandbox call answered by a persona: rings, answers, then runs PersonaTurns on live audio.
 * Ears: energy VAD on the agent's audio (turn ends after turn_silence_ms of silence) and a speech
 * recognizer at the leg's rate, when it takes that rate (pocketsphinx hears 8 and 16 kHz legs with
 * their own models; soundswallower hears both through its 8 kHz model), so keyword lines can react to words.
 * Mouth: a TtsProvider (the persona's flite voice when the provider is flite or flite-wasm, its
 * espeak-ng voice otherwise), tones and beeps rendered here, each written whole into the leg; the leg's
 * 'drained' event says it has been played.
 * Timing: what the persona sent and when the agent spoke, in ms from the answer (the moment the 200 OK
 * was sent and media started) on the sandbox's clock, so a test can check that a voicemail message
 * started after the beep. Agent speech is timed as heard, i.e. behind the agent's sending by the
 * sandbox leg's jitter buffer (~60 ms on loopback).
 */
import type { SttProvider, SttStream } from '../providers/stt/types.js';
import type { TtsProvider } from '../providers/tts/types.js';
import type { VadProvider, VadStream } from '../providers/vad/types.js';
import type { Clock } from '../time/clock.js';
import type { InboundLeg } from '../telephony/inbound-leg.js';
import type { LegEnded } from '../telephony/leg-events.js';
import type { Persona } from './persona.js';
import { concatPcm, renderTones } from './tones.js';
import { DEFAULT_TURN_SILENCE_MS, PersonaTurns, type TurnAction, type TurnHangupReason } from './turn-taking.js';

/** What a persona call uses of its leg (an InboundLeg on the sandbox; a fake one in unit tests). */
export type PersonaLeg = Pick<InboundLeg, 'callId' | 'dialed' | 'sampleRate' | 'codec' | 'ended' | 'ringing' | 'answer' | 'hangup' | 'write' | 'on' | 'onAudio'> &
  Partial<Pick<InboundLeg, 'earlyMedia' | 'reject'>>;

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

/** When the persona's own sounds finished playing and its recording began: ms from the answer. */
export interface PersonaTiming {
  /** The last pass of `tones` finished being sent. */
  readonly tonesEndMs?: number;
  /** The person's answer_line ("Hello?") finished being sent. */
  readonly answerLineEndMs?: number;
  /** The machine's greeting finished being sent. */
  readonly greetingEndMs?: number;
  /** The beep finished being sent (undefined without a beep). */
  readonly beepEndMs?: number;
  /** The recording's first sample: the beep's end, or the greeting's end without a beep. */
  readonly recordingStartMs?: number;
}

/** One stretch of agent speech as the persona's VAD heard it, ms from the answer; endMs undefined while it lasted to the end. */
export interface AgentSpeechSpan {
  readonly startMs: number;
  readonly endMs?: number;
}

export interface SandboxRecording {
  readonly callId: string;
  readonly dialed: string;
  readonly persona: string;
  readonly sampleRate: number;
  /** What the agent said from the recording's start on (PCM16 mono); samples[0] is at recordingStartMs. */
  readonly samples: Int16Array;
  /** ms from the answer when the recording began (the beep's end, or the greeting's end without a beep). */
  readonly recordingStartMs: number;
  /** ms from the answer when the greeting finished being sent. */
  readonly greetingEndMs?: number;
  /** ms from the answer when the beep finished being sent; undefined without a beep. */
  readonly beepEndMs?: number;
  /** The agent's speech over the whole call (also before the recording: talking over the greeting or beep). */
  readonly agentSpeech: readonly AgentSpeechSpan[];
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
  /** When the persona's tones, opening, beep and recording happened (empty when it never answered). */
  readonly timing: PersonaTiming;
  /** The agent's speech as heard (the first 200 stretches). */
  readonly agentSpeech: readonly AgentSpeechSpan[];
  /** Length of the recording (ms) for a recording persona; the audio itself goes to onRecording. */
  readonly recordedMs?: number;
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

/** The voice a persona (or one of its lines) speaks with on `provider`: its flite voice for flite engines, its espeak-ng voice otherwise. */
export function personaVoice(persona: Pick<Persona, 'voice' | 'espeak_voice'>, provider: string): string {
  return provider === 'flite' || provider === 'flite-wasm' ? (persona.voice ?? DEFAULT_PERSONA_VOICE) : (persona.espeak_voice ?? DEFAULT_PERSONA_ESPEAK_VOICE);
}

/** Never keep more than 5 minutes of a voicemail recording in memory. */
const MAX_RECORDING_S = 300;
/** Agent speech stretches kept per call (a call's record stays small). */
const MAX_SPEECH_SPANS = 200;

export async function runPersonaCall(
  leg: PersonaLeg,
  persona: Persona,
  deps: PersonaCallDeps,
  /** earlyMedia: the persona plays over a 183 and is never answered; its hang-up is this final status. */
  o: { answerAfterMs?: number; earlyMedia?: { finalStatus: number; reason: string } } = {},
): Promise<PersonaCallResult> {
  const warn = deps.warn ?? ((m: string, err?: unknown) => process.emitWarning(`sandbox: ${m}${err !== undefined ? `: ${String(err)}` : ''}`));
  const result = (extra: Partial<PersonaCallResult>, ended: LegEnded): PersonaCallResult => ({
    persona: persona.name, answered: false, codec: undefined, said: [], heard: [], hangupReason: undefined, timing: {}, agentSpeech: [], ...extra, ended,
  });
  leg.ringing();
  const rang = await ringFor(leg, deps.clock, o.answerAfterMs ?? persona.answer_after_ms);
  if (!rang) return result({}, await leg.ended);
  const early = o.earlyMedia;
  try {
    if (early) {
      if (!leg.earlyMedia) throw new Error('this leg cannot send early media');
      await leg.earlyMedia();
    } else await leg.answer();
  } catch (err) {
    warn(`could not ${early ? 'start early media on' : 'answer'} ${leg.dialed}`, err);
    return result({}, await leg.ended);
  }
  // Times count from the answer, or from the 183 for early media.
  const answeredAt = deps.clock.now();
  const sinceAnswer = (): number => deps.clock.now() - answeredAt;
  const rate = leg.sampleRate ?? 8000;
  const timing: { -readonly [K in keyof PersonaTiming]: PersonaTiming[K] } = {};
  const agentSpeech: Array<{ startMs: number; endMs?: number }> = [];
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
  type Sound = 'tones' | 'answer' | 'greeting' | 'line' | 'beep';
  /** The moment a sound finished being sent, kept for the sounds a test times against. */
  const played = (what: Sound): void => {
    const at = sinceAnswer();
    if (what === 'tones') timing.tonesEndMs = at;
    else if (what === 'answer') timing.answerLineEndMs = at;
    else if (what === 'greeting') timing.greetingEndMs = at;
    else if (what === 'beep') timing.beepEndMs = at;
    turns.playbackDone();
  };
  const play = (pcm: Int16Array, what: Sound): void => {
    if (pcm.length === 0) {
      played(what);
      return;
    }
    onPlayed = () => played(what);
    leg.write(pcm);
  };
  const speak = async (a: Extract<TurnAction, { type: 'say' }>): Promise<void> => {
    const voice = personaVoice({ voice: a.voice ?? persona.voice, espeak_voice: a.espeakVoice ?? persona.espeak_voice }, deps.tts.name);
    const chunks: Int16Array[] = [];
    for await (const c of deps.tts.synthesize({ text: a.text, sampleRate: rate, voice, signal: abort.signal })) chunks.push(c);
    if (abort.signal.aborted) return;
    play(concatPcm(chunks), a.kind);
  };
  const act = (a: TurnAction): void => {
    switch (a.type) {
      case 'say':
        speak(a).then(undefined, (err: unknown) => {
          warn(`TTS failed for ${persona.name}`, err);
          turns.playbackDone();
        });
        return;
      case 'tones':
        play(renderTones(rate, a.segments), 'tones');
        return;
      case 'beep':
        play(renderTones(rate, [{ hz: a.hz, ms: a.ms }]), 'beep');
        return;
      case 'start_recording':
        recording = [];
        timing.recordingStartMs = sinceAnswer();
        return;
      case 'hangup':
        hangupReason = a.reason;
        // Early media was never answered: the network ends it with a final status instead of a BYE.
        if (early && leg.reject) leg.reject(early.finalStatus, early.reason);
        else void leg.hangup();
        return;
    }
  };
  const turns = new PersonaTurns(persona, { clock: deps.clock, act, hearsWords: stt !== undefined });
  let vadChain: Promise<void> = Promise.resolve();
  let heardMs = 0;
  const offAudio = leg.onAudio((frame) => {
    stt?.push(frame);
    if (recording && recorded < MAX_RECORDING_S * rate) {
      recording.push(frame);
      recorded += frame.length;
    }
    const v = vad;
    if (!v) return;
    // VAD times are audio ms since its first frame; this frame's arrival anchors them to the answer.
    heardMs += (frame.length * 1000) / rate;
    const frameEnd = { audioMs: heardMs, atMs: sinceAnswer() };
    vadChain = v.push(frame).then(
      (r) => {
        for (const ev of r.events) {
          const at = Math.max(0, frameEnd.atMs - (frameEnd.audioMs - ev.atMs));
          if (ev.type === 'speech_start') {
            if (agentSpeech.length < MAX_SPEECH_SPANS) agentSpeech.push({ startMs: at });
            turns.agentSpeechStart();
          } else {
            const open = agentSpeech.at(-1);
            if (open && open.endMs === undefined) open.endMs = at;
            turns.agentSpeechEnd();
          }
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
  const speech = agentSpeech.map((x) => ({ ...x }));
  if (recording && deps.onRecording) {
    deps.onRecording({
      callId: leg.callId, dialed: leg.dialed, persona: persona.name, sampleRate: rate, samples: concatPcm(recording),
      recordingStartMs: timing.recordingStartMs ?? 0,
      ...(timing.greetingEndMs !== undefined ? { greetingEndMs: timing.greetingEndMs } : {}),
      ...(timing.beepEndMs !== undefined ? { beepEndMs: timing.beepEndMs } : {}),
      agentSpeech: speech,
    });
  }
  return result({
    answered: !early, codec: leg.codec, said: [...turns.said], heard, hangupReason, timing: { ...timing }, agentSpeech: speech,
    ...(recording ? { recordedMs: Math.round((recorded * 1000) / rate) } : {}),
  }, ended);
}

/** Rings for ms; false when the call ended meanwhile (the caller canceled). */
function ringFor(leg: PersonaLeg, clock: Clock, ms: number): Promise<boolean> {
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


