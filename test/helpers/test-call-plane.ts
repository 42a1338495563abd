/**
 * The call plane the live tests run (API store -> dispatcher -> media worker threads) on loopback:
 * SIP on an ephemeral port, RTP from the test file's own port range (files run side by side in CI,
 * so ranges must not overlap), quick polling so calls start at once.
 */
import type { PostCallOptions } from '../../src/analysis/post-call.js';
import type { AppContext } from '../../src/app-context.js';
import { startCallPlane, type CallPlane } from '../../src/worker/control/call-plane.js';

export interface TestCallPlaneOptions {
  rtpPortMin: number;
  rtpPortMax: number;
  /** Media worker threads (default 1). */
  threads?: number;
  /** Codecs offered to every call, best first (default: the dialer's own choice). */
  codecs?: string[];
  /** Post-call analysis and result webhook settings (default: the runner's own). */
  postCall?: PostCallOptions;
  /** The address SIP and RTP bind (default 127.0.0.1). */
  host?: string;
  /** How often trunk registrations are looked at (default: the keeper's 5 s). */
  registrationIntervalMs?: number;
}

export function startTestCallPlane(ctx: AppContext, o: TestCallPlaneOptions): Promise<CallPlane> {
  return startCallPlane(
    ctx,
    { sipHost: o.host ?? '127.0.0.1', sipPort: 0, advertiseHost: undefined, rtpHost: o.host ?? '127.0.0.1', rtpPortMin: o.rtpPortMin, rtpPortMax: o.rtpPortMax, ttsVoice: 'en-us', leaseMs: 30_000, dispatchPollMs: 250, threads: o.threads ?? 1 },
    { pollIntervalMs: 250, ...(o.codecs ? { codecs: o.codecs } : {}), ...(o.postCall ? { postCall: o.postCall } : {}),
      ...(o.registrationIntervalMs !== undefined ? { registrationIntervalMs: o.registrationIntervalMs } : {}) },
  );
}
