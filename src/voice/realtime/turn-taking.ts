/**
 * Two turn-taking rules of a speech-to-speech call that the model's server does not apply for us:
 * when the callee's speech cuts the agent off (SpeechCut: barge_in.min_speech_ms), and when a slow
 * reply gets a filler phrase (ReplyFiller: conversation.filler). Both run on the session's timers.
 */

/** One named timer of the session (its SessionShell's NamedTimers). */
export interface OneTimer {
  set(ms: number, fn: () => void): void;
  clear(): void;
  running(): boolean;
}

/**
 * The server's own interruption is off (turn_detection.interrupt_response: false): the agent is cut
 * once the callee's speech has lasted minSpeechMs, counted on the audio clock the server's
 * audio_start_ms / audio_end_ms use (ms of audio appended since the session began), from where the
 * speech began (audio_start_ms plus the prefix padding it includes). A short "mm-hm" never cuts.
 */
export class SpeechCut {
  /** Audio handed to the socket so far, in ms. */
  #sentMs = 0;
  /** Where the callee's current speech began, while it may still cut in. */
  #began: number | undefined;

  constructor(
    private readonly d: {
      minSpeechMs: () => number;
      /** server_vad's audio_start_ms includes its prefix padding; semantic_vad has none. */
      prefixPaddingMs: number;
      timer: OneTimer;
      cut: () => void;
    },
  ) {}

  /** `ms` of the callee's audio went to the model. */
  sent(ms: number): void {
    this.#sentMs += ms;
  }

  /** speech_started: cut now if the speech already lasted long enough (the server detects it late), else when it has. */
  started(audioStartMs: number | undefined): void {
    const began = (audioStartMs ?? this.#sentMs) + this.d.prefixPaddingMs;
    this.#began = began;
    const left = this.d.minSpeechMs() - Math.max(0, this.#sentMs - began);
    if (left <= 0) return this.#cut();
    this.d.timer.set(left, () => this.#cut());
  }

  /** speech_stopped: speech that lasted minSpeechMs cuts in now if its timer has not yet. */
  stopped(audioEndMs: number | undefined): void {
    const began = this.#began;
    this.#began = undefined;
    if (began === undefined || !this.d.timer.running()) return;
    this.d.timer.clear();
    if ((audioEndMs ?? this.#sentMs) - began >= this.d.minSpeechMs()) this.d.cut();
  }

  #cut(): void {
    this.#began = undefined;
    this.d.cut();
  }
}

/**
 * conversation.filler: once the callee waits for a reply (their turn ended, a digit, a tool call),
 * a phrase is said if no reply audio has started after afterMs of the agent's silence; once per wait.
 */
export class ReplyFiller {
  #waiting = false;
  /** The timer ran while the agent was still speaking: count again from the moment it falls silent. */
  #onIdle = false;
  #n = 0;

  constructor(
    private readonly d: {
      filler: { afterMs: number; phrases: string[] } | undefined;
      timer: OneTimer;
      /** The agent is speaking (the playout is busy). */
      speaking: () => boolean;
      /** No new turns: the call is ending. */
      ending: () => boolean;
      say: (phrase: string) => void;
    },
  ) {}

  /** The callee now waits for a reply. */
  wait(): void {
    if (!this.d.filler || this.d.ending()) return;
    this.#waiting = true;
    this.#arm();
  }

  /** The agent fell silent. */
  idle(): void {
    if (this.#onIdle) this.#arm();
  }

  /** A reply's audio began: no filler is owed. */
  replied(): void {
    this.#waiting = false;
    this.#onIdle = false;
    this.d.timer.clear();
  }

  #arm(): void {
    const f = this.d.filler;
    this.#onIdle = false;
    if (!f || !this.#waiting) return;
    this.d.timer.set(f.afterMs, () => {
      if (!this.#waiting || this.d.ending()) return;
      if (this.d.speaking()) return void (this.#onIdle = true);
      this.#waiting = false;
      const phrases = f.phrases.filter((p) => p.trim() !== '');
      if (phrases.length > 0) this.d.say(phrases[this.#n++ % phrases.length] as string);
    });
  }
}
