import { PostCallRunner, type PostCallOptions } from '../../analysis/post-call.js';
import type { AppContext } from '../../app-context.js';
import type { MediaConfig } from '../../config.js';
import { Dispatcher, type DispatcherOptions } from '../../dispatch/dispatcher.js';
import { newId } from '../../ids.js';
import { CallDialer } from './call-dialer.js';
import { MediaPool } from './media-pool.js';
import { InboundRouter } from './inbound-router.js';
import { RegistrationKeeper } from './registration-keeper.js';

export interface CallPlane {
  workerId: string;
  /** SIP port of the first media thread (each thread has its own). */
  sipPort: number;
  media: MediaPool;
  dispatcher: Dispatcher;
  dialer: CallDialer;
  /** Trunk registrations this worker holds. */
  registrations: RegistrationKeeper;
  /** Summaries and `analyzed` events of ended calls (also those a dead process left behind). */
  postCall: PostCallRunner;
  /**
   * Stops claiming at once; live calls go on for drainMs (default 0), the rest then end
   * worker_shutdown; waits for every call's end to be recorded.
   */
  stop(opts?: { drainMs?: number }): Promise<void>;
  /** During a drain: end the calls still live now (worker_shutdown). */
  endNow(): void;
}

/**
 * Everything that turns queued calls into phone calls, for one worker: media threads (SIP + RTP),
 * the dialer that records what happens to each call, and the dispatcher that claims calls for it.
 * `outcall serve` runs one beside the API; `outcall worker` runs one alone against PostgreSQL.
 */
export async function startCallPlane(
  ctx: AppContext,
  media: MediaConfig,
  opts: Partial<Pick<DispatcherOptions, 'pollIntervalMs' | 'leaseMs' | 'batchSize'>> & { codecs?: string[]; postCall?: PostCallOptions; registrationIntervalMs?: number } = {},
): Promise<CallPlane> {
  const workerId = newId('wrk');
  const pool = await MediaPool.start(media, media.threads);
  const postCall = new PostCallRunner(ctx, opts.postCall);
  postCall.start();
  const dialer = new CallDialer(ctx, pool, workerId, {
    ...(opts.codecs ? { codecs: opts.codecs } : {}),
    onAnalysisDue: (orgId, callId, resultDueAt) => postCall.kick(orgId, callId, resultDueAt),
    resultWaitMs: postCall.resultWaitMs,
  });
  await dialer.start();
  let stopping = false;
  pool.onLost((callIds, allLost) => {
    if (stopping) return;
    ctx.logger?.error({ workerId, calls: callIds.length, allLost }, 'a media worker thread died; failing its calls');
    void dialer.mediaLost(callIds, allLost);
  });
  const dispatcher = new Dispatcher({
    db: ctx.db,
    workerId,
    dialer,
    now: ctx.now,
    leaseMs: media.leaseMs,
    pollIntervalMs: media.dispatchPollMs,
    ...(opts.pollIntervalMs !== undefined ? { pollIntervalMs: opts.pollIntervalMs } : {}),
    ...(opts.leaseMs !== undefined ? { leaseMs: opts.leaseMs } : {}),
    ...(opts.batchSize !== undefined ? { batchSize: opts.batchSize } : {}),
    ...(ctx.logger ? { logger: ctx.logger } : {}),
  });
  await dispatcher.start();
  // Inbound calls: an INVITE a media thread holds is answered by its number's agent, or refused.
  const inbound = new InboundRouter(ctx, {
    workerId,
    leaseMs: opts.leaseMs ?? media.leaseMs,
    media: pool,
    answer: (call, inviteId) => dialer.answer(call, inviteId),
    adopt: (callId, done) => dispatcher.adopt(callId, done),
  });
  // Trunks with register: one worker keeps each registered (a lease), on its first media thread.
  const registrations = new RegistrationKeeper(ctx, { workerId, media: pool, ...(opts.registrationIntervalMs !== undefined ? { intervalMs: opts.registrationIntervalMs } : {}) });
  pool.on((e) => {
    if (e.type === 'registration') registrations.onEvent(e);
    else if (e.type === 'incoming') inbound.route(e);
    else if (e.type === 'refused-at-edge') ctx.metrics.inboundRefused.inc({ status: '403', where: 'edge' }, e.count);
  });
  registrations.start();
  return {
    workerId,
    sipPort: pool.sipPorts[0] ?? 0,
    media: pool,
    registrations,
    dispatcher,
    dialer,
    postCall,
    endNow() {
      pool.send({ type: 'shutdown' });
    },
    async stop(o = {}) {
      stopping = true;
      inbound.stop();
      // Bindings are removed first, so the registrars stop sending calls here while we drain.
      await registrations.stop().catch((err: unknown) => ctx.logger?.error({ err, workerId }, 'could not release trunk registrations'));
      // Stop claiming first; the dispatcher then waits for the calls it handed out to end (its
      // heartbeat keeps their leases meanwhile, so no other worker takes them for lost).
      const dispatcherStopped = dispatcher.stop();
      // The media threads let their calls go on for the drain time, then end the rest (worker_shutdown);
      // their endings are recorded as they come.
      await pool.stop(undefined, o.drainMs ?? 0);
      // Whatever did not report an ending in time is failed (never re-dialed).
      await dialer.mediaLost();
      await dispatcherStopped;
      await dialer.stop();
      await postCall.stop();
    },
  };
}
