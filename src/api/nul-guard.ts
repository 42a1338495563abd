/**
 * Text with a NUL character (U+0000) is refused at the door, for every route: PostgreSQL's text and
 * jsonb cannot hold it (PGlite alike), so it would otherwise reach the store and fail there as an
 * internal error. A NUL in a path id (`%00`), a query parameter, a body field or a body key is a 400
 * `invalid_request` naming the field.
 */
import { OutcallError } from '../errors.js';

/** Deeper than any request body the API accepts (the body limit bounds the rest). */
const MAX_DEPTH = 64;

/** Where the first NUL is, as a field path ("greeting", "tools[2].name", "metadata.key"), or undefined. */
export function findNul(value: unknown, path = '', depth = 0): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const at = findNul(value[i], `${path}[${i}]`, depth + 1);
      if (at !== undefined) return at;
    }
    return undefined;
  }
  for (const [k, v] of Object.entries(value)) {
    const here = path === '' ? k : `${path}.${k}`;
    if (k.includes('\u0000')) return here;
    const at = findNul(v, here, depth + 1);
    if (at !== undefined) return at;
  }
  return undefined;
}

/** Throws invalid_request for the first NUL in the path parameters, the query or the body. */
export function refuseNul(req: { params?: unknown; query?: unknown; body?: unknown }): void {
  for (const [part, value] of [['path', req.params], ['query', req.query], ['body', req.body]] as const) {
    const at = findNul(value);
    if (at === undefined) continue;
    const field = at === '' ? part : at;
    throw new OutcallError('invalid_request', `${part === 'body' ? '' : `${part} parameter `}${field} contains a NUL character (\\u0000), which cannot be stored`, field);
  }
}
