import { join, raw, sql, type SqlFragment } from './sql.js';

/**
 * Builds `col = value, ...` for an UPDATE from a patch, taking only columns from a fixed list
 * (the column names are code, never input) and skipping fields the patch does not carry.
 */
export function updateSet(patch: Record<string, unknown>, columns: Record<string, (v: unknown) => unknown>): SqlFragment[] {
  const parts: SqlFragment[] = [];
  for (const [field, toColumnValue] of Object.entries(columns)) {
    if (Object.hasOwn(patch, field) && patch[field] !== undefined) parts.push(sql`${raw(field)} = ${toColumnValue(patch[field])}`);
  }
  return parts;
}

export function setList(parts: SqlFragment[]): SqlFragment {
  return join(parts, ', ');
}

export const asIs = (v: unknown) => v;
export const asJson = (v: unknown) => (v === null ? null : JSON.stringify(v));
