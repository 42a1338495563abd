import type { SqlFragment } from './sql.js';

/** What a query returns, whichever driver ran it. */
export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

/** Something that runs SQL: the database itself or an open transaction. */
export interface Queryable {
  query<T = Record<string, unknown>>(q: SqlFragment): Promise<QueryResult<T>>;
  /** Runs a trusted multi-statement script without parameters (migrations). */
  execScript(text: string): Promise<void>;
}

export type DriverName = 'pglite' | 'postgres';

/**
 * The store: PostgreSQL SQL over one of two drivers (embedded PGlite, or pg against a server).
 * `transaction` runs fn in BEGIN/COMMIT and rolls back when fn throws, so nothing is partially written.
 */
export interface Database extends Queryable {
  readonly driver: DriverName;
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs fn holding a session-level advisory lock on one connection (used by migrations). */
  withAdvisoryLock<T>(key: string, fn: (conn: Queryable) => Promise<T>): Promise<T>;
  /**
   * Subscribes to NOTIFY on a channel (a fixed name chosen by code). The handler gets the payload.
   * Returns the unsubscribe function. Notifications are a wake-up hint only: callers also poll.
   */
  listen(channel: string, handler: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
