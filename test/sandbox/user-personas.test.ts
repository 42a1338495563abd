/** Users' own personas: a folder added to the bundled ones, a persona with a `line` gets its own number. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { numbersWithPersonas, routeFor } from '../../src/sandbox/numbers.js';
import { BUNDLED_PERSONA_DIR, loadPersonaDirs, personaProblems } from '../../src/sandbox/persona.js';

test('a persona folder adds personas, replaces same-named ones, and a line routes its own number', () => {
  const dir = mkdtempSync(join(tmpdir(), 'outcall-personas-'));
  try {
    writeFileSync(join(dir, 'angry.json'), JSON.stringify({ name: 'angry', line: '0150', answer_after_ms: 500, lines: [{ say: 'Stop calling me.', then: 'hangup' }] }));
    writeFileSync(join(dir, 'human.json'), JSON.stringify({ name: 'human', answer_after_ms: 100, lines: [{ say: 'Hi.' }] }));
    const personas = loadPersonaDirs([BUNDLED_PERSONA_DIR, dir]);
    assert.equal(personas.get('human')?.answer_after_ms, 100, 'the user\'s human replaced the bundled one');
    assert.ok(personas.has('voicemail'), 'bundled ones stay');
    const numbers = numbersWithPersonas(personas.values());
    assert.deepEqual(routeFor('+13125550150', numbers)?.route, { kind: 'persona', persona: 'angry' });
    assert.equal(routeFor('+13125550150'), undefined, 'not a number without the persona');
    assert.equal(numbers.find((n) => n.name === 'angry')?.number, '+12025550150');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a line must be free: built-in numbers, the caller id and other personas\' lines are refused', () => {
  // 0100-0119 are kept for the built-in numbers (some still free, for the next ones), 0199 is the caller id.
  for (const line of ['0100', '0108', '0109', '0115', '0119', '0199', '150', '0200', 150]) {
    const problems = personaProblems({ name: 'x', line, answer_after_ms: 0, lines: [] });
    assert.deepEqual(problems, ['line: the last four digits of its own number, "0120" to "0198" (0100-0119 are kept for built-in numbers, 0199 is the caller id)'], String(line));
  }
  for (const line of ['0120', '0198']) assert.deepEqual(personaProblems({ name: 'x', line, answer_after_ms: 0, lines: [] }), [], line);
  assert.throws(
    () => numbersWithPersonas([{ name: 'a', line: '0150' }, { name: 'b', line: '0150' }]),
    (err: Error & { code?: string }) => err.code === 'sandbox_persona_invalid' && /0150 is already the number of 'a'/.test(err.message),
  );
});
