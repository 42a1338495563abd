// Shared helpers for MediaSession tests on real loopback sockets.
import { MediaSession, type PacingClock, PortPool, type MediaSessionOptions } from '../../../src/telephony/rtp/index.js';
import type { NegotiatedMedia } from '../../../src/telephony/sdp/index.js';

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls until `cond()` holds or `timeoutMs` passes; returns whether it held. */
export async function waitFor(cond: () => boolean, timeoutMs = 3000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(10);
  }
  return cond();
}

let nextBase = 31000 + (process.pid % 50) * 200;

/** A private port range per call so test files never collide with each other or a leftover process. */
export function freshPool(size = 40): PortPool {
  const min = nextBase;
  nextBase += size + 2;
  return new PortPool({ min, max: min + size });
}

export async function pair(
  clock: PacingClock,
  opts: Partial<MediaSessionOptions> = {},
): Promise<{ a: MediaSession; b: MediaSession; na: NegotiatedMedia; nb: NegotiatedMedia; pool: PortPool }> {
  const pool = freshPool();
  const a = await MediaSession.open({ localAddress: '127.0.0.1', portPool: pool, clock, ...opts });
  const b = await MediaSession.open({ localAddress: '127.0.0.1', portPool: pool, clock, ...opts });
  // A offers, B answers (as a callee would), A processes the answer: the real SDP path end to end.
  const offer = a.offer({ sessionId: '1' });
  const answered = b.answerReOffer(offer);
  const na = a.negotiateAnswer(answered.sdp);
  a.start(na);
  return { a, b, na, nb: answered.media, pool };
}
