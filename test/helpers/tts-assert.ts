/** Assertions the cloud TTS adapter tests share. */
import assert from 'node:assert/strict';
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
