/**
 * RFC 4733 telephone-events (DTMF) over RTP.
 *
 * Payload (RFC 4733 §2.3): event (8 bits) | E | R | volume (6 bits) | duration (16 bits, timestamp
 * units). Sending (§2.5.1): the first packet of an event carries the marker bit; updates every packet
 * interval repeat the event's start timestamp with a growing duration; the end is sent three times
 * with the E bit (§2.5.1.4, redundancy against loss). Receiving (§2.5.2): events are keyed by their
 * timestamp, so the three end packets (and retransmitted updates) report one digit only once.
 */

export const DTMF_DIGITS = '0123456789*#ABCD';

/** RFC 4733 §3.2 event codes: 0-9, * = 10, # = 11, A-D = 12-15 (16 = flash, not a digit). */
export function digitToEvent(d: string): number | undefined {
  const i = DTMF_DIGITS.indexOf(d.toUpperCase());
  return i < 0 ? undefined : i;
}

export function eventToDigit(e: number): string | undefined {
  return e >= 0 && e < DTMF_DIGITS.length ? DTMF_DIGITS[e] : undefined;
}

export interface TelephoneEvent {
  event: number;
  end: boolean;
  volume: number;
  duration: number;
}

export function encodeTelephoneEvent(e: TelephoneEvent): Uint8Array {
  const b = new Uint8Array(4);
  b[0] = e.event & 0xff;
  b[1] = (e.end ? 0x80 : 0) | (e.volume & 0x3f);
  b[2] = (e.duration >> 8) & 0xff;
  b[3] = e.duration & 0xff;
  return b;
}

export function decodeTelephoneEvent(p: Uint8Array): TelephoneEvent | undefined {
  // §2.3: 4 octets per event; more may follow only with redundancy (RFC 2198), which we do not negotiate.
  if (p.length < 4) return undefined;
  return {
    event: p[0] as number,
    end: ((p[1] as number) & 0x80) !== 0,
    volume: (p[1] as number) & 0x3f,
    duration: ((p[2] as number) << 8) | (p[3] as number),
  };
}

/** One RTP packet the sender must emit at a 20 ms tick while a digit is in progress. */
export interface DtmfPacket {
  payload: Uint8Array;
  marker: boolean;
  /** RTP timestamp of the event start (constant for all packets of one event). */
  timestamp: number;
  /** True on the last packet of the digit (the third end packet). */
  last: boolean;
  digit: string;
}

/**
 * Sender state machine, driven once per packet interval by the leg. While it is active the leg sends
 * its packets instead of audio (audio stays queued). Between digits it leaves `gapTicks` ticks of
 * normal audio so receivers see separate events.
 */
export class DtmfSender {
  private readonly queue: Array<{ digit: string; ticks: number }> = [];
  private current: { digit: string; event: number; ticks: number; sent: number; endSent: number; ts: number } | undefined;
  private gapLeft = 0;
  private readonly samplesPerTick: number;
  private readonly gapTicks: number;
  private readonly volume: number;

  constructor(opts: { samplesPerTick: number; gapMs?: number; tickMs?: number; volume?: number }) {
    this.samplesPerTick = opts.samplesPerTick;
    this.gapTicks = Math.max(1, Math.round((opts.gapMs ?? 60) / (opts.tickMs ?? 20)));
    // §2.3.4: volume is the power in dBm0 below 0, 0-63; 10 is a typical DTMF level.
    this.volume = opts.volume ?? 10;
  }

  /** Queues digits; invalid characters throw (a caller bug, not network input). */
  enqueue(digits: string, durationMs: number, tickMs = 20): void {
    const dur = Math.min(5000, Math.max(40, durationMs)); // ≥40 ms for reliable detection; 5 s keeps duration < 2^16 at 8-16 kHz
    for (const d of digits) {
      if (digitToEvent(d) === undefined) throw new RangeError(`not a DTMF digit: ${JSON.stringify(d)}`);
    }
    for (const d of digits) this.queue.push({ digit: d.toUpperCase(), ticks: Math.max(2, Math.round(dur / tickMs)) });
  }

  get active(): boolean {
    return this.current !== undefined || (this.queue.length > 0 && this.gapLeft === 0);
  }

  get pending(): number {
    return this.queue.length + (this.current ? 1 : 0);
  }

  clear(): void {
    this.queue.length = 0;
    // a digit in progress is finished properly (end packets) rather than left hanging at the receiver
  }

  /**
   * Called at each tick with the RTP timestamp this tick's packet would carry. Returns the packet to
   * send, or undefined if this tick carries audio (no digit, or inter-digit gap).
   */
  tick(timestamp: number): DtmfPacket | undefined {
    if (!this.current) {
      if (this.gapLeft > 0) {
        this.gapLeft--;
        return undefined;
      }
      const next = this.queue.shift();
      if (!next) return undefined;
      this.current = { digit: next.digit, event: digitToEvent(next.digit) as number, ticks: next.ticks, sent: 0, endSent: 0, ts: timestamp >>> 0 };
    }
    const c = this.current;
    if (c.sent < c.ticks) {
      c.sent++;
      const duration = Math.min(0xffff, c.sent * this.samplesPerTick);
      return {
        payload: encodeTelephoneEvent({ event: c.event, end: false, volume: this.volume, duration }),
        marker: c.sent === 1, // §2.5.1.1: marker on the first packet of an event
        timestamp: c.ts,
        last: false,
        digit: c.digit,
      };
    }
    c.endSent++;
    const duration = Math.min(0xffff, c.ticks * this.samplesPerTick);
    const last = c.endSent >= 3;
    const pkt: DtmfPacket = {
      payload: encodeTelephoneEvent({ event: c.event, end: true, volume: this.volume, duration }),
      marker: false,
      timestamp: c.ts,
      last,
      digit: c.digit,
    };
    if (last) {
      this.current = undefined;
      this.gapLeft = this.gapTicks;
    }
    return pkt;
  }
}

export type DtmfReceived = { digit: string; durationMs: number };

/**
 * Receiver: reports each event once, when its first end packet arrives — or, if all three end
 * packets were lost, when a newer event starts or `flushStale` finds it idle too long.
 */
export class DtmfReceiver {
  private current: { ts: number; event: number; duration: number; lastSeenAt: number } | undefined;
  private readonly reported: number[] = []; // timestamps of recently reported events (dedupe)
  constructor(private readonly clockRate: number) {}

  /**
   * Feeds one telephone-event packet's payload; returns the digits it completes (usually none or one;
   * two when an event whose end packets were all lost is followed by a new one).
   */
  receive(timestamp: number, payload: Uint8Array, now: number): DtmfReceived[] | 'malformed' {
    const ev = decodeTelephoneEvent(payload);
    if (!ev) return 'malformed';
    const ts = timestamp >>> 0;
    const out: DtmfReceived[] = [];
    if (this.reported.includes(ts)) return out; // retransmitted end or late update of a reported event
    if (this.current && this.current.ts !== ts) {
      // A new event started while the previous never ended (all its end packets lost): report it now.
      const prev = this.finish(this.current);
      if (prev) out.push(prev);
    }
    if (!this.current) this.current = { ts, event: ev.event, duration: ev.duration, lastSeenAt: now };
    this.current.duration = Math.max(this.current.duration, ev.duration);
    this.current.lastSeenAt = now;
    if (ev.end) {
      const done = this.finish(this.current);
      if (done) out.push(done);
    }
    return out;
  }

  /** Reports an event whose end packets never arrived, after `staleMs` without updates. */
  flushStale(now: number, staleMs = 300): DtmfReceived | undefined {
    if (this.current && now - this.current.lastSeenAt >= staleMs) return this.finish(this.current);
    return undefined;
  }

  private finish(c: { ts: number; event: number; duration: number }): DtmfReceived | undefined {
    this.current = undefined;
    this.reported.push(c.ts);
    if (this.reported.length > 8) this.reported.shift();
    const digit = eventToDigit(c.event);
    if (digit === undefined) return undefined; // flash (16) and tones are not digits
    return { digit, durationMs: Math.round((c.duration / this.clockRate) * 1000) };
  }
}
