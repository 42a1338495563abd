/** Identifiers from crypto randomness: branch (§8.1.1.7), tags (§19.3), Call-ID (§8.1.1.4). */
import { randomBytes } from 'node:crypto';

/** RFC 3261 magic cookie that marks a branch as globally unique (§8.1.1.7). */
export const MAGIC_COOKIE = 'z9hG4bK';

/** z9hG4bK + 96 random bits: collision-free at thousands of calls per second. */
export function newBranch(): string {
  return MAGIC_COOKIE + randomBytes(12).toString('base64url');
}

/** §19.3: tags need at least 32 bits of randomness; we use 64. */
export function newTag(): string {
  return randomBytes(8).toString('hex');
}

export function newCallId(host: string): string {
  return `${randomBytes(16).toString('hex')}@${host}`;
}

export function newCnonce(): string {
  return randomBytes(16).toString('hex');
}
