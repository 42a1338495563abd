/**
 * A local server speaking AssemblyAI's documented Universal-Streaming (v3) protocol (GET /v3/ws upgraded
 * to a WebSocket; see src/providers/stt/assemblyai.ts for the doc pages), with real recognition behind it.
 *
 * - Auth: the `Authorization` header must be the key itself (any non-empty value unless `apiKey` is
 *   given); otherwise the session is closed with 1008 "Unauthorized Connection: Missing Authorization
 *   header", as documented. Refusals at the HTTP upgrade (401, 429 with retry-after, 5xx) are scripted
 *   with `server.next({kind: 'reject', ...})`.
 * - Query: `sample_rate` (a positive integer), `encoding` (`pcm_s16le`, the default, or `pcm_mulaw`),
 *   `speech_model` (required by the current docs), `format_turns`, and `keyterms_prompt` (a JSON array of
 *   strings) are checked; anything malformed ends the session with an Error message and a close.
 * - `Begin` (id, expires_at in unix seconds) on connect, or after `beginDelayMs` (`script.behave`).
 * - Audio: binary messages, decoded per the encoding (mu-law or PCM16 LE) and kept per session
 *   (`received(session)`); one shorter than 50 ms or longer than 1000 ms ends the session as documented:
 *   `{"type":"Error","error_code":3007,"error":"Input duration violation: ..."}`, then close 3007.
 * - The decoded audio (8 kHz upsampled to 16 kHz) goes into the project's PocketsphinxStt; each
 *   utterance it settles is sent as the documented message sequence of one turn: a Turn per word with
 *   `end_of_turn: false` (the words so far, the newest not yet final, `transcript` the final ones), a Turn
 *   with `end_of_turn: true` (unformatted: lower case, no punctuation), and with format_turns a copy
 *   with `turn_is_formatted: true` (capitalized, a full stop). Word times are ms from the start of the
 *   audio, spread evenly over the utterance's bounds.
 * - `ForceEndpoint` ends the recognizer's current utterance (it settles and a new recognizer takes the
 *   audio after it); `Terminate` settles the rest, then `Termination` and a 1000 close
 *   (`ignoreTerminate` leaves a Terminate unanswered). `UpdateConfiguration` may change format_turns;
 *   `KeepAlive` is accepted; any other type ends the session with 3006 "Invalid Message Type".
 *
 * Scripted hearing (`hear(text)`), as in deepgram-protocol-server.ts: pocketsphinx cannot make out
 * narrowband speech upsampled to its 16 kHz model, so tests say what the callee says; the next
 * utterance the recognizer settles (its bounds still come from the real audio) is reported with that
 * text. With `scripted: true`, an utterance settled while nothing is queued is not reported at all,
 * as AssemblyAI sends no turn for non-speech.
 */
import { randomUUID } from 'node:crypto';
import type { RawData, WebSocket } from 'ws';
import { decodeMuLaw } from '../../src/media/g711.js';
import { Resampler } from '../../src/media/resampler.js';
import { PocketsphinxStt, type PocketsphinxStream } from '../../src/providers/stt/pocketsphinx.js';
import type { SttEvent } from '../../src/providers/stt/types.js';
import { pcmFromBytes, rawToBuffer, WsVendorServer, type Session } from './ws-vendor-server.js';

export interface AssemblyAiServerOptions {
  /** The key the server accepts (default: any non-empty Authorization header). */
  apiKey?: string;
  /** Only `hear()` texts are reported; unscripted utterances send no turn. */
  scripted?: boolean;
}

/** How the next accepted session behaves (taken in order, one per session). */
export interface AssemblyAiBehaviour {
  /** Begin is sent this long after the upgrade (real time). */
  beginDelayMs?: number;
  /** A Terminate is recorded and never answered. */
  ignoreTerminate?: boolean;
}

/** What the next settled utterances are heard as (shared by all connections, in order), and per-session behaviour. */
export class AssemblyAiScript {
  readonly #queue: string[] = [];
  readonly #behaviours: AssemblyAiBehaviour[] = [];
  /** The texts reported so far, in order. */
  readonly reported: string[] = [];

  hear(...texts: string[]): this {
    this.#queue.push(...texts);
    return this;
  }

  behave(b: AssemblyAiBehaviour): this {
    this.#behaviours.push(b);
    return this;
  }

  nextBehaviour(): AssemblyAiBehaviour {
    return this.#behaviours.shift() ?? {};
  }

  take(recognized: string, scripted: boolean): string {
    const t = this.#queue.shift() ?? (scripted ? '' : recognized);
    if (t !== '') this.reported.push(t);
    return t;
  }
}

export interface AssemblyAiTimings {
  /** From Terminate received to Termination sent: the recognizer's settle time. */
  settleMs: number[];
}

interface Received {
  encoding: string;
  rate: number;
  /** Each audio message decoded to PCM16, in arrival order. */
  messages: Int16Array[];
}

export interface AssemblyAiServer {
  server: WsVendorServer;
  script: AssemblyAiScript;
  timings: AssemblyAiTimings;
  /** The audio a session received, decoded and concatenated (at the session's sample_rate). */
  received(session: Session): Int16Array;
  /** The length of each audio message a session received, in ms. */
  messageMs(session: Session): number[];
}

export async function startAssemblyAiServer(o: AssemblyAiServerOptions = {}): Promise<AssemblyAiServer> {
  const timings: AssemblyAiTimings = { settleMs: [] };
  const script = new AssemblyAiScript();
  const rx = new Map<Session, Received>();
  const server = await WsVendorServer.start(
    {
      audioOf: (data: RawData, isBinary: boolean) => (isBinary ? rawToBuffer(data) : undefined),
      onConnection: (ws, session) => serve(ws, session, o, timings, script, rx),
    },
    '/v3',
  );
  const of = (s: Session): Received => rx.get(s) ?? { encoding: '', rate: 0, messages: [] };
  return {
    server,
    script,
    timings,
    received: (s) => {
      const parts = of(s).messages;
      const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
      return out;
    },
    messageMs: (s) => of(s).messages.map((p) => (p.length * 1000) / of(s).rate),
  };
}

interface W {
  text: string;
  start: number;
  end: number;
  confidence: number;
}

function serve(ws: WebSocket, session: Session, o: AssemblyAiServerOptions, timings: AssemblyAiTimings, script: AssemblyAiScript, rx: Map<Session, Received>): void {
  const behaviour = script.nextBehaviour();
  const send = (m: unknown) => {
    if (!session.faulted && ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
  };
  let failed = false;
  /** The documented way a session ends in error: an Error message, then a close with the same code. */
  const fail = (code: number, error: string) => {
    if (failed) return;
    failed = true;
    send({ type: 'Error', error_code: code, error });
    if (ws.readyState === ws.OPEN) ws.close(code, Buffer.byteLength(error) > 123 ? 'See Error message for details' : error);
  };
  const auth = String(session.headers.authorization ?? '');
  if (auth === '' || (o.apiKey !== undefined && auth !== o.apiKey)) {
    ws.close(1008, 'Unauthorized Connection: Missing Authorization header');
    return;
  }
  if (session.path !== '/v3/ws') return fail(3005, `Session Cancelled: no route ${session.path} on this test server`);
  const q = session.query;
  const rate = Number(q.get('sample_rate'));
  const encoding = q.get('encoding') ?? 'pcm_s16le';
  if (!Number.isInteger(rate) || rate <= 0) return fail(3006, `Invalid Message: sample_rate must be a positive integer, got ${q.get('sample_rate')}`);
  if (encoding !== 'pcm_s16le' && encoding !== 'pcm_mulaw') return fail(3006, `Invalid Message: encoding ${encoding}`);
  if (!q.get('speech_model')) return fail(3006, 'Invalid Message: speech_model is required');
  const keyterms = q.get('keyterms_prompt');
  if (keyterms !== null) {
    let ok: boolean;
    try {
      const v = JSON.parse(keyterms) as unknown;
      ok = Array.isArray(v) && v.every((k) => typeof k === 'string');
    } catch {
      ok = false;
    }
    if (!ok) return fail(3006, `Invalid Message: keyterms_prompt must be a JSON array of strings, got ${keyterms.slice(0, 60)}`);
  }
  let formatTurns = q.get('format_turns') === 'true';
  const received: Received = { encoding, rate, messages: [] };
  rx.set(session, received);

  const beginTimer = setTimeout(() => send({ type: 'Begin', id: randomUUID(), expires_at: Math.floor(Date.now() / 1000) + 3 * 3600 }), behaviour.beginDelayMs ?? 0);
  const up = rate === 16000 ? undefined : new Resampler(rate, 16000);
  const ac = new AbortController();
  let heard16 = 0;
  let turnOrder = 0;
  let closing = false;
  let closeAt = 0;
  /** The recognizer taking the audio now (started at the first audio after a ForceEndpoint). */
  let rec: PocketsphinxStream | undefined;
  /** Every recognizer's results, sent in the order the recognizers were started. */
  let chain: Promise<void> = Promise.resolve();

  const turn = (words: W[], finalCount: number, endOfTurn: boolean, formatted: boolean) => {
    const transcript = words.slice(0, finalCount).map((w) => w.text).join(' ');
    send({
      turn_order: turnOrder,
      turn_is_formatted: formatted,
      end_of_turn: endOfTurn,
      transcript,
      end_of_turn_confidence: endOfTurn ? 0.9 : 0.01,
      words: words.map((w, i) => ({ start: w.start, end: w.end, text: w.text, confidence: w.confidence, word_is_final: i < finalCount })),
      utterance: endOfTurn ? transcript : '',
      type: 'Turn',
    });
  };
  const sendTurn = (e: Extract<SttEvent, { type: 'final' }>, offsetMs: number) => {
    const texts = script.take(e.text, o.scripted === true).split(/\s+/).filter(Boolean);
    if (texts.length === 0) return; // non-speech: no turn
    const start = offsetMs + e.startMs;
    const step = (e.endMs - e.startMs) / texts.length;
    const conf = e.confidence ?? 0.9;
    const plain = texts.map((t, i) => ({ text: t.toLowerCase().replace(/[^\p{L}\p{N}']/gu, ''), start: Math.round(start + i * step), end: Math.round(start + (i + 1) * step), confidence: conf }));
    for (let i = 1; i <= plain.length; i++) turn(plain.slice(0, i), i - 1, false, false);
    turn(plain, plain.length, true, false);
    if (formatTurns) {
      const fmt = plain.map((w, i) => ({ ...w, text: texts[i] as string }));
      const first = fmt[0] as W;
      const last = fmt[fmt.length - 1] as W;
      first.text = first.text.charAt(0).toUpperCase() + first.text.slice(1);
      if (!/[.?!]$/.test(last.text)) last.text += '.';
      turn(fmt, fmt.length, true, true);
    }
    turnOrder++;
  };
  const startRecognizer = (): PocketsphinxStream => {
    const r = new PocketsphinxStt().start({ sampleRate: 16000, signal: ac.signal });
    const offsetMs = heard16 / 16;
    const before = chain;
    chain = (async () => {
      for await (const e of r) {
        await before;
        if (e.type === 'final') sendTurn(e, offsetMs);
        else if (e.type === 'error') fail(3005, `Session Cancelled: An error occurred (recognizer: ${e.error.message})`.slice(0, 200));
      }
      await before;
    })().catch((err: unknown) => fail(3005, `Session Cancelled: An error occurred (${String(err)})`.slice(0, 200)));
    return r;
  };

  ws.on('message', (data, isBinary) => {
    if (session.faulted || failed) return;
    if (isBinary) {
      if (closing) return;
      const bytes = rawToBuffer(data);
      if (encoding === 'pcm_s16le' && bytes.length % 2 !== 0) return fail(3006, `Invalid Message: ${bytes.length} bytes is not whole pcm_s16le samples`);
      const pcm = encoding === 'pcm_mulaw' ? decodeMuLaw(bytes) : pcmFromBytes(bytes);
      const ms = (pcm.length * 1000) / rate;
      if (ms < 50 || ms > 1000) return fail(3007, `Input duration violation: ${ms} ms. Expected between 50 and 1000 ms`);
      received.messages.push(pcm);
      const wide = up ? up.process(pcm) : pcm;
      heard16 += wide.length;
      rec ??= startRecognizer();
      rec.push(wide);
      return;
    }
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(String(data)) as Record<string, unknown>;
      if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new Error('not an object');
    } catch {
      return fail(3006, `Invalid JSON: ${String(data).slice(0, 60)}`);
    }
    switch (m.type) {
      case 'ForceEndpoint':
        rec?.end();
        rec = undefined;
        return;
      case 'Terminate':
        if (closing) return;
        closing = true;
        closeAt = performance.now();
        if (behaviour.ignoreTerminate) return;
        rec?.end();
        rec = undefined;
        void chain.then(() => {
          if (failed || session.faulted || ws.readyState !== ws.OPEN) return;
          timings.settleMs.push(performance.now() - closeAt);
          send({ type: 'Termination', audio_duration_seconds: Math.round(heard16 / 16000), session_duration_seconds: Math.round((performance.now() - session.openedAt) / 1000) });
          ws.close(1000);
        });
        return;
      case 'UpdateConfiguration':
        if (typeof m.format_turns === 'boolean') formatTurns = m.format_turns;
        return;
      case 'KeepAlive':
        return;
      default:
        return fail(3006, `Invalid Message Type: ${String(m.type)}`);
    }
  });
  ws.on('close', () => {
    clearTimeout(beginTimer);
    ac.abort();
  });
}
