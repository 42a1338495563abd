import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeActivity, encodeActivity, type CallActivity } from '../../src/calls/activity.js';

test('activity payloads round-trip', () => {
  const items: CallActivity[] = [
    { kind: 'status', callId: 'call_1' },
    { kind: 'ringing', callId: 'call_1', at: '2026-11-21T10:00:00.000Z', earlyMedia: true },
    { kind: 'turn', callId: 'call_1', turn: { speaker: 'callee', text: 'yes', interrupted: false, startMs: 1, endMs: 2 } },
    { kind: 'latency', callId: 'call_1', latency: { turnId: 1, endToEndMs: 640 } },
  ];
  for (const a of items) assert.deepEqual(decodeActivity(encodeActivity(a)), a);
});

test('a long turn is cut to fit a NOTIFY payload (8000 bytes), never dropped', () => {
  const text = 'ü'.repeat(5000);
  const payload = encodeActivity({ kind: 'turn', callId: 'c', turn: { speaker: 'agent', text, interrupted: true, startMs: 0, endMs: 1 } });
  assert.ok(Buffer.byteLength(payload) < 8000, `${Buffer.byteLength(payload)} bytes`);
  const back = decodeActivity(payload);
  assert.equal(back?.kind, 'turn');
  assert.ok(back?.kind === 'turn' && back.turn.text.startsWith('üü') && back.turn.text.endsWith('…'));
});

test('garbage and unknown kinds decode to undefined, never throw', () => {
  for (const p of ['', 'not json', 'null', '42', '{"kind":"status"}', '{"kind":"nope","callId":"c"}', '{"kind":"turn","callId":"c","turn":{"speaker":"robot","text":"x"}}']) {
    assert.equal(decodeActivity(p), undefined, p);
  }
});
