/** RFC 3261 §17.1.1.1 / Table 4 timer values. */
export interface TimerConfig {
  /** RTT estimate, default 500 ms. */
  readonly T1: number;
  /** Maximum retransmit interval for non-INVITE requests and INVITE responses, default 4 s. */
  readonly T2: number;
  /** Maximum time a message remains in the network, default 5 s. */
  readonly T4: number;
}

export const DEFAULT_TIMERS: TimerConfig = { T1: 500, T2: 4000, T4: 5000 };

/** Timer D: "at least 32 seconds for unreliable transports, zero for reliable" (§17.1.1.2). */
export function timerD(reliable: boolean): number {
  return reliable ? 0 : 32_000;
}
