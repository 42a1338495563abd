import { closeSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { OutcallError } from '../errors.js';

/**
 * An exclusive lock on the embedded data folder. PGlite has no multi-process protection: two
 * processes on one folder silently lose writes. So the folder holds `outcall.lock`, created with
 * O_EXCL (atomic), naming the owner's pid, host and a nonce. A lock whose pid is dead on this host
 * is stale (a crash) and is taken over; a live one is a clear error.
 */
export interface DataDirLock {
  readonly path: string;
  release(): void;
}

interface LockOwner {
  pid: number;
  host: string;
  nonce: string;
  startedAt: string;
}

const LOCK_NAME = 'outcall.lock';

function readOwner(path: string): LockOwner | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
  } catch {
    return undefined; // missing or half-written: treated by the caller
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryCreate(path: string, owner: LockOwner): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, JSON.stringify(owner));
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Moves a stale lock aside. Rename is atomic, so of two processes racing to take over the same
 * stale lock only one moves it; if what we moved turns out to be a fresh lock (another process took
 * over between our read and our rename), we put it back with link() (which fails rather than
 * overwrite) and report the folder as busy.
 */
function takeOverStale(path: string, stale: LockOwner): void {
  const aside = `${path}.stale-${randomBytes(6).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const moved = readOwner(aside);
  if (moved && moved.nonce !== stale.nonce) {
    try {
      linkSync(aside, path);
    } catch {
      // someone else created a lock meanwhile; theirs stands
    }
  }
  unlinkSync(aside);
}

export function acquireDataDirLock(dataDir: string): DataDirLock {
  const path = join(dataDir, LOCK_NAME);
  const me: LockOwner = {
    pid: process.pid,
    host: hostname(),
    nonce: randomBytes(12).toString('hex'),
    startedAt: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    if (tryCreate(path, me)) {
      return {
        path,
        release() {
          // Only remove the lock if it is still ours.
          if (readOwner(path)?.nonce === me.nonce) unlinkSync(path);
        },
      };
    }
    const owner = readOwner(path);
    if (owner === undefined) {
      // Being written right now, or a crash mid-write: look again shortly.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
      if (readOwner(path) === undefined && attempt >= 2) takeOverStale(path, { pid: 0, host: '', nonce: '', startedAt: '' });
      continue;
    }
    if (owner.host !== me.host || isAlive(owner.pid)) {
      throw new OutcallError(
        'data_dir_locked',
        `the data folder ${dataDir} is in use by process ${owner.pid} on ${owner.host} (since ${owner.startedAt}). ` +
          `Only one Outcall process may use an embedded data folder; use DATABASE_URL (PostgreSQL) to run several. ` +
          `If that process is gone, delete ${path}.`,
      );
    }
    takeOverStale(path, owner);
  }
  throw new OutcallError('data_dir_locked', `could not lock the data folder ${dataDir}: another process keeps taking it`);
}
