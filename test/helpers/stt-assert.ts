/** Assertions the cloud STT adapter tests share. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collectEvents } from '../providers/conformance/stt.js';
import { ProviderError } from '../../src/providers/errors.js';
import type { SttEvent, SttStream } from '../../src/providers/stt/types.js';
import { VirtualClock } from './virtual-clock.js';
import type { WsVendorServer } from './ws-vendor-server.js';

/**
 * The stream ended with exactly one error, a ProviderError of this code and retryability whose
 * message never shows `key`, followed by 'closed'.
 */
export function assertProviderError(events: SttEvent[], code: string, retryable: boolean, key: string): ProviderError {
  const errs = events.flatMap((e) => (e.type === 'error' ? [e.error] : []));
  assert.equal(errs.length, 1, `one error, got ${JSON.stringify(events)}`);
  const err = errs[0] as ProviderError;
  assert.ok(err instanceof ProviderError);
  assert.equal(err.code, code, err.message);
  assert.equal(err.retryable, retryable, err.message);
  assert.ok(!err.message.includes(key), 'the API key never appears in an error');
  assert.equal(events.at(-1)?.type, 'closed');
  return err;
}

/** Polls a condition on the local vendor server every 5 ms (fine-grained: these are in-process). */
export async function until(cond: () => boolean, what: string, guardMs = 5000): Promise<void> {
  const end = performance.now() + guardMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * The abort test every WebSocket STT adapter shares: after `minMessages` audio messages reached the
 * server, aborting ends the stream with no error and closes the socket.
 */
export function abortClosesSocketTest(
  vendor: string,
  d: { start: (signal: AbortSignal) => SttStream; server: WsVendorServer; frame: () => Int16Array; minMessages: number; guardMs: number },
): void {
  test('abort closes the socket at once, with no error', async () => {
    const ac = new AbortController();
    const s = d.start(ac.signal);
    for (let i = 0; i < 10; i++) s.push(d.frame());
    await until(() => d.server.sessions.length > 0 && d.server.last.audioMessages >= d.minMessages, 'the audio to reach the server');
    const sess = d.server.last;
    const t0 = performance.now();
    ac.abort();
    assert.deepEqual(await collectEvents(s, d.guardMs), [{ type: 'closed' }]);
    const { ms } = await sess.closed;
    console.log(`# ${vendor}: server saw the socket close ${(ms - t0).toFixed(1)} ms after abort`);
    assert.equal(sess.isClosed, true);
  });
}

/**
 * The connect-timeout test every WebSocket STT adapter shares: an upgrade the server never answers
 * ends the stream with provider_timeout after exactly `timeoutMs` (virtual clock), and the
 * half-open connection is dropped.
 */
export function upgradeNeverAnsweredTest(d: {
  server: WsVendorServer;
  /** Starts a stream whose connect_timeout_ms is `timeoutMs`, on `clock`. */
  start: (clock: VirtualClock, timeoutMs: number) => SttStream;
  frame: () => Int16Array;
  timeoutMs: number;
  guardMs: number;
  key: string;
}): void {
  test('an upgrade never answered: provider_timeout after connect_timeout_ms (virtual clock)', async () => {
    d.server.next({ kind: 'hang' });
    const before = d.server.sessions.length;
    const clock = new VirtualClock();
    const s = d.start(clock, d.timeoutMs);
    s.push(d.frame());
    const done = collectEvents(s, d.guardMs);
    await until(() => d.server.sessions.length > before, 'the upgrade to reach the server');
    const sess = d.server.last;
    await clock.advanceAsync(d.timeoutMs - 1);
    assert.ok(!sess.isClosed && clock.pending > 0, `still waiting at ${d.timeoutMs - 1} ms`);
    await clock.advanceAsync(1);
    const err = assertProviderError(await done, 'provider_timeout', true, d.key);
    assert.match(err.message, new RegExp(`${d.timeoutMs} ms`));
    await sess.closed; // the half-open connection was dropped
  });
}
