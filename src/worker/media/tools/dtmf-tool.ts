/**
 * send_dtmf: keys pressed towards the callee (e.g. an automated menu), as RFC 4733 telephone-events
 * (CallLeg falls back to SIP INFO when the answer had no telephone-event). Sent after what the agent
 * said so far has played, so speech and tones do not overlap.
 */
import { OutcallError } from '../../../errors.js';
import type { CallControl } from './types.js';

/** RFC 4733 §3.2 events 0-15: digits, *, #, A-D. At most 32 keys per call of the tool. */
const DIGITS = /^[0-9*#A-D]{1,32}$/;

export function dtmfDigits(args: unknown): string {
  const raw = typeof args === 'object' && args !== null && 'digits' in args ? (args as { digits: unknown }).digits : undefined;
  const digits = typeof raw === 'number' && Number.isInteger(raw) && raw >= 0 ? String(raw) : raw;
  if (typeof digits !== 'string' || !DIGITS.test(digits.toUpperCase())) {
    throw new OutcallError('tool_bad_arguments', 'send_dtmf needs {"digits": "..."}: 1 to 32 of 0-9 * # A-D');
  }
  return digits.toUpperCase();
}

export async function runSendDtmf(args: unknown, control: CallControl | undefined, signal: AbortSignal): Promise<unknown> {
  const digits = dtmfDigits(args);
  if (!control) throw new OutcallError('tool_unavailable', 'the call is not answered');
  const leg = control.leg;
  if (!leg.sendDtmf) throw new OutcallError('tool_unavailable', 'this call leg cannot send DTMF');
  await control.untilSpoken();
  if (signal.aborted) throw new OutcallError('tool_unavailable', 'send_dtmf was canceled (the turn ended)');
  try {
    leg.sendDtmf(digits);
  } catch (err) {
    throw new OutcallError('tool_unavailable', `could not send DTMF: ${(err as Error).message}`);
  }
  return { sent: digits };
}
