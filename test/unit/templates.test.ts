import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fillTemplate, missingVariables, referencedVariables } from '../../src/contract/templates.js';

test('finds referenced variables, with or without inner spaces, once each', () => {
  assert.deepEqual(referencedVariables('Hi {{name}}, your {{ appt_time }} with {{name}}'), ['name', 'appt_time']);
  assert.deepEqual(referencedVariables('no vars, {not one}, {{ 1bad }}'), []);
});

test('missing variables are reported across prompt and greeting', () => {
  assert.deepEqual(missingVariables(['{{a}} {{b}}', '{{c}}'], { a: '1' }), ['b', 'c']);
  assert.deepEqual(missingVariables(['{{a}}'], { a: '' }), []);
  // Inherited properties do not count as given.
  assert.deepEqual(missingVariables(['{{toString}}'], {}), ['toString']);
});

test('fills variables and leaves unknown ones alone', () => {
  assert.equal(fillTemplate('Hi {{ name }}, {{x}}', { name: 'Ana' }), 'Hi Ana, {{x}}');
  assert.equal(fillTemplate('{{a}}{{a}}', { a: '$&' }), '$&$&');
});
