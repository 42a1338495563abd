/**
 * transfer_call: a blind transfer (REFER, RFC 3515) of the callee to the tool's configured
 * transfer_to. The model never picks the target (a callee could talk it into dialing a premium
 * number: toll fraud), so arguments are ignored. Order, as RFC 5589 §6 draws it:
 *   1. the agent's announcement plays out in full (the callee hears why the line goes quiet);
 *   2. REFER; a non-2xx final answer means the callee's side refused: the conversation goes on;
 *   3. 2xx: wait (bounded) for the NOTIFY whose message/sipfrag reports the outcome (§2.4.5); a
 *      failure there (e.g. 486 from the target) also leaves the callee with the agent;
 *   4. otherwise the call ends `transferred` once the turn is over: we send BYE (RFC 5589 §6), or the
 *      transferee already did.
 */
import type { Tool } from '../../../contract/agent.js';
import { OutcallError } from '../../../errors.js';
import type { Clock } from '../../../time/clock.js';
import { targetUri } from '../../../telephony/sip/call.js';
import type { CallControl, ToolCallContext } from './types.js';
import type { LegEvent } from '../../../voice/leg.js';

export const DEFAULT_TRANSFER_NOTIFY_WAIT_MS = 10_000;

type Progress = Extract<LegEvent, { type: 'transfer-progress' }>;

/** The REFER target: a sip:/sips:/tel: URI as configured, or a number/user at the call's trunk. */
export function transferTarget(transferTo: string, trunk: ToolCallContext['trunk']): string {
  try {
    return targetUri(transferTo.trim(), trunk);
  } catch (err) {
    throw new OutcallError('tool_bad_arguments', `transfer_to ${JSON.stringify(transferTo)} is not a number or SIP URI: ${(err as Error).message}`);
  }
}

export async function runTransfer(
  tool: Tool,
  ctx: ToolCallContext,
  control: CallControl | undefined,
  o: { signal: AbortSignal; clock: Clock; notifyWaitMs?: number },
): Promise<unknown> {
  if (!tool.transfer_to) throw new OutcallError('tool_unavailable', 'transfer_call has no transfer_to configured on the agent');
  const target = transferTarget(tool.transfer_to, ctx.trunk);
  if (!control) throw new OutcallError('tool_unavailable', 'the call is not answered');
  const leg = control.leg;
  if (!leg.transfer) throw new OutcallError('tool_unavailable', 'this call leg cannot transfer');
  await control.untilSpoken();
  if (o.signal.aborted) throw new OutcallError('tool_unavailable', 'the transfer was canceled (the turn ended)');

  // Subscribed before the REFER leaves: its NOTIFY may overtake the 202 (UDP does not keep order).
  let final: Progress | undefined;
  let ended = false;
  let wake: () => void = () => undefined;
  const off = leg.on((e) => {
    if (e.type === 'transfer-progress' && e.final) final ??= e;
    else if (e.type === 'ended') ended = true;
    else return;
    wake();
  });
  control.expectRemoteEnd('transferred');
  try {
    let status: number;
    try {
      status = await leg.transfer(target);
    } catch (err) {
      throw new OutcallError('transfer_failed', `the REFER could not be sent: ${(err as Error).message}`);
    }
    if (status < 200 || status >= 300) throw new OutcallError('transfer_failed', `the callee's side refused the transfer (SIP ${status})`);
    if (!final && !ended) await waitFor((w) => (wake = w), o.notifyWaitMs ?? DEFAULT_TRANSFER_NOTIFY_WAIT_MS, o.clock, o.signal);
    const outcome: Progress | undefined = final;
    if (outcome && outcome.statusCode >= 300) {
      throw new OutcallError('transfer_failed', `the transfer did not go through: the target answered SIP ${outcome.statusCode}`);
    }
    control.endAfterTurn('transferred');
    return { transferred: true, to: tool.transfer_to, ...(outcome ? { sip_status: outcome.statusCode } : {}) };
  } catch (err) {
    control.expectRemoteEnd(undefined);
    throw err;
  } finally {
    off();
  }
}

/** Resolves when woken, after ms, or on abort, whichever comes first. */
function waitFor(setWake: (w: () => void) => void, ms: number, clock: Clock, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clock.clearTimer(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = clock.setTimer(ms, done);
    signal.addEventListener('abort', done, { once: true });
    setWake(done);
  });
}
