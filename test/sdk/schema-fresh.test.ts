import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { generateSdkSchema } from '../../scripts/sdk-schema.js';

test('src/sdk/schema.ts is what openapi-typescript makes of the current API (run npm run sdk:generate)', async () => {
  assert.equal(readFileSync(new URL('../../src/sdk/schema.ts', import.meta.url), 'utf8'), await generateSdkSchema());
});

