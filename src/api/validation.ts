import { Ajv, type ErrorObject, type SchemaValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { checkE164, isSipUri } from '../contract/e164.js';
import type { ErrorCode } from '../errors.js';
import { OutcallError } from '../errors.js';

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

function keyword(name: string, check: (value: string) => string | undefined): { keyword: string; validate: SchemaValidateFunction; errors: true } {
  const validate: SchemaValidateFunction = function (this: unknown, _schema: unknown, data: unknown) {
    if (typeof data !== 'string') return true; // the type keyword reports non-strings
    const problem = check(data);
    if (problem === undefined) return true;
    validate.errors = [{ keyword: name, message: problem, params: {} } as ErrorObject];
    return false;
  };
  return { keyword: name, validate, errors: true };
}

function checkHttpUrl(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not an absolute URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must use http or https';
  if (url.username || url.password) return 'must not carry credentials';
  return undefined;
}

function addKeywords(ajv: Ajv): Ajv {
  ajv.addKeyword(keyword('x-e164', (v) => {
    const r = checkE164(v);
    return r.ok ? undefined : r.reason;
  }));
  ajv.addKeyword(keyword('x-destination', (v) => {
    if (v.startsWith('sip:') || v.startsWith('sips:')) return isSipUri(v) ? undefined : 'is not a valid sip: URI';
    const r = checkE164(v);
    return r.ok ? undefined : `${r.reason} (or give a sip: URI)`;
  }));
  ajv.addKeyword(keyword('x-http-url', checkHttpUrl));
  return ajv;
}

function makeAjv(coerceTypes: boolean): Ajv {
  // Unknown fields are rejected, never silently removed (removeAdditional: false): that catches typos.
  const ajv = new Ajv({ allErrors: false, removeAdditional: false, useDefaults: true, coerceTypes, strict: false });
  addFormats(ajv);
  return addKeywords(ajv);
}

const bodyAjv = makeAjv(false);
// Query strings and path params are text by nature: numbers there are coerced.
const queryAjv = makeAjv(true);

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? bodyAjv : queryAjv;
  return ajv.compile(schema as object) as ReturnType<FastifySchemaCompiler<unknown>>;
};

/** `/status_callback/events/0` -> `status_callback.events[0]` */
export function paramPath(instancePath: string, extra?: string): string {
  const parts = instancePath.split('/').filter(Boolean).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

const KEYWORD_CODES: Record<string, ErrorCode> = {
  'x-e164': 'invalid_phone_number',
  'x-destination': 'invalid_destination',
  'x-http-url': 'invalid_url',
};

/** Turns the first ajv error into the API's error, with a message a person can act on. */
export function validationToError(errors: readonly ErrorObject[], part: string): OutcallError {
  const e = errors[0];
  if (e === undefined) return new OutcallError('invalid_request', `the ${part} is invalid`);
  if (e.keyword === 'additionalProperties') {
    const name = String((e.params as { additionalProperty: string }).additionalProperty);
    const param = paramPath(e.instancePath, name);
    return new OutcallError('unknown_field', `unknown field "${param}" in the ${part} (check its spelling)`, param);
  }
  if (e.keyword === 'required') {
    const param = paramPath(e.instancePath, String((e.params as { missingProperty: string }).missingProperty));
    return new OutcallError('missing_field', `"${param}" is required`, param);
  }
  const param = paramPath(e.instancePath) || null;
  const code = KEYWORD_CODES[e.keyword] ?? 'invalid_request';
  const subject = param ? `"${param}"` : `the ${part}`;
  if (e.keyword === 'minProperties' && !param) return new OutcallError('invalid_request', `the ${part} must change at least one field`);
  return new OutcallError(code, `${subject} ${e.message ?? 'is invalid'}`, param);
}
