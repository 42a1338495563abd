/** SQLSTATE 23505: both pg and PGlite put the code on the error object. */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}
