import { Type, type Static } from 'typebox';
import { Nullable, Timestamp } from './common.js';

const fields = {
  name: Type.String({ minLength: 1, maxLength: 128 }),
  max_concurrent_calls: Nullable(
    Type.Integer({ minimum: 1, maximum: 100000, description: 'calls of the whole organization live at once (dialing or in progress); null: no limit of its own' }),
  ),
};

/** What a key's organization may change of itself. */
export const OrganizationPatch = Type.Object(
  { name: Type.Optional(fields.name), max_concurrent_calls: Type.Optional(fields.max_concurrent_calls) },
  { additionalProperties: false, minProperties: 1 },
);
export type OrganizationPatch = Static<typeof OrganizationPatch>;

export const Organization = Type.Object({
  id: Type.String(),
  name: fields.name,
  max_concurrent_calls: fields.max_concurrent_calls,
  created_at: Timestamp,
});
export type Organization = Static<typeof Organization>;
