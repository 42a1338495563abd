import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LegEvent } from '../../src/telephony/leg-events.js';
import { LegListeners } from '../../src/telephony/leg-listeners.js';

test('a throwing listener is reported as a warning naming the leg; the others still hear the event and the audio', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  try {
    const l = new LegListeners('CallLeg abc@host');
    const got: string[] = [];
    l.on(() => {
      throw new Error('bug one');
    });
    l.on((e) => got.push(e.type));
    l.onAudio(() => {
      throw new Error('bug two');
    });
    l.onAudio((f) => got.push(`audio ${f.length}`));
    l.emit({ type: 'ringing', earlyMedia: false });
    l.audio(new Int16Array(160));
    assert.deepEqual(got, ['ringing', 'audio 160']);
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    assert.deepEqual(warnings, ["CallLeg abc@host: 'ringing' listener threw: Error: bug one", "CallLeg abc@host: 'audio' listener threw: Error: bug two"]);
  } finally {
    process.off('warning', onWarning);
  }
});

test('end() delivers the last event, then drops every listener; unsubscribing works before that', () => {
  const l = new LegListeners('InboundLeg x');
  const got: LegEvent['type'][] = [];
  const off = l.on((e) => got.push(e.type));
  const gone = l.on(() => got.push('trying'));
  l.onAudio(() => got.push('drained'));
  assert.equal(l.hearing, true);
  gone();
  l.end({ type: 'ended', sipStatusCode: 200, reason: 'bye', by: 'remote', outcome: 'completed' });
  assert.deepEqual(got, ['ended']);
  assert.equal(l.hearing, false);
  l.emit({ type: 'drained' });
  l.audio(new Int16Array(1));
  assert.deepEqual(got, ['ended'], 'nobody is left to hear');
  off();
});
