import { Type, type Static } from 'typebox';
import { E164, HttpUrl, Nullable, Timestamp, withoutDefaults } from './common.js';

export const PhoneNumberCreate = Type.Object(
  {
    number: E164(),
    trunk_id: Type.String({ minLength: 1, maxLength: 64, description: 'the trunk calls from this number go out on' }),
    outbound_agent_id: Type.Optional(
      Nullable(Type.String({ minLength: 1, maxLength: 64, description: 'the agent that uses this number by default' })),
    ),
    inbound_agent_id: Type.Optional(
      Nullable(
        Type.String({
          minLength: 1,
          maxLength: 64,
          description: "the agent that answers calls to this number arriving from the number's trunk (null: such INVITEs are refused 404)",
        }),
      ),
    ),
    inbound_webhook_url: Type.Optional(
      Nullable(
        HttpUrl(
          'asked (POST, signed like webhooks) for each inbound call before it is answered: it gets the caller and may answer dynamic_variables, call_context, metadata or agent_id',
        ),
      ),
    ),
    inbound_webhook_timeout_ms: Type.Optional(
      Nullable(
        Type.Integer({
          minimum: 200,
          maximum: 10000,
          description: 'how long an inbound call waits for inbound_webhook_url (the caller hears ringing); then it goes on with the agent\'s defaults. Default 3000',
        }),
      ),
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
  inbound_agent_id: Nullable(Type.String()),
  inbound_webhook_url: Nullable(Type.String()),
  inbound_webhook_timeout_ms: Nullable(Type.Integer()),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type PhoneNumber = Static<typeof PhoneNumber>;
