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

/**
 * The store cannot be reached (reset, refused, ended, timed out, the server shutting down), as opposed
 * to a statement that failed: the API answers 503 `unavailable`, and a pooled connection that saw it
 * is destroyed rather than reused.
 */
export function isConnectionError(err: unknown): err is Error {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  return (
    code === 'ECONNRESET' ||
    code === 'ECONNREFUSED' ||
    code === 'EPIPE' ||
    code === 'ETIMEDOUT' ||
    code === '57P01' || // admin_shutdown
    code === '57P02' || // crash_shutdown
    code === '57P03' || // cannot_connect_now (starting up)
    /Connection terminated|Client was closed|not queryable|timeout exceeded when trying to connect/i.test(err.message)
  );
}

/**
 * The store's disk is full (SQLSTATE 53100 disk_full: "could not extend file", on PostgreSQL and on
 * PGlite's data folder). Nothing of the statement was written, and the same write succeeds once
 * space is freed: the API answers 507 `storage_full`, and a call's events are retried.
 */
export function isStorageFull(err: unknown): err is Error {
  return err instanceof Error && (err as { code?: unknown }).code === '53100';
}
