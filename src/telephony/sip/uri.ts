/**
 * SIP URIs (RFC 3261 §19.1), name-addr / addr-spec (§20.10, §25.1) and generic ;params.
 * Every parser returns a Result: the input is untrusted network data.
 */
import { fail, ok, type Result } from './errors.js';

export type Params = Map<string, string | null>;

export interface SipUri {
  readonly scheme: 'sip' | 'sips' | 'tel';
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly host: string;
  readonly port: number | undefined;
  readonly params: Params;
  /** ?hname=hvalue part, kept raw. */
  readonly headers: string | undefined;
}

export interface NameAddr {
  readonly displayName: string | undefined;
  readonly uri: SipUri;
  /** Header params after the address (tag, expires, ...). */
  readonly params: Params;
}

const HOST_RE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*|[0-9.]+)$/;

/** Parses ;a=b;c params (leading ';' optional). Names are lower-cased: RFC 3261 §7.3.1 params are case-insensitive. */
export function parseParams(text: string): Result<Params> {
  const params: Params = new Map();
  const body = text.trim();
  if (body === '') return ok(params);
  const parts = splitOutsideQuotes(body.startsWith(';') ? body.slice(1) : body, ';');
  for (const raw of parts) {
    const part = raw.trim();
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (!/^[a-z0-9!%'*+._~`-]+$/.test(name)) return fail('bad-header', `bad parameter name: ${name.slice(0, 40)}`);
    params.set(name, eq < 0 ? null : part.slice(eq + 1).trim());
  }
  return ok(params);
}

export function serializeParams(params: Params): string {
  let out = '';
  for (const [k, v] of params) out += v === null ? `;${k}` : `;${k}=${v}`;
  return out;
}

function splitOutsideQuotes(text: string, sep: string): string[] {
  const out: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted && ch === '\\') i++;
    else if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === sep) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

/** Splits host[:port]; IPv6 references stay bracketed. */
export function parseHostPort(text: string): Result<{ host: string; port: number | undefined }> {
  const t = text.trim();
  let host: string;
  let portText: string | undefined;
  if (t.startsWith('[')) {
    const end = t.indexOf(']');
    if (end < 0) return fail('bad-uri', 'unterminated IPv6 reference');
    host = t.slice(0, end + 1);
    const rest = t.slice(end + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return fail('bad-uri', 'junk after IPv6 reference');
      portText = rest.slice(1);
    }
  } else {
    const colon = t.indexOf(':');
    host = colon < 0 ? t : t.slice(0, colon);
    portText = colon < 0 ? undefined : t.slice(colon + 1);
  }
  if (!HOST_RE.test(host)) return fail('bad-uri', `bad host: ${host.slice(0, 60)}`);
  if (portText === undefined) return ok({ host, port: undefined });
  if (!/^\d{1,5}$/.test(portText)) return fail('bad-uri', `bad port: ${portText.slice(0, 20)}`);
  const port = Number(portText);
  if (port < 1 || port > 65535) return fail('bad-uri', `port out of range: ${port}`);
  return ok({ host, port });
}

/** RFC 3261 §19.1.1: sip:user:password@host:port;uri-parameters?headers (and tel: per RFC 3966, host = number). */
export function parseUri(text: string): Result<SipUri> {
  const t = text.trim();
  const colon = t.indexOf(':');
  if (colon < 0) return fail('bad-uri', 'URI has no scheme');
  const scheme = t.slice(0, colon).toLowerCase();
  if (scheme !== 'sip' && scheme !== 'sips' && scheme !== 'tel') {
    // An absolute URI of another scheme (RFC 3986 §3.1) is well formed, just not one we serve: RFC 3261
    // §8.2.2.1 answers 416, not 400 (RFC 4475 unksm2 has one in To).
    if (/^[a-z][a-z0-9+.-]*$/.test(scheme)) return fail('unsupported-uri-scheme', `URI scheme not supported: ${scheme.slice(0, 20)}`);
    return fail('bad-uri', `bad URI scheme: ${scheme.slice(0, 20)}`);
  }
  let rest = t.slice(colon + 1);
  let headers: string | undefined;
  // §25.1: the user part may hold "?", ";", "/", "," ... (user-unreserved), while neither params nor
  // headers may hold an unescaped "@": the last "@" ends the userinfo, and only then does "?" start headers.
  let userinfo: string | undefined;
  if (scheme !== 'tel') {
    const at = rest.lastIndexOf('@');
    if (at >= 0) {
      userinfo = rest.slice(0, at);
      rest = rest.slice(at + 1);
    }
  }
  const q = rest.indexOf('?');
  if (q >= 0) {
    headers = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  if (scheme === 'tel') {
    const semi = rest.indexOf(';');
    const number = semi < 0 ? rest : rest.slice(0, semi);
    if (!/^\+?[0-9A-Fa-f*#().-]+$/.test(number)) return fail('bad-uri', 'bad tel number');
    const params = parseParams(semi < 0 ? '' : rest.slice(semi));
    if (!params.ok) return params;
    return ok({ scheme, user: undefined, password: undefined, host: number, port: undefined, params: params.value, headers });
  }
  let user: string | undefined;
  let password: string | undefined;
  if (userinfo !== undefined) {
    const pc = userinfo.indexOf(':');
    user = pc < 0 ? userinfo : userinfo.slice(0, pc);
    password = pc < 0 ? undefined : userinfo.slice(pc + 1);
    if (user === '' || /[\s<>"]/.test(userinfo)) return fail('bad-uri', 'bad userinfo');
  }
  const semi = rest.indexOf(';');
  const hp = parseHostPort(semi < 0 ? rest : rest.slice(0, semi));
  if (!hp.ok) return hp;
  const params = parseParams(semi < 0 ? '' : rest.slice(semi));
  if (!params.ok) return params;
  return ok({ scheme, user, password, host: hp.value.host, port: hp.value.port, params: params.value, headers });
}

export function serializeUri(uri: SipUri): string {
  if (uri.scheme === 'tel') return `tel:${uri.host}${serializeParams(uri.params)}`;
  let out = `${uri.scheme}:`;
  if (uri.user !== undefined) out += uri.password !== undefined ? `${uri.user}:${uri.password}@` : `${uri.user}@`;
  out += uri.host;
  if (uri.port !== undefined) out += `:${uri.port}`;
  out += serializeParams(uri.params);
  if (uri.headers !== undefined) out += `?${uri.headers}`;
  return out;
}

/**
 * name-addr or addr-spec with header params (§20.10): in the addr-spec form every ';param' belongs to the
 * header, not the URI, which is why a URI with params must be written in angle brackets.
 */
export function parseNameAddr(text: string): Result<NameAddr> {
  const t = text.trim();
  if (t === '') return fail('bad-header', 'empty address');
  let displayName: string | undefined;
  let uriText: string;
  let paramText: string;
  let rest = t;
  if (rest.startsWith('"')) {
    let i = 1;
    let name = '';
    for (; i < rest.length; i++) {
      const ch = rest[i];
      if (ch === '\\' && i + 1 < rest.length) name += rest[++i];
      else if (ch === '"') break;
      else name += ch;
    }
    if (i >= rest.length) return fail('bad-header', 'unterminated display name');
    displayName = name;
    rest = rest.slice(i + 1).trimStart();
    if (!rest.startsWith('<')) return fail('bad-header', 'display name without <uri>');
  }
  const lt = rest.indexOf('<');
  if (lt >= 0) {
    const gt = rest.indexOf('>', lt);
    if (gt < 0) return fail('bad-header', 'unterminated <uri>');
    if (displayName === undefined) {
      const token = rest.slice(0, lt).trim();
      if (token !== '') displayName = token;
    }
    uriText = rest.slice(lt + 1, gt);
    paramText = rest.slice(gt + 1);
  } else {
    const semi = rest.indexOf(';');
    uriText = semi < 0 ? rest : rest.slice(0, semi);
    paramText = semi < 0 ? '' : rest.slice(semi);
  }
  const uri = parseUri(uriText);
  if (!uri.ok) return uri;
  const params = parseParams(paramText);
  if (!params.ok) return params;
  return ok({ displayName, uri: uri.value, params: params.value });
}

/** Always writes the name-addr form so URI params can never be mistaken for header params. */
export function serializeNameAddr(addr: NameAddr): string {
  const name = addr.displayName !== undefined ? `"${addr.displayName.replace(/["\\]/g, (c) => `\\${c}`)}" ` : '';
  return `${name}<${serializeUri(addr.uri)}>${serializeParams(addr.params)}`;
}

export function makeUri(parts: Partial<SipUri> & { host: string }): SipUri {
  return {
    scheme: parts.scheme ?? 'sip',
    user: parts.user,
    password: parts.password,
    host: parts.host,
    port: parts.port,
    params: parts.params ?? new Map(),
    headers: parts.headers,
  };
}
