import { Type, type Static } from 'typebox';
import { E164, Nullable, Timestamp, withoutDefaults } from './common.js';

export const PhoneNumberCreate = Type.Object(
  {
    number: E164(),
    trunk_id: Type.String({ minLength: 1, maxLength: 64, description: 'the trunk calls from this number go out on' }),
    outbound_agent_id: Type.Optional(
      Nullable(Type.String({ minLength: 1, maxLength: 64, description: 'the agent that uses this number by default' })),
    ),
  },
  { additionalProperties: false },
);
export type PhoneNumberCreate = Static<typeof PhoneNumberCreate>;

export const PhoneNumberPatch = withoutDefaults(Type.Partial(PhoneNumberCreate, { additionalProperties: false, minProperties: 1 }));
export type PhoneNumberPatch = Static<typeof PhoneNumberPatch>;

export const PhoneNumber = Type.Object({
  id: Type.String(),
  number: Type.String(),
  trunk_id: Type.String(),
  outbound_agent_id: Nullable(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type PhoneNumber = Static<typeof PhoneNumber>;
