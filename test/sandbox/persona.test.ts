import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPersonas, parsePersona, personaProblems } from '../../src/sandbox/persona.js';
import { MAGIC_NUMBERS } from '../../src/sandbox/numbers.js';
import { OutcallError } from '../../src/errors.js';

const valid = { name: 'p', answer_after_ms: 1000, lines: [{ say: 'Hi.' }] };

describe('persona validation', () => {
  test('the bundled personas are valid and cover every persona route', () => {
    const all = loadPersonas();
    assert.deepEqual([...all.keys()].sort(), ['fax', 'fax-answer', 'hangs-up', 'human', 'intercept', 'interrupter', 'screening', 'talkative-human', 'voicemail', 'voicemail-high-beep', 'voicemail-no-beep']);
    for (const n of MAGIC_NUMBERS) if (n.route.kind === 'persona') assert.ok(all.has(n.route.persona), n.number);
  });

  test('a minimal persona is valid', () => {
    assert.deepEqual(personaProblems(valid), []);
    assert.equal(parsePersona(valid, 'x.json').name, 'p');
  });

  test('every problem is listed with its field', () => {
    const problems = personaProblems({
      name: 'Bad Name', answer_after_ms: -1, colour: 'red', beep: 'yes', interrupt: { after_agent_speech_ms: 5 },
      lines: [{ say: '' }, { say: 'ok', when: { agent_said_any: [] } }, { say: 'ok', then: 'transfer' }, 'hello', { say: 'x', mood: 1 }],
    });
    const fields = problems.map((p) => p.split(':')[0]);
    assert.deepEqual(fields, ['colour', 'name', 'answer_after_ms', 'beep', 'interrupt', 'lines[0].say', 'lines[1].when', 'lines[2].then', 'lines[3]', 'lines[4].mood']);
  });

  test('missing lines, non-object, and a recorder that would hang up at once', () => {
    assert.deepEqual(personaProblems([]), ['the persona must be a JSON object']);
    assert.deepEqual(personaProblems({ name: 'a', answer_after_ms: 0 }), ['lines: required, an array (may be empty)']);
    assert.match(personaProblems({ name: 'a', answer_after_ms: 0, lines: [], record: true }).join(), /^record: /);
    assert.deepEqual(personaProblems({ name: 'a', answer_after_ms: 0, lines: [], record: true, hangup_after_last_line: false }), []);
  });

  test('parsePersona and loadPersonas throw sandbox_persona_invalid naming the file', () => {
    assert.throws(() => parsePersona({ name: 'x' }, 'custom/x.json'), (e: unknown) => e instanceof OutcallError && e.code === 'sandbox_persona_invalid' && /^custom\/x\.json: answer_after_ms/.test(e.message));
    const dir = mkdtempSync(join(tmpdir(), 'personas-'));
    try {
      writeFileSync(join(dir, 'a.json'), JSON.stringify(valid));
      writeFileSync(join(dir, 'notes.txt'), 'ignored');
      assert.deepEqual([...loadPersonas(dir).keys()], ['p']);
      writeFileSync(join(dir, 'b.json'), JSON.stringify(valid));
      assert.throws(() => loadPersonas(dir), /b\.json: a persona named 'p' is already defined/);
      writeFileSync(join(dir, 'b.json'), '{ not json');
      assert.throws(() => loadPersonas(dir), /b\.json: not valid JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
