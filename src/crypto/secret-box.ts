import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM for secrets at rest (SIP passwords, provider API keys).
 * Stored form: `v1:<base64 of 12-byte IV | 16-byte tag | ciphertext>`. The version prefix lets the
 * format change later; the tag makes tampering or a wrong key an error, not garbage.
 */
export class SecretBox {
  readonly #key: Buffer;
  /** A key of its own for fingerprints, derived from the secret key (never the cipher key itself). */
  readonly #macKey: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('the secret key must be 32 bytes (AES-256)');
    this.#key = key;
    this.#macKey = createHmac('sha256', key).update('outcall fingerprint key v1').digest();
  }

  /**
   * A keyed fingerprint (HMAC-SHA256) of a secret: equal secrets give equal fingerprints, and without
   * the secret key it reveals nothing and cannot be tested against guesses.
   */
  fingerprint(plain: string): string {
    return `f1:${createHmac('sha256', this.#macKey).update(plain, 'utf8').digest('base64url')}`;
  }

  /** Accepts 64 hex characters or base64 of 32 bytes, as OUTCALL_SECRET_KEY documents. */
  static parseKey(text: string): Buffer {
    const t = text.trim();
    if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
    const b = Buffer.from(t, 'base64');
    if (b.length === 32 && /^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) return b;
    throw new Error('OUTCALL_SECRET_KEY must be 64 hex characters or the base64 of 32 random bytes');
  }

  encrypt(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `v1:${Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64')}`;
  }

  decrypt(stored: string): string {
    if (!stored.startsWith('v1:')) throw new Error('unknown secret format');
    const buf = Buffer.from(stored.slice(3), 'base64');
    if (buf.length < 28) throw new Error('secret is truncated');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, buf.subarray(0, 12));
    decipher.setAuthTag(buf.subarray(12, 28));
    return Buffer.concat([decipher.update(buf.subarray(28)), decipher.final()]).toString('utf8');
  }
}
