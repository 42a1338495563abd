/**
 * E.164 (ITU-T E.164 §6): a leading +, a country code that does not start with 0, at most 15 digits
 * in all. Errors say what is wrong, because "invalid phone number" helps nobody.
 */
export type E164Check = { ok: true } | { ok: false; reason: string };

export function checkE164(value: string): E164Check {
  if (value.length === 0) return { ok: false, reason: 'is empty' };
  if (/[\s\-().]/.test(value)) return { ok: false, reason: 'contains dashes, spaces, dots or parentheses; write it as + and digits only, e.g. +14155550123' };
  if (!value.startsWith('+')) {
    return /^\d+$/.test(value)
      ? { ok: false, reason: 'is missing + and country code; write it as +<country code><number>, e.g. +14155550123' }
      : { ok: false, reason: 'must start with + followed by digits' };
  }
  const digits = value.slice(1);
  if (!/^\d+$/.test(digits)) return { ok: false, reason: 'may hold only digits after the +' };
  if (digits.startsWith('0')) return { ok: false, reason: 'has a country code starting with 0; country codes start with 1-9' };
  if (digits.length > 15) return { ok: false, reason: `is too long: ${digits.length} digits, E.164 allows at most 15` };
  if (digits.length < 7) return { ok: false, reason: `is too short: ${digits.length} digits; include the country code and full number` };
  return { ok: true };
}

/**
 * A SIP or SIPS URI destination (RFC 3261 §19.1): scheme, optional user@, a host, optional port and
 * params. Kept strict: no spaces or control characters, which would break the request line.
 */
export function isSipUri(value: string): boolean {
  if (value.length > 256) return false;
  return /^sips?:([A-Za-z0-9\-_.!~*'()&=+$,;?/%]+@)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9\-.]+)(:\d{1,5})?(;[A-Za-z0-9\-_.!~*'()%=]+)*$/.test(value);
}
