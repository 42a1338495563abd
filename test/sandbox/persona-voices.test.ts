/** The personas speak with voices other than the agents', and only voices the npm engine has. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FLITE_WASM_VOICES } from '../../src/providers/tts/flite-wasi.js';
import { FLITE_WASM_DEFAULT_VOICE } from '../../src/providers/tts/flite-wasm.js';
import { DEFAULT_PERSONA_VOICE, personaVoice } from '../../src/sandbox/persona-call.js';
import { loadPersonas, personaProblems } from '../../src/sandbox/persona.js';

test("every bundled persona speaks a flite voice that is not the agents' default", () => {
  const voices: Record<string, string> = {};
  for (const [name, p] of loadPersonas()) {
    const v = personaVoice(p, 'flite-wasm');
    voices[name] = v;
    assert.ok((FLITE_WASM_VOICES as readonly string[]).includes(v), `${name}: ${v} is a flite-wasm voice`);
    assert.notEqual(v, FLITE_WASM_DEFAULT_VOICE, `${name} does not sound like the agent`);
    assert.equal(personaVoice(p, 'flite'), v, "Debian's flite has the same voices");
  }
  assert.deepEqual(voices, {
    fax: DEFAULT_PERSONA_VOICE, 'fax-answer': DEFAULT_PERSONA_VOICE, 'hangs-up': DEFAULT_PERSONA_VOICE, human: 'kal16', intercept: 'slt', interrupter: 'awb', screening: 'slt',
    'talkative-human': 'slt', voicemail: 'slt', 'voicemail-high-beep': 'kal16', 'voicemail-no-beep': 'awb',
  });
  // The screened person who picks up speaks with a voice of their own, not the assistant's nor the agent's.
  const screening = loadPersonas().get('screening');
  const pickup = screening?.lines.find((l) => l.say.startsWith('Hello?'));
  assert.equal(personaVoice({ voice: pickup?.voice }, 'flite-wasm'), 'kal16');
  assert.notEqual(pickup?.voice, screening?.voice);
  // With espeak-ng, the personas' espeak-ng voices (the agents' default there is plain en-us).
  assert.equal(personaVoice({}, 'espeak-ng'), 'en-us+f3');
});

test("a persona naming a voice flite lacks is refused at load (it would be mute)", () => {
  const base = { name: 'p', answer_after_ms: 0, lines: [] };
  assert.deepEqual(personaProblems({ ...base, voice: 'rms' }), []);
  assert.match(personaProblems({ ...base, voice: 'en-us' }).join(), /voice: a flite voice \(slt, rms, awb, kal16, kal, awb_time\)/);
  assert.deepEqual(personaProblems({ ...base, espeak_voice: 'en-gb+m3' }), []);
});
