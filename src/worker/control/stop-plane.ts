/**
 * How a process stops its call plane on SIGTERM/SIGINT: no new claims, live calls drain for up to
 * OUTCALL_DRAIN_S, then the rest end `worker_shutdown`. A second signal during the drain ends them now.
 */
import type { CallPlane } from './call-plane.js';

export async function stopPlane(plane: CallPlane, drainMs: number, log: (msg: string) => void): Promise<void> {
  if (drainMs > 0) log(`draining: live calls may go on for up to ${Math.round(drainMs / 1000)} s (OUTCALL_DRAIN_S); signal again to end them now`);
  let again: (() => void) | undefined;
  const second = new Promise<void>((resolve) => {
    again = resolve;
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const stopped = plane.stop({ drainMs });
  const cut = await Promise.race([stopped.then(() => false), second.then(() => true)]);
  process.removeListener('SIGINT', again as () => void);
  process.removeListener('SIGTERM', again as () => void);
  if (cut) {
    log('ending the calls still live (worker_shutdown)');
    plane.endNow();
  }
  await stopped;
}
