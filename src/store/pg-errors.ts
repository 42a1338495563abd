/** SQLSTATE 23505: both pg and PGlite put the code on the error object. */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}

/** A unique violation of the named index (pg puts it in `constraint`; PGlite too, else in the message). */
export function violatesIndex(err: unknown, name: string): boolean {
  if (!isUniqueViolation(err)) return false;
  const e = err as { constraint?: unknown; message?: unknown };
  return e.constraint === name || (typeof e.message === 'string' && e.message.includes(`"${name}"`));
}
