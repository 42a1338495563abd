/** Maps how a call ended to the platform's outcome vocabulary (pure; unit-tested). */

export type CallOutcome = 'completed' | 'busy' | 'no_answer' | 'canceled' | 'failed';

export interface OutcomeInput {
  /** A 2xx was accepted (the call was connected) before it ended. */
  readonly answered: boolean;
  /** Final INVITE status (synthesized 408 for Timer B, 503 for transport errors). */
  readonly sipStatusCode: number;
  /** Set when we sent (or wanted to send) CANCEL, and why. */
  readonly canceledBy?: 'local' | 'ring-timeout' | undefined;
}

export function mapOutcome(i: OutcomeInput): CallOutcome {
  if (i.answered) return 'completed';
  // A ring timeout is "nobody picked up", even though the far end then answers our CANCEL with 487.
  if (i.canceledBy === 'ring-timeout') return 'no_answer';
  if (i.canceledBy === 'local') return 'canceled';
  const s = i.sipStatusCode;
  if (s === 486 || s === 600 || s === 603) return 'busy';
  if (s === 480 || s === 408) return 'no_answer';
  return 'failed';
}
