import type { AppContext } from '../app-context.js';
import type { MediaConfig } from '../config.js';
import { Dispatcher, type DispatcherOptions } from '../dispatch/dispatcher.js';
import { newId } from '../ids.js';
import { CallDialer } from './call-dialer.js';
import { MediaThread } from './media-thread.js';

export interface CallPlane {
  workerId: string;
  sipPort: number;
  dispatcher: Dispatcher;
  dialer: CallDialer;
  stop(): Promise<void>;
}

/**
 * Everything that turns queued calls into phone calls, for one worker: a media thread (SIP + RTP),
 * the dialer that records what happens to each call, and the dispatcher that claims calls for it.
 * `outcall serve` runs one beside the API; `outcall worker` runs one alone against PostgreSQL.
 */
export async function startCallPlane(
  ctx: AppContext,
  media: MediaConfig,
  opts: Partial<Pick<DispatcherOptions, 'pollIntervalMs' | 'leaseMs' | 'batchSize'>> & { codecs?: string[] } = {},
): Promise<CallPlane> {
  const workerId = newId('wrk');
  const thread = await MediaThread.start(media);
  const dialer = new CallDialer(ctx, thread, workerId, opts.codecs ? { codecs: opts.codecs } : {});
  await dialer.start();
  let stopping = false;
  thread.onExit(() => {
    if (!stopping) {
      ctx.logger?.error({ workerId }, 'the media worker thread died; failing its calls');
      void dialer.mediaLost();
    }
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
  return {
    workerId,
    sipPort: thread.sipPort,
    dispatcher,
    dialer,
    async stop() {
      stopping = true;
      // Stop claiming first; the dispatcher then waits for the calls it handed out to end.
      const dispatcherStopped = dispatcher.stop();
      // Shutting the media thread down cancels its calls; their endings are recorded as they come.
      await thread.stop();
      // Whatever did not report an ending in time is failed (never re-dialed).
      await dialer.mediaLost();
      await dispatcherStopped;
      await dialer.stop();
    },
  };
}
