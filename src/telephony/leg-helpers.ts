/** Small pure helpers of CallLeg: SDP origin handling, INFO DTMF bodies, the rate bridge. */
import { FrameChunker, Resampler, samplesPerFrame } from '../media/index.js';
import { DTMF_DIGITS } from './rtp/index.js';
import { SdpError } from './sdp/index.js';
import { mediaTypeOf } from './sip/headers.js';

/** Converters between the leg's PCM rate (fixed at answer) and the codec's, after a re-INVITE changed it. */
export interface RateBridge {
  readonly mediaRate: number;
  readonly out: Resampler;
  readonly outFrames: FrameChunker;
  readonly in: Resampler;
  readonly inFrames: FrameChunker;
}

export function rateBridge(legRate: number, mediaRate: number): RateBridge {
  return {
    mediaRate,
    out: new Resampler(legRate, mediaRate),
    outFrames: new FrameChunker(samplesPerFrame(mediaRate)),
    in: new Resampler(mediaRate, legRate),
    inFrames: new FrameChunker(samplesPerFrame(legRate)),
  };
}

/** DTMF carried in an INFO body: application/dtmf-relay (Signal=/Duration=) or application/dtmf. */
export function parseInfoDtmf(contentType: string | undefined, body: string): { digit: string; durationMs: number } | undefined {
  const type = mediaTypeOf(contentType);
  let digit: string | undefined;
  let durationMs = 100;
  if (type === 'application/dtmf-relay') {
    digit = /^\s*signal\s*=\s*(\S)/im.exec(body)?.[1];
    const dur = Number(/^\s*duration\s*=\s*(\d+)/im.exec(body)?.[1]);
    if (Number.isFinite(dur) && dur > 0) durationMs = dur;
  } else if (type === 'application/dtmf') digit = body.trim().charAt(0);
  const d = digit?.toUpperCase();
  return d !== undefined && d.length === 1 && DTMF_DIGITS.includes(d) ? { digit: d, durationMs } : undefined;
}

export function describe(err: unknown): string {
  if (err instanceof SdpError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** o=<user> <sess-id> <sess-version> ... (RFC 4566 §5.2). */
export function origin(sdp: string): { sessionId: string; version: number } {
  const m = /^o=\S+ (\S+) (\d+)/m.exec(sdp);
  return { sessionId: m?.[1] ?? '0', version: Number(m?.[2] ?? 1) };
}

export function withoutOrigin(sdp: string): string {
  return sdp.replace(/^o=.*$/m, '');
}
