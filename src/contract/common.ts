import { Type, type TSchema } from 'typebox';

/** Nullable in OpenAPI 3.1 terms: the value or null. */
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** Custom keywords (see ../validation.ts) so error messages can say exactly what is wrong. */
export const E164 = (description = 'E.164 phone number: + country code and digits, e.g. +14155550123') =>
  Type.String({ 'x-e164': true, maxLength: 32, description, examples: ['+14155550123'] });

export const Destination = Type.String({
  'x-destination': true,
  maxLength: 256,
  description: 'E.164 number (e.g. +14155550123) or a sip:/sips: URI',
});

export const HttpUrl = (description: string) =>
  Type.String({ 'x-http-url': true, maxLength: 2048, description });

export const Timestamp = Type.String({ format: 'date-time' });

export const Id = (prefix: string) => Type.String({ minLength: 1, maxLength: 64, description: `${prefix} id` });

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });

export const ErrorEnvelope = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'stable machine-readable code from the error catalog' }),
      message: Type.String(),
      param: Nullable(Type.String({ description: 'the offending field, e.g. status_callback.url' })),
    }),
  },
  { $id: 'ErrorEnvelope' },
);

export const ListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { additionalProperties: false },
);

export const listOf = <T extends TSchema>(item: T) =>
  Type.Object({ data: Type.Array(item), next_cursor: Nullable(Type.String()) });

/** Error responses every authenticated route may give, for the OpenAPI document. */
export const errorResponses = {
  400: Type.Ref('ErrorEnvelope'),
  401: Type.Ref('ErrorEnvelope'),
  404: Type.Ref('ErrorEnvelope'),
} as const;

/** OpenAPI security requirement of /v1 routes: a Bearer token or the X-Api-Key header. */
export const security: Array<Record<string, string[]>> = [{ bearerAuth: [] }, { apiKeyHeader: [] }];

/**
 * A PATCH schema must not carry defaults: the validator fills defaults in, and a PATCH that only
 * renames a trunk would silently reset its port. Returns a deep copy without `default` keys.
 */
export function withoutDefaults<T extends TSchema>(schema: T): T {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v !== null && typeof v === 'object') {
      const out: Record<string | symbol, unknown> = {};
      for (const k of Reflect.ownKeys(v)) if (k !== 'default') out[k] = strip((v as Record<string | symbol, unknown>)[k]);
      return out;
    }
    return v;
  };
  return strip(schema) as T;
}

