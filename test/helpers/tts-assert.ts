/** Assertions the cloud TTS adapter tests share. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TtsProvider } from '../../src/providers/tts/types.js';
import { ProviderError } from '../../src/providers/errors.js';

/** Rejects with a ProviderError of this code and retryability, whose message never shows `key`. */
export function rejectsWith(p: Promise<unknown>, code: string, retryable: boolean, key: string, check?: (e: ProviderError) => void): Promise<void> {
  return assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ProviderError, `a ProviderError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal(err.retryable, retryable, `retryable: ${err.message}`);
    assert.ok(!err.message.includes(key), 'the API key never appears in an error');
    check?.(err);
    return true;
  });
}

export const rms = (s: Int16Array): number => Math.sqrt(s.reduce((a, v) => a + v * v, 0) / Math.max(1, s.length));

/** What a vendor protocol server recorded of one synthesis (a WebSocket session, a context on one, or an HTTP request). */
export interface RecordedSynthesis {
  closedEarly: Promise<unknown>;
  firstAudioMs?: number | undefined;
}

/** The two tests every cloud TTS adapter shares: abort mid-stream, and first audio reported. */
export function sharedCloudTtsTests(
  vendor: string,
  d: {
    tts: () => TtsProvider;
    next: (script: { kind: 'speak'; chunkDelayMs: number }) => void;
    recorded: () => readonly RecordedSynthesis[];
    /** How the vendor learns of the abort, when not by the connection closing (a cancel message on a kept connection). */
    abortStops?: string;
  },
): void {
  test(`abort mid-stream ends quietly and ${d.abortStops ?? 'closes the connection at once'}`, async () => {
    d.next({ kind: 'speak', chunkDelayMs: 30 });
    const n = d.recorded().length;
    const ac = new AbortController();
    let got = 0;
    for await (const c of d.tts().synthesize({ text: 'Hello there. This is a long reply that keeps going for a while.', sampleRate: 8000, signal: ac.signal })) {
      got += c.length;
      ac.abort();
    }
    assert.ok(got > 0);
    // Resolves only when the server saw the client stop (close, or cancel) before the end of the audio.
    await d.recorded()[n]?.closedEarly;
    assert.ok(d.recorded()[n], 'the server recorded the aborted synthesis');
  });

  test('first audio through the local server (reported, not asserted)', async (t) => {
    const n = d.recorded().length;
    const t0 = performance.now();
    let first = 0;
    for await (const _ of d.tts().synthesize({ text: 'Hello, this is Outcall calling.', sampleRate: 8000 })) first ||= performance.now() - t0;
    t.diagnostic(`${vendor}: first audio after ${first.toFixed(1)} ms at the client (server side ${d.recorded()[n]?.firstAudioMs?.toFixed(1)} ms)`);
    assert.ok(first > 0);
  });
}
