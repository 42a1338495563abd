/**
 * A local server speaking Deepgram's documented live-streaming protocol (GET /v1/listen upgraded to a
 * WebSocket; see src/providers/stt/deepgram.ts for the doc pages), with real recognition behind it:
 * the client's linear16 audio (8 kHz upsampled to 16 kHz first) goes into the project's
 * PocketsphinxStt, and each utterance it settles is sent as Deepgram sends one: an interim `Results`
 * (is_final false), then a `Results` with is_final and speech_final true and word times in seconds.
 * After `{"type":"CloseStream"}` the last results come with speech_final false (the client must still
 * settle them), then `Metadata`, then a 1000 close. A wrong or missing `Authorization: Token` is
 * refused at the upgrade with 401 and Deepgram's `{"err_code","err_msg","request_id"}` body.
 *
 * Scripted hearing (`hear(text)`): pocketsphinx cannot make out narrowband (8 kHz) speech upsampled
 * to its 16 kHz model, so a narrowband call test tells the server what the callee says. The next
 * utterance the recognizer settles (its boundaries still come from the real audio) is reported
 * with that text, in the same message format. With `scripted: true`, an utterance settled while
 * nothing is queued is reported with an empty transcript, as Deepgram reports non-speech, so the
 * recognizer's guesses never reach the client.
 */
import { randomUUID } from 'node:crypto';
import type { RawData, WebSocket } from 'ws';
import { Resampler } from '../../src/media/resampler.js';
import { PocketsphinxStt } from '../../src/providers/stt/pocketsphinx.js';
import type { SttEvent } from '../../src/providers/stt/types.js';
import { pcmFromBytes, rawToBuffer, WsVendorServer, type Session } from './ws-vendor-server.js';

export interface DeepgramServerOptions {
  /** The key the server accepts (default: any non-empty token). */
  apiKey?: string;
  /** Only `hear()` texts are reported; unscripted utterances come back with an empty transcript. */
  scripted?: boolean;
}

/** What the next settled utterances are heard as (shared by all connections, in order). */
export class DeepgramScript {
  readonly #queue: string[] = [];
  /** The texts reported so far, in order. */
  readonly reported: string[] = [];

  hear(...texts: string[]): this {
    this.#queue.push(...texts);
    return this;
  }

  /** The text to report for a settled utterance the recognizer heard as `recognized`. */
  take(recognized: string, scripted: boolean): string {
    const t = this.#queue.shift() ?? (scripted ? '' : recognized);
    if (t !== '') this.reported.push(t);
    return t;
  }
}

export interface DeepgramTimings {
  /** From CloseStream received to Metadata sent: the recognizer's settle time. */
  settleMs: number[];
}

export async function startDeepgramServer(o: DeepgramServerOptions = {}): Promise<{ server: WsVendorServer; timings: DeepgramTimings; script: DeepgramScript }> {
  const timings: DeepgramTimings = { settleMs: [] };
  const script = new DeepgramScript();
  const server = await WsVendorServer.start(
    {
      audioOf: (data: RawData, isBinary: boolean) => (isBinary ? rawToBuffer(data) : undefined),
      onConnection: (ws, session) => serve(ws, session, o, timings, script),
    },
    '/v1',
  );
  return { server, timings, script };
}

/** The upgrade refusal Deepgram sends for a bad key (also scripted by tests for other statuses). */
export function deepgramErrorBody(code: string, msg: string): Record<string, string> {
  return { err_code: code, err_msg: msg, request_id: randomUUID() };
}

function serve(ws: WebSocket, session: Session, o: DeepgramServerOptions, timings: DeepgramTimings, script: DeepgramScript): void {
  const auth = String(session.headers.authorization ?? '');
  const token = /^Token (.+)$/.exec(auth)?.[1];
  if (!token || (o.apiKey !== undefined && token !== o.apiKey) || session.path !== '/v1/listen') {
    // Real Deepgram refuses before the upgrade; tests script that with next({kind:'reject'}). An
    // unscripted bad request still fails loudly rather than transcribing.
    ws.close(1008, !token ? 'missing Token authorization' : session.path !== '/v1/listen' ? `no route ${session.path}` : 'INVALID_AUTH');
    return;
  }
  const rate = Number(session.query.get('sample_rate'));
  const q = session.query;
  if (q.get('encoding') !== 'linear16' || q.get('channels') !== '1' || !(rate === 8000 || rate === 16000)) {
    ws.close(1008, 'DATA-0000: unsupported encoding, channels or sample_rate for this test server');
    return;
  }
  const requestId = randomUUID();
  const up = rate === 16000 ? undefined : new Resampler(rate, 16000);
  const ac = new AbortController();
  const recognizer = new PocketsphinxStt().start({ sampleRate: 16000, signal: ac.signal });
  let closing = false;
  let closeAt = 0;
  let heardSamples = 0;
  const send = (m: unknown) => {
    if (!session.faulted && ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
  };
  const results = (e: Extract<SttEvent, { type: 'final' }>, isFinal: boolean, speechFinal: boolean, words: string[]) => {
    const start = e.startMs / 1000;
    const end = e.endMs / 1000;
    const step = words.length > 0 ? (end - start) / words.length : 0;
    send({
      type: 'Results',
      channel_index: [0, 1],
      duration: end - start,
      start,
      is_final: isFinal,
      speech_final: speechFinal,
      channel: {
        alternatives: [
          {
            transcript: words.join(' '),
            confidence: e.confidence ?? 0.9,
            // Pocketsphinx gives the utterance's bounds; words are spread evenly inside them.
            words: words.map((w, i) => ({ word: w, start: start + i * step, end: start + (i + 1) * step, confidence: e.confidence ?? 0.9, punctuated_word: w })),
          },
        ],
      },
      metadata: { request_id: requestId, model_info: { name: q.get('model') ?? 'general', version: 'local', arch: 'pocketsphinx' }, model_uuid: 'local' },
      from_finalize: false,
    });
  };
  (async () => {
    for await (const e of recognizer) {
      if (e.type === 'final') {
        const words = script.take(e.text, o.scripted === true).split(/\s+/).filter(Boolean);
        results(e, false, false, words.slice(0, Math.max(1, Math.ceil(words.length / 2))));
        results(e, true, !closing, words);
      } else if (e.type === 'error') {
        ws.close(1011, `NET-0000: recognizer failed: ${e.error.message}`.slice(0, 120));
      }
    }
    if (closing && !session.faulted && ws.readyState === ws.OPEN) {
      timings.settleMs.push(performance.now() - closeAt);
      send({ type: 'Metadata', transaction_key: 'deprecated', request_id: requestId, sha256: '', created: new Date().toISOString(), duration: heardSamples / 16000, channels: 1, models: ['local'], model_info: {} });
      ws.close(1000);
    }
  })().catch((err: unknown) => ws.close(1011, `NET-0000: ${String(err)}`.slice(0, 120)));
  ws.on('message', (data, isBinary) => {
    if (session.faulted) return;
    if (isBinary) {
      if (closing) return;
      const pcm = pcmFromBytes(rawToBuffer(data));
      const wide = up ? up.process(pcm) : pcm;
      heardSamples += wide.length;
      recognizer.push(wide);
      return;
    }
    const text = String(data);
    let m: { type?: unknown };
    try {
      m = JSON.parse(text) as { type?: unknown };
    } catch {
      ws.close(1008, 'DATA-0000: text message is not JSON');
      return;
    }
    if (m.type === 'CloseStream') {
      closing = true;
      closeAt = performance.now();
      recognizer.end();
    }
    // KeepAlive and Finalize need nothing here: audio flows and the recognizer settles on its own.
  });
  ws.on('close', () => ac.abort());
}
