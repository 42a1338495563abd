/**
 * Which codec an answerer picks from an SDP offer: OUR preference order among what the offer lists.
 * RFC 3264 §6.1 lets the answerer choose any subset of the offer; picking by our list (wideband first)
 * rather than the offer's order keeps 16 kHz audio whenever the caller can do it: speech recognizers
 * on both ends hear wideband audio better than G.711 (pocketsphinx hears both, with two models).
 */
import { codecForFormat, findAudio, listFormats, parseSdp } from './sdp/common.js';
import type { OfferCodecToken } from './sdp/index.js';

export type AudioCodecToken = Exclude<OfferCodecToken, 'telephone-event'>;

/** Wideband first: L16/16000, then G.722, then G.711 (PCMU, PCMA). */
export const WIDEBAND_ANSWER_PREFERENCE: readonly AudioCodecToken[] = ['L16/16000', 'G722', 'PCMU', 'PCMA'];

/** The first codec of `preference` the offer lists, or undefined (answer 488). Throws SdpError on malformed SDP. */
export function chooseAnswerCodec(offerSdp: string, preference: readonly AudioCodecToken[] = WIDEBAND_ANSWER_PREFERENCE): AudioCodecToken | undefined {
  const { media } = findAudio(parseSdp(offerSdp));
  const offered = new Set(listFormats(media).map((f) => codecForFormat(f)?.name));
  return preference.find((t) => offered.has(t === 'L16/16000' || t === 'L16' ? 'L16' : t));
}
