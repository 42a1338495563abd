import { Type, type Static } from 'typebox';

/**
 * Audio codecs a call may offer, by the names the API uses (SDP encoding names; L16/16000 is 16-bit
 * linear PCM at 16 kHz). telephone-event (RFC 4733 DTMF) is always offered after them and is not listed.
 */
export const OFFER_CODECS = ['PCMU', 'PCMA', 'G722', 'L16/16000'] as const;
export type OfferCodec = (typeof OFFER_CODECS)[number];

/** An ordered codec preference: what the INVITE's SDP offers, best first. Each name at most once. */
export const CodecList = (description: string) =>
  Type.Array(Type.Enum(OFFER_CODECS), {
    minItems: 1,
    maxItems: OFFER_CODECS.length,
    uniqueItems: true,
    description: `${description}; from ${OFFER_CODECS.join(', ')}, each at most once (telephone-event is always added)`,
    examples: [['PCMA', 'PCMU']],
  });
export type CodecList = Static<ReturnType<typeof CodecList>>;
