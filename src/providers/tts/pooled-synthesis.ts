/**
 * One utterance as one vendor "context" on a kept WebSocket (Cartesia's contexts, ElevenLabs'
 * multi-context socket): take an idle connection from the pool or open one, start the context,
 * read its audio until the vendor says it is done, and give the connection back.
 *
 * How the connection is left:
 * - done: back to the pool for the next utterance;
 * - stopped early (barge-in, or the reader stopped): the vendor's cancel for the context is sent
 *   and the connection goes back; late pieces of that context are skipped by the next reader,
 *   since every answer names its context. A vendor with no such cancel gets the socket closed;
 * - an error, a timeout, a malformed message or a lost connection: closed, never pooled.
 * A pooled connection found dead before any audio of this utterance (the server closed it while
 * it sat idle) is replaced once, transparently: nothing was heard yet.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../time/clock.js';
import { ProviderError } from '../errors.js';
import { SynthesisTimer, type TtsTimeouts } from './cloud-audio.js';
import { type WsChannel, socketFailure, type WsEvent } from './ws-channel.js';
import type { WsPool } from './ws-pool.js';

/** What one text frame means to the utterance reading it. */
export type ContextFrame =
  /** Another context's (a cancelled earlier utterance on this connection): skipped. */
  | { kind: 'other' }
  | { kind: 'audio'; audio: Buffer; done?: boolean }
  | { kind: 'done' }
  /** Nothing for us (alignment-only, keep-alive acknowledgements...). */
  | { kind: 'none' };

/** A vendor's context protocol, as the loop needs it. */
export interface ContextProtocol {
  readonly name: string;
  /** The messages that start the utterance on context `contextId` of an open connection. */
  start(contextId: string): unknown[];
  /** Reads one text frame; throws the mapped ProviderError for an error message of ours. */
  read(text: string, contextId: string): ContextFrame;
  /**
   * The vendor's documented message that stops generating a context, after which the connection
   * serves the next utterance. Without one, a connection left mid-utterance is closed instead.
   */
  cancel?: (contextId: string) => unknown;
  /** The upgrade was refused with an HTTP status. */
  rejected(ev: Extract<WsEvent, { type: 'rejected' }>): ProviderError;
  /** The server closed the connection before the context was complete. */
  closed(ev: Extract<WsEvent, { type: 'close' }>): ProviderError;
}

export interface PooledSynthesis {
  pool: WsPool;
  key: string;
  connect: () => WsChannel;
  protocol: ContextProtocol;
  clock: Clock;
  timeouts: TtsTimeouts;
  signal: AbortSignal | undefined;
  /** Redacted from every error message. */
  secret: string;
}

/** The raw audio bytes of one utterance, as the vendor sends them. */
export async function* pooledSynthesis(o: PooledSynthesis): AsyncGenerator<Buffer> {
  if (o.signal?.aborted) return;
  const p = o.protocol;
  // A fresh context per utterance, so every answer can be told apart from a cancelled earlier one's.
  const contextId = randomUUID();
  const pooled = await o.pool.acquire(o.key);
  let conn = pooled ? { ch: pooled, reused: true } : { ch: o.connect(), reused: false };
  const timer = new SynthesisTimer(o.clock, p.name, () => conn.ch.terminate());
  let audio = false;
  /** The context was started on the current connection (a cancel is owed if we stop early). */
  let sent = false;
  let outcome: 'done' | 'abandoned' | 'failed' = 'abandoned';
  const start = () => {
    for (const m of p.start(contextId)) conn.ch.send(m);
    sent = true;
  };
  try {
    timer.arm(o.timeouts.firstAudioMs, 'no first audio');
    if (conn.reused) start();
    for (;;) {
      if (audio) timer.arm(o.timeouts.idleMs, 'no audio');
      const ev = await conn.ch.next(o.signal);
      if (audio) timer.clear();
      if (o.signal?.aborted || ev.type === 'interrupted') return;
      if (timer.fired) throw timer.fired;
      if (conn.reused && !audio && (ev.type === 'close' || ev.type === 'failed')) {
        conn.ch.terminate();
        conn = { ch: o.connect(), reused: false };
        sent = false;
        continue;
      }
      switch (ev.type) {
        case 'open':
          start();
          break;
        case 'text': {
          const f = p.read(ev.text, contextId);
          if (f.kind === 'audio' && f.audio.length > 0) {
            if (!audio) timer.clear();
            audio = true;
            yield f.audio;
            if (o.signal?.aborted) return;
          }
          if (f.kind === 'done' || (f.kind === 'audio' && f.done === true)) {
            if (!audio) throw new ProviderError('provider_failed', `${p.name}: done without any audio`, true);
            outcome = 'done';
            return;
          }
          break;
        }
        case 'binary':
          throw new ProviderError('provider_failed', `${p.name}: unexpected binary frame (the protocol sends JSON)`, true);
        case 'rejected':
          throw p.rejected(ev);
        case 'failed':
          throw socketFailure(p.name, ev, o.secret);
        case 'close':
          throw p.closed(ev);
        case 'stopped':
          return;
      }
    }
  } catch (err) {
    outcome = 'failed';
    throw err;
  } finally {
    timer.clear();
    const { ch } = conn;
    const stoppedEarly = outcome === 'abandoned' && sent;
    if (outcome === 'failed' || !ch.open || (stoppedEarly && !p.cancel)) ch.terminate();
    else {
      if (stoppedEarly) ch.send(p.cancel?.(contextId));
      o.pool.checkIn(o.key, ch, o.clock);
    }
  }
}
