import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { openApiDocument } from '../../src/api/openapi-document.js';
import { schemaFields, type SchemaField } from './schema-fields.js';

/**
 * The README's field tables (`<!-- field-table: NAME -->` then a markdown table: field, type, range,
 * default, what it does) against the request schemas the server publishes at GET /openapi.json: a
 * documented field without a schema, a schema field the table leaves out, and a type, range or
 * default that differs from the schema all fail.
 */

const TABLES = {
  'create-call': '/v1/agents/{agentId}/outbound-calls',
  agent: '/v1/agents',
  trunk: '/v1/trunks',
} as const;
type TableName = keyof typeof TABLES;

interface Row {
  line: number;
  paths: string[];
  type: string;
  range: string;
  default: string;
}

/** A table row's cells: split on `|` that is not escaped, then `\|` read back as `|`. */
function cells(line: string): string[] {
  const inner = line.trim().replace(/^\|/, '').replace(/\|$/, '');
  return inner.split(/(?<!\\)\|/).map((c) => c.trim().replaceAll('\\|', '|'));
}

export function readTable(readme: string, name: string): Row[] {
  const lines = readme.split('\n');
  const at = lines.findIndex((l) => l.trim() === `<!-- field-table: ${name} -->`);
  assert.ok(at >= 0, `README.md has no <!-- field-table: ${name} --> table`);
  const header = cells(lines[at + 1] ?? '');
  assert.deepEqual(header, ['field', 'type', 'range', 'default', 'what it does'], `the ${name} table's header`);
  const rows: Row[] = [];
  for (let i = at + 3; i < lines.length && (lines[i] ?? '').trim().startsWith('|'); i++) {
    const c = cells(lines[i] as string);
    assert.equal(c.length, 5, `README.md line ${i + 1}: a ${name} row has 5 cells, this one ${c.length}`);
    const paths = [...(c[0] as string).matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
    assert.ok(paths.length > 0, `README.md line ${i + 1}: the field cell names no field`);
    rows.push({ line: i + 1, paths, type: c[1] as string, range: c[2] as string, default: c[3] as string });
  }
  assert.ok(rows.length > 0, `the ${name} table is empty`);
  return rows;
}

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const schemas = new Map<TableName, Map<string, SchemaField>>();

before(async () => {
  const doc = (await openApiDocument()) as { paths: Record<string, { post?: { requestBody?: { content: Record<string, { schema: Record<string, unknown> }> } } }> };
  for (const [name, route] of Object.entries(TABLES) as Array<[TableName, string]>) {
    const body = doc.paths[route]?.post?.requestBody?.content['application/json']?.schema;
    assert.ok(body, `the OpenAPI document has no request body for POST ${route}`);
    schemas.set(name, new Map(schemaFields(body).map((f) => [f.path, f])));
  }
});

for (const name of Object.keys(TABLES) as TableName[]) {
  describe(`README field table: ${name} (POST ${TABLES[name]})`, () => {
    const rows = readTable(readme, name);

    test('every documented field has a schema in the OpenAPI document', () => {
      const fields = schemas.get(name) as Map<string, SchemaField>;
      const unknown = rows.flatMap((r) => r.paths.filter((p) => !fields.has(p)).map((p) => `${p} (line ${r.line})`));
      assert.deepEqual(unknown, [], `documented in README.md but not in the ${name} schema`);
    });

    test('every schema field is documented, once', () => {
      const documented = rows.flatMap((r) => r.paths);
      const twice = documented.filter((p, i) => documented.indexOf(p) !== i);
      assert.deepEqual(twice, [], 'documented more than once');
      const missing = [...(schemas.get(name) as Map<string, SchemaField>).keys()].filter((p) => !documented.includes(p));
      assert.deepEqual(missing, [], `in the ${name} schema but not in README.md's table`);
    });

    test("each field's type, range and default are the schema's", () => {
      const fields = schemas.get(name) as Map<string, SchemaField>;
      const wrong: string[] = [];
      for (const r of rows) {
        for (const p of r.paths) {
          const f = fields.get(p);
          if (!f) continue; // reported above
          if (r.type !== f.type) wrong.push(`${p} (line ${r.line}): type "${r.type}", the schema says "${f.type}"`);
          if (r.range !== f.range) wrong.push(`${p} (line ${r.line}): range "${r.range}", the schema says "${f.range}"`);
          if (f.default !== undefined) {
            if (r.default !== f.default) wrong.push(`${p} (line ${r.line}): default "${r.default}", the schema says ${f.default}`);
          } else if (f.required !== (r.default === 'required')) {
            wrong.push(`${p} (line ${r.line}): default "${r.default}", but the schema ${f.required ? 'requires it' : 'does not require it'}`);
          } else if (r.default === '') {
            wrong.push(`${p} (line ${r.line}): the default cell is empty (say what happens without it)`);
          }
        }
      }
      assert.deepEqual(wrong, []);
    });
  });
}

test('the parser reads an escaped | inside a cell as one cell', () => {
  const rows = readTable('<!-- field-table: x -->\n| field | type | range | default | what it does |\n|---|---|---|---|---|\n| `a` | string | `^(b\\|c)$` | none | d |\n', 'x');
  assert.deepEqual(rows[0]?.range, '`^(b|c)$`');
});
