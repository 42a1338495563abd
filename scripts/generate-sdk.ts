/**
 * Regenerates src/sdk/schema.ts (the SDK's types) from the API's OpenAPI document with
 * openapi-typescript. Run after changing an API schema: `npm run sdk:generate`; a test fails
 * while the committed file is stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateSdkSchema } from './sdk-schema.js';

const target = fileURLToPath(new URL('../src/sdk/schema.ts', import.meta.url));
writeFileSync(target, await generateSdkSchema());
console.log(`wrote ${target}`);
