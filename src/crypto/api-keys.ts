import { createHash, randomBytes } from 'node:crypto';

const PREFIX = 'oc_';

/** A new API key: `oc_` + 32 random bytes in base64url (256 bits, so a plain SHA-256 is a safe hash). */
export function generateApiKey(): string {
  return PREFIX + randomBytes(32).toString('base64url');
}

/** Keys are high-entropy random strings, so one SHA-256 is enough: no dictionary to defend against. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** The part shown to people to tell keys apart, never enough to use. */
export function apiKeyPrefix(key: string): string {
  return key.slice(0, PREFIX.length + 6);
}
