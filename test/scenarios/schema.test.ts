import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateScenario } from '../../src/cli/scenarios/schema.js';
import { loadScenarios } from '../../src/cli/scenarios/load.js';
import { REPO } from '../helpers/cli.js';

const base = { name: 'n', agent_name: 'sandbox-demo', to: '+12025550101', expect: { status: 'busy' } };
const errorsOf = (raw: unknown) => {
  const v = validateScenario(raw, 'f.json');
  return v.ok ? [] : v.errors;
};

test('a valid scenario comes back typed; string shorthand in transcript lists means anyone', () => {
  const v = validateScenario(
    {
      ...base,
      dynamic_variables: { first: 'Ann' },
      call_context: 'ctx',
      max_duration_s: 60,
      ring_timeout_s: 10,
      expect: {
        status: 'completed',
        end_reason: 'agent_hangup',
        sip_status_code: 200,
        transcript_includes: ['hello', { speaker: 'callee', text: 'yes' }],
        transcript_excludes: [{ text: 'sorry' }],
        tool_called: ['book'],
        max_answer_to_greeting_ms: 1000,
        max_turn_latency_ms: 2000,
        min_turns: 3,
        max_duration_s: 30,
      },
    },
    'f.json',
  );
  assert.ok(v.ok, JSON.stringify(v));
  assert.deepEqual(v.scenario.expect.transcript_includes, [
    { speaker: 'any', text: 'hello' },
    { speaker: 'callee', text: 'yes' },
  ]);
  assert.deepEqual(v.scenario.expect.transcript_excludes, [{ speaker: 'any', text: 'sorry' }]);
  assert.equal(v.scenario.file, 'f.json');
  assert.equal(v.scenario.ring_timeout_s, 10);
});

test('each problem names the file and the field, all at once', () => {
  assert.deepEqual(errorsOf([]), ['f.json: must be a JSON object']);
  assert.deepEqual(errorsOf({ expect: { status: 'busy' } }), ['f.json: name: is required', 'f.json: to: is required']);
  assert.deepEqual(errorsOf({ ...base, to: 'bob' }), ['f.json: to: must be a phone number like +12025550100, got "bob"']);
  assert.deepEqual(errorsOf({ ...base, agent: 'agt_1' }), ['f.json: agent_name: give agent or agent_name, not both']);
  assert.deepEqual(errorsOf({ ...base, colour: 1 }), [`f.json: colour: unknown field (known: name, agent, agent_name, to, dynamic_variables, call_context, max_duration_s, ring_timeout_s, expect)`]);
  assert.deepEqual(errorsOf({ ...base, max_duration_s: 5 }), ['f.json: max_duration_s: must be an integer from 30 to 14400, got 5']);
  assert.deepEqual(errorsOf({ ...base, dynamic_variables: { a: 1 } }), ['f.json: dynamic_variables.a: must be a string']);
  assert.deepEqual(errorsOf({ ...base, expect: undefined }), ['f.json: expect: is required (an object of expectations)']);
  assert.deepEqual(errorsOf({ ...base, expect: {} }), ['f.json: expect: must hold at least one expectation']);
});

test('expectation fields are checked one by one', () => {
  const e = (expect: unknown) => errorsOf({ ...base, expect });
  assert.match(e({ status: 'ringing' })[0]!, /^f\.json: expect\.status: must be one of completed, no_answer, busy, failed, canceled, got "ringing"$/);
  assert.deepEqual(e({ end_reason: '' }), ['f.json: expect.end_reason: must be a non-empty string']);
  assert.deepEqual(e({ sip_status_code: 86 }), ['f.json: expect.sip_status_code: must be an integer from 100 to 699, got 86']);
  assert.deepEqual(e({ transcript_includes: 'hi' }), ['f.json: expect.transcript_includes: must be an array of { "speaker": "agent"|"callee"|"any", "text": "..." }']);
  assert.deepEqual(e({ transcript_includes: [{ speaker: 'bot', text: 'hi' }] }), ['f.json: expect.transcript_includes[0].speaker: must be "agent", "callee" or "any", got "bot"']);
  assert.deepEqual(e({ transcript_excludes: [{ text: ' ' }, 3] }), [
    'f.json: expect.transcript_excludes[0].text: must be a non-empty string',
    'f.json: expect.transcript_excludes[1]: must be a string or { "speaker", "text" }',
  ]);
  assert.deepEqual(e({ transcript_includes: [{ text: 'a', said: 'b' }] }), ['f.json: expect.transcript_includes[0].said: unknown field (known: speaker, text)']);
  assert.deepEqual(e({ tool_called: 'book' }), ['f.json: expect.tool_called: must be an array of tool names']);
  assert.deepEqual(e({ min_turns: -1 }), ['f.json: expect.min_turns: must be a whole number >= 0, got -1']);
  assert.deepEqual(e({ max_turn_latency_ms: 1.5 }), ['f.json: expect.max_turn_latency_ms: must be a whole number >= 0, got 1.5']);
  assert.match(e({ latency: 1 })[0]!, /^f\.json: expect\.latency: unknown expectation/);
});

test('loading: a directory\'s *.json, bad JSON and duplicate names reported per file; the bundled scenarios are valid', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'outcall-scen-'));
  await writeFile(join(dir, 'a.json'), JSON.stringify(base));
  await writeFile(join(dir, 'b.json'), JSON.stringify(base));
  await writeFile(join(dir, 'c.json'), '{ nope');
  await writeFile(join(dir, 'notes.txt'), 'ignored');
  const r = await loadScenarios([dir, join(dir, 'missing.json')]);
  assert.ok(!r.ok);
  assert.equal(r.errors.length, 3, r.errors.join('\n'));
  assert.equal(r.errors[0], `${join(dir, 'missing.json')}: no such file or directory`);
  assert.match(r.errors[1]!, /c\.json: not valid JSON/);
  assert.equal(r.errors[2], `${join(dir, 'b.json')}: name: "n" is also the name of a.json; names must be unique`);

  const empty = await mkdtemp(join(tmpdir(), 'outcall-scen-'));
  assert.deepEqual(await loadScenarios([empty]), { ok: false, errors: [`${empty}: no *.json scenario files in this directory`] });

  const bundled = await loadScenarios([join(REPO, 'scenarios')]);
  assert.ok(bundled.ok, JSON.stringify(bundled));
  assert.deepEqual(bundled.scenarios.map((s) => s.to).sort(), ['+12025550100', '+12025550101', '+12025550103', '+12025550106']);
  assert.ok(bundled.scenarios.every((s) => s.agent_name === 'sandbox-demo'));
});
