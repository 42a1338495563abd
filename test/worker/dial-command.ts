import type { DialCommand } from '../../src/worker/protocol.js';

/** A dial command as the dialer sends it, with the fields a test changes given in `over`. */
export function dialCommand(over: Partial<DialCommand> = {}): DialCommand {
  return {
    type: 'dial',
    callId: 'c1',
    to: '+14155550123',
    from: '+14155550100',
    customHeaders: [],
    trunk: { host: '127.0.0.1', port: 5060, transport: 'udp' },
    ringTimeoutMs: 45000,
    maxDurationMs: 60000,
    greeting: { text: 'Hello' },
    ...over,
  };
}
