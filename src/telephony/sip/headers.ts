/**
 * Header names and the ordered header list of a SIP message.
 * RFC 3261 §7.3: names are case-insensitive; §7.3.3 compact forms; §7.3.1 a header whose grammar is a
 * comma-separated list may appear once with several values or several times, and both are equivalent.
 */

/** RFC 3261 §7.3.3 and registered compact forms (RFC 3515 r, RFC 3265 o/u, RFC 3841 a/j/d, RFC 3892 b, RFC 4028 x, RFC 4474 y/n). */
const COMPACT: Record<string, string> = {
  v: 'Via', f: 'From', t: 'To', i: 'Call-ID', m: 'Contact', l: 'Content-Length', c: 'Content-Type',
  k: 'Supported', e: 'Content-Encoding', s: 'Subject', r: 'Refer-To', o: 'Event', u: 'Allow-Events',
  b: 'Referred-By', x: 'Session-Expires', a: 'Accept-Contact', j: 'Reject-Contact', d: 'Request-Disposition',
  y: 'Identity', n: 'Identity-Info',
};

/** Canonical spelling of well-known headers (the serializer writes these; unknown names keep their own case). */
const CANONICAL = new Map<string, string>(
  [
    'Via', 'From', 'To', 'Call-ID', 'CSeq', 'Contact', 'Content-Length', 'Content-Type', 'Max-Forwards',
    'Route', 'Record-Route', 'WWW-Authenticate', 'Authorization', 'Proxy-Authenticate', 'Proxy-Authorization',
    'User-Agent', 'Server', 'Allow', 'Supported', 'Require', 'Event', 'Refer-To', 'Referred-By',
    'Subscription-State', 'Expires', 'Retry-After', 'Reason', 'Session-Expires', 'Content-Encoding', 'Subject',
    'Allow-Events', 'Accept', 'Unsupported', 'Min-Expires', 'Warning', 'Timestamp', 'Date',
  ].map((n) => [n.toLowerCase(), n]),
);

/**
 * Headers whose grammar is NOT a comma list (credentials and challenges carry commas inside their own
 * params; Date has a comma), so getAll must never split them. RFC 3261 §7.3.1 names these exceptions.
 */
const NOT_LIST = new Set([
  'www-authenticate', 'authorization', 'proxy-authenticate', 'proxy-authorization', 'date', 'call-id',
  'cseq', 'from', 'to', 'content-length', 'content-type', 'max-forwards', 'user-agent', 'server',
  'subject', 'refer-to', 'referred-by', 'subscription-state', 'event', 'expires', 'retry-after',
  'timestamp', 'session-expires', 'min-expires', 'organization', 'priority', 'reply-to', 'mime-version',
]);

/** Expands a compact form and returns the canonical spelling. */
export function canonicalName(name: string): string {
  const lower = name.toLowerCase();
  const full = name.length === 1 ? COMPACT[lower] : undefined;
  if (full !== undefined) return full;
  return CANONICAL.get(lower) ?? name;
}

export interface HeaderField {
  readonly name: string;
  readonly value: string;
}

/**
 * Splits a header value on commas that are outside quoted strings and <...> (RFC 3261 §7.3.1, §25.1:
 * a display name may hold commas in quotes, a URI may hold commas inside angle brackets).
 */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (quoted) {
      if (ch === '\\') i++;
      else if (ch === '"') quoted = false;
    } else if (ch === '"') quoted = true;
    else if (ch === '<') depth++;
    else if (ch === '>') depth = Math.max(0, depth - 1);
    else if (ch === ',' && depth === 0) {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(value.slice(start).trim());
  return out.filter((v) => v.length > 0);
}

/** Ordered, case-insensitive header list. Keeps one entry per header line as received. */
export class SipHeaders {
  private readonly fields: HeaderField[] = [];

  constructor(fields: Iterable<HeaderField> = []) {
    for (const f of fields) this.append(f.name, f.value);
  }

  append(name: string, value: string): this {
    this.fields.push({ name: canonicalName(name), value });
    return this;
  }

  /** Adds a header before all others of any name (used for Via, which is pushed on top; §8.1.1.7). */
  prepend(name: string, value: string): this {
    this.fields.unshift({ name: canonicalName(name), value });
    return this;
  }

  /** Replaces every occurrence of name with one value. */
  set(name: string, value: string): this {
    this.remove(name);
    return this.append(name, value);
  }

  remove(name: string): this {
    const key = canonicalName(name).toLowerCase();
    for (let i = this.fields.length - 1; i >= 0; i--) {
      if (this.fields[i]?.name.toLowerCase() === key) this.fields.splice(i, 1);
    }
    return this;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** First header line value (not split). */
  get(name: string): string | undefined {
    const key = canonicalName(name).toLowerCase();
    return this.fields.find((f) => f.name.toLowerCase() === key)?.value;
  }

  /** How many header lines carry `name` (compact forms included). */
  count(name: string): number {
    const key = canonicalName(name).toLowerCase();
    return this.fields.reduce((n, f) => n + (f.name.toLowerCase() === key ? 1 : 0), 0);
  }

  /** Every value: lines in order, each list-valued line split on top-level commas. */
  getAll(name: string): string[] {
    const key = canonicalName(name).toLowerCase();
    const lines = this.fields.filter((f) => f.name.toLowerCase() === key).map((f) => f.value);
    if (NOT_LIST.has(key)) return lines;
    return lines.flatMap(splitList);
  }

  entries(): readonly HeaderField[] {
    return this.fields;
  }

  clone(): SipHeaders {
    return new SipHeaders(this.fields);
  }
}

/** The media type of a Content-Type or Accept value (RFC 3261 §20.15: type/subtype before any parameter), lower case; '' for none. */
export function mediaTypeOf(value: string | undefined): string {
  return (value ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}
