/**
 * The SRTP of one media session as negotiated by SDES (sdp/crypto.ts): a protector for what we send
 * (our key) and an unprotector for what we receive (theirs), for RTP and RTCP alike (RFC 3711 §3.4:
 * SRTCP uses the same master key with its own derived session keys).
 */
import { splitInline } from '../../sdp/crypto.js';
import type { NegotiatedSrtp } from '../../sdp/crypto.js';
import { SrtpProtector, SrtpUnprotector } from './srtp-context.js';

export class MediaCrypto {
  readonly out: SrtpProtector;
  readonly in: SrtpUnprotector;

  private constructor(
    readonly keys: NegotiatedSrtp,
    out: SrtpProtector,
    inbound: SrtpUnprotector,
  ) {
    this.out = out;
    this.in = inbound;
  }

  static create(keys: NegotiatedSrtp): MediaCrypto {
    return new MediaCrypto(keys, protectorFor(keys), unprotectorFor(keys));
  }

  /**
   * The crypto for a re-negotiation: the same object when nothing changed; a direction whose key is
   * unchanged keeps its context, so our rollover counter and their replay window carry on (RFC 3711
   * §3.3.1: the ROC must not restart while a key is in use).
   */
  update(keys: NegotiatedSrtp): MediaCrypto {
    const k = this.keys;
    const sameOut = k.suite === keys.suite && k.sendInline === keys.sendInline;
    const sameIn = k.suite === keys.suite && k.recvInline === keys.recvInline;
    if (sameOut && sameIn) return this;
    return new MediaCrypto(keys, sameOut ? this.out : protectorFor(keys), sameIn ? this.in : unprotectorFor(keys));
  }
}

function protectorFor(k: NegotiatedSrtp): SrtpProtector {
  return new SrtpProtector({ suite: k.suite, ...splitInline(k.suite, k.sendInline) });
}

function unprotectorFor(k: NegotiatedSrtp): SrtpUnprotector {
  return new SrtpUnprotector({ suite: k.suite, ...splitInline(k.suite, k.recvInline) });
}
