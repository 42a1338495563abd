/**
 * Walks a JSON schema (a TypeBox schema, or the same schema as the OpenAPI document serves it) and
 * lists every property as a dotted path, with its type, range and default rendered in the one form the
 * README's field tables use. Nested objects give `a.b`, arrays of objects `a[].b`, unions (a nullable
 * object, one object or another) the properties of every object branch. A map (`dynamic_variables`,
 * `options`) and free JSON (`metadata`, `flow`) are leaves: their keys are the caller's.
 */

type Schema = Record<string, unknown>;

export interface SchemaField {
  path: string;
  /** e.g. `integer`, `string or null`, `array`, `map`, `any JSON`. */
  type: string;
  /** e.g. `5-120`, `1-128 chars`, `` `udp`, `tcp`, `tls` ``; `-` when the type is the only constraint. */
  range: string;
  /** The schema's default as the README writes it (`` `45` ``), or undefined when the schema has none. */
  default: string | undefined;
  /** Required in the object that holds it. */
  required: boolean;
}

const isObject = (v: unknown): v is Schema => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The branches of a union, without the null one, and whether null was among them. */
function splitNullable(s: Schema): { branches: Schema[]; nullable: boolean } {
  if (!Array.isArray(s.anyOf)) return { branches: [s], nullable: false };
  const all = (s.anyOf as unknown[]).filter(isObject);
  const nonNull = all.filter((b) => b.type !== 'null');
  return { branches: nonNull, nullable: nonNull.length !== all.length };
}

/** The values of an enum, or of a union of one-value enums / consts (TypeBox literals). */
function enumValues(branches: Schema[]): unknown[] | undefined {
  if (branches.length === 1 && Array.isArray(branches[0]?.enum)) return branches[0].enum as unknown[];
  const values: unknown[] = [];
  for (const b of branches) {
    if ('const' in b) values.push(b.const);
    else if (Array.isArray(b.enum) && b.enum.length === 1) values.push(b.enum[0]);
    else return undefined;
  }
  return values.length > 0 ? values : undefined;
}

const code = (v: unknown) => '`' + (typeof v === 'string' ? v : JSON.stringify(v)) + '`';

function span(min: unknown, max: unknown, unit: string): string | undefined {
  const u = unit === '' ? '' : ` ${unit}`;
  if (typeof min === 'number' && typeof max === 'number') return `${min}-${max}${u}`;
  if (typeof max === 'number') return `≤${max}${u}`;
  if (typeof min === 'number') return `≥${min}${u}`;
  return undefined;
}

function stringRange(s: Schema): string | undefined {
  const tags: string[] = [];
  if (s['x-e164'] === true) tags.push('E.164');
  if (s['x-destination'] === true) tags.push('E.164 or sip:/sips: URI');
  if (s['x-http-url'] === true) tags.push('http(s) URL');
  if (typeof s.format === 'string') tags.push(s.format);
  if (typeof s.pattern === 'string') tags.push('`' + s.pattern + '`');
  const len = span(s.minLength, s.maxLength, 'chars');
  if (len !== undefined) tags.push(len);
  return tags.length > 0 ? tags.join(', ') : undefined;
}

/** The type and range of one (non-union-of-objects) schema. */
function describe(branches: Schema[]): { type: string; range: string } {
  const values = enumValues(branches);
  if (values !== undefined) {
    const types = [...new Set(values.map((v) => (Number.isInteger(v) ? 'integer' : typeof v)))];
    return { type: types.join(' or '), range: values.map(code).join(', ') };
  }
  if (branches.length > 1) {
    const kinds = branches.map((b) => describe([b]).type);
    return { type: [...new Set(kinds)].join(' or '), range: '-' };
  }
  const s = branches[0] ?? {};
  switch (s.type) {
    case 'string':
      return { type: 'string', range: stringRange(s) ?? '-' };
    case 'integer':
    case 'number': {
      const lower = typeof s.exclusiveMinimum === 'number' ? `>${s.exclusiveMinimum}` : s.minimum;
      const r =
        typeof s.exclusiveMinimum === 'number' && typeof s.maximum === 'number'
          ? `${lower}-${s.maximum}`
          : span(lower, s.maximum, '');
      return { type: s.type, range: r ?? '-' };
    }
    case 'boolean':
      return { type: 'boolean', range: '-' };
    case 'array': {
      const parts: string[] = [];
      const count = span(s.minItems, s.maxItems, 'items');
      if (count !== undefined) parts.push(count);
      if (s.uniqueItems === true) parts.push('distinct');
      const items = isObject(s.items) ? s.items : {};
      if (items.type !== 'object') {
        const inner = describe(splitNullable(items).branches).range;
        if (inner !== '-') parts.push(`each ${inner}`);
      }
      return { type: 'array', range: parts.length > 0 ? parts.join(', ') : '-' };
    }
    case 'object': {
      if (isObject(s.properties)) return { type: 'object', range: '-' };
      const count = span(s.minProperties, s.maxProperties, 'entries');
      return { type: 'map', range: count ?? '-' };
    }
    default:
      return { type: 'any JSON', range: '-' };
  }
}

function defaultOf(s: Schema, branches: Schema[]): string | undefined {
  if ('default' in s) return code(s.default);
  for (const b of branches) if ('default' in b) return code(b.default);
  return undefined;
}

/** The object schemas whose properties a value of this schema has (none for a scalar, a map or free JSON). */
function objectBranches(branches: Schema[]): Schema[] {
  return branches.filter((b) => b.type === 'object' && isObject(b.properties));
}

/** Every property of an object schema, depth first, in the schema's order. */
export function schemaFields(root: Schema, prefix = ''): SchemaField[] {
  const out: SchemaField[] = [];
  const seen = new Set<string>();
  const visitObject = (obj: Schema, at: string) => {
    const props = obj.properties as Record<string, Schema>;
    const required = new Set(Array.isArray(obj.required) ? (obj.required as string[]) : []);
    for (const [name, prop] of Object.entries(props)) {
      const path = at === '' ? name : `${at}.${name}`;
      const { branches, nullable } = splitNullable(prop);
      if (!seen.has(path)) {
        seen.add(path);
        const d = describe(branches);
        out.push({ path, type: nullable ? `${d.type} or null` : d.type, range: d.range, default: defaultOf(prop, branches), required: required.has(name) });
      }
      for (const o of objectBranches(branches)) visitObject(o, path);
      for (const b of branches) {
        if (b.type !== 'array' || !isObject(b.items)) continue;
        for (const o of objectBranches(splitNullable(b.items).branches)) visitObject(o, `${path}[]`);
      }
    }
  };
  for (const o of objectBranches(splitNullable(root).branches)) visitObject(o, prefix);
  return out;
}
