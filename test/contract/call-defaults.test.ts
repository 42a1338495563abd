/** The call option defaults and ranges are written once (contract/call-defaults.ts) and every reader agrees. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { optionsFrom } from '../../src/calls/call-object.js';
import { validateScenario } from '../../src/cli/scenarios/schema.js';
import {
  MACHINE_DETECTION_DEFAULT,
  MAX_DURATION_S,
  RECORD_CHANNELS_DEFAULT,
  RECORD_TRACK_DEFAULT,
  RECORD_TRIM_SILENCE_DEFAULT,
  RING_TIMEOUT_S,
} from '../../src/contract/call-defaults.js';
import { OutboundCallCreate } from '../../src/contract/call.js';

const prop = (name: string) => (OutboundCallCreate.properties as Record<string, { minimum?: number; maximum?: number; default?: unknown }>)[name];

test('the request schema takes its ranges and defaults from the table', () => {
  for (const [field, opt] of [['ring_timeout_s', RING_TIMEOUT_S], ['max_duration_s', MAX_DURATION_S]] as const) {
    const p = prop(field);
    assert.deepEqual([p?.minimum, p?.maximum, p?.default], [opt.min, opt.max, opt.default], field);
  }
});

test('a call that gives no options stores the defaults of the table', () => {
  const o = optionsFrom({ to: '+14155550123' }, null);
  assert.equal(o.ring_timeout_s, RING_TIMEOUT_S.default);
  assert.equal(o.max_duration_s, MAX_DURATION_S.default);
  assert.deepEqual(o.machine_detection, MACHINE_DETECTION_DEFAULT);
  assert.deepEqual(o.record, { enabled: false, channels: 'mono', track: 'both', trim_silence: false });
});

test('the record schema takes its defaults from the table', () => {
  const record = prop('record') as unknown as { properties: Record<string, { default?: unknown }> };
  assert.deepEqual(
    ['channels', 'track', 'trim_silence'].map((k) => record.properties[k]?.default),
    [RECORD_CHANNELS_DEFAULT, RECORD_TRACK_DEFAULT, RECORD_TRIM_SILENCE_DEFAULT],
  );
});

test('scenario files are held to the same ranges as the API', () => {
  const base = { name: 'x', to: '+14155550123', expect: { status: 'completed' } };
  for (const [field, opt] of [['ring_timeout_s', RING_TIMEOUT_S], ['max_duration_s', MAX_DURATION_S]] as const) {
    assert.equal(validateScenario({ ...base, [field]: opt.max }, 'f.json').ok, true, `${field} at its maximum`);
    assert.equal(validateScenario({ ...base, [field]: opt.max + 1 }, 'f.json').ok, false, `${field} above its maximum`);
    assert.equal(validateScenario({ ...base, [field]: opt.min - 1 }, 'f.json').ok, false, `${field} below its minimum`);
  }
});
