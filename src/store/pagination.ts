import { OutcallError } from '../errors.js';
import { sql, type SqlFragment } from './sql.js';

/**
 * Keyset pagination, newest first, over (created_at, id): stable while rows are inserted, and the
 * cursor is opaque to clients (base64url JSON of the last row's key).
 */
export interface CursorKey {
  at: string;
  id: string;
}

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify([key.at, key.id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): CursorKey {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string' && !Number.isNaN(Date.parse(v[0]))) {
      return { at: v[0], id: v[1] };
    }
  } catch {
    // fall through to the error below
  }
  throw new OutcallError('invalid_cursor', 'cursor is not one this API issued; pass next_cursor from the previous page', 'cursor');
}

/** `and (created_at, id) < (cursor)` when a cursor is given. */
export function afterCursor(cursor: string | undefined): SqlFragment {
  if (cursor === undefined) return sql``;
  const key = decodeCursor(cursor);
  return sql`and (created_at, id) < (${key.at}::timestamptz, ${key.id})`;
}

/** Fetches limit+1 rows to know whether another page exists. */
export function page<T extends { created_at: Date; id: string }, U>(rows: T[], limit: number, map: (r: T) => U): { data: U[]; next_cursor: string | null } {
  const more = rows.length > limit;
  const slice = more ? rows.slice(0, limit) : rows;
  const last = slice.at(-1);
  return {
    data: slice.map(map),
    next_cursor: more && last ? encodeCursor({ at: last.created_at.toISOString(), id: last.id }) : null,
  };
}
