import { Type, type Static } from 'typebox';
import { CodecList } from './codecs.js';
import { E164, Nullable, Timestamp, withoutDefaults } from './common.js';

/** The largest CA bundle a trunk stores (a few dozen certificates). */
export const TLS_CA_PEM_MAX_CHARS = 65536;

const fields = {
  name: Type.String({ minLength: 1, maxLength: 128 }),
  host: Type.String({
    minLength: 1,
    maxLength: 253,
    pattern: '^(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9][A-Za-z0-9.-]*)$',
    description: 'SIP server host name or IP address of the trunk (no scheme, no port)',
  }),
  port: Type.Integer({ minimum: 1, maximum: 65535, description: 'default 5060, or 5061 with transport tls (RFC 3261 §19.1.2)' }),
  transport: Type.Union([Type.Literal('udp'), Type.Literal('tcp'), Type.Literal('tls')], { default: 'udp' }),
  username: Nullable(Type.String({ minLength: 1, maxLength: 128 })),
  password: Nullable(
    Type.String({ minLength: 1, maxLength: 256, description: 'stored encrypted (AES-256-GCM); never returned' }),
  ),
  default_caller_id: Nullable(E164('caller id used when a call gives none')),
  max_cps: Nullable(Type.Number({ exclusiveMinimum: 0, maximum: 1000, description: 'calls per second over this trunk' })),
  max_concurrent_calls: Nullable(Type.Integer({ minimum: 1, maximum: 100000 })),
  tls_ca_pem: Nullable(
    Type.String({
      minLength: 1,
      maxLength: TLS_CA_PEM_MAX_CHARS,
      description: "PEM certificates trusted for this trunk's TLS server besides the default CAs (e.g. the carrier's private CA); write-only",
    }),
  ),
  codecs: Nullable(CodecList("codecs this trunk's calls offer, in order (a call's own codecs come first; null: the worker's default)")),
  media_encryption: Type.Union([Type.Literal('disabled'), Type.Literal('optional'), Type.Literal('required')], {
    default: 'disabled',
    description:
      "SRTP for the trunk's calls, keys exchanged in the SDP (RFC 4568 SDES, AES_CM_128_HMAC_SHA1_80 or _32): disabled (plain RTP; an encrypted offer is refused 488), optional (offered with keys in RTP/AVP, encrypted when the other side takes them) or required (RTP/SAVP only: an answer or an offer without a usable key fails the call, 488). The keys travel in the SIP body: use transport tls to keep them secret",
  }),
  inbound_addresses: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
    maxItems: 64,
    description:
      "addresses and CIDR ranges (IPv4 or IPv6, e.g. 198.51.100.0/24) whose INVITEs may reach this trunk's numbers, besides the trunk's host; everything else is refused 403",
  }),
  register: Type.Boolean({
    description:
      "keep a registration (RFC 3261 §10) at the trunk's host so that its numbers' calls reach this server behind NAT or on a changing address; needs username (the address-of-record's user) and transport udp or tcp",
  }),
  registration_expires_s: Type.Integer({
    minimum: 60,
    maximum: 86400,
    description: 'the binding lifetime asked of the registrar (it may grant less, or ask for more); refreshed before it runs out',
  }),
};

export const TrunkRegistration = Type.Object(
  {
    state: Type.Union([Type.Literal('pending'), Type.Literal('registering'), Type.Literal('registered'), Type.Literal('failed'), Type.Literal('unregistered')], {
      description: 'pending: no worker has taken it up yet; failed: the last attempt failed (retried with backoff)',
    }),
    expires_at: Nullable(Timestamp),
    last_error: Nullable(Type.String()),
    last_success_at: Nullable(Timestamp),
  },
  { description: "the registration's state as the worker holding it last reported it; null when register is off" },
);
export type TrunkRegistration = Static<typeof TrunkRegistration>;

export const TrunkCreate = Type.Object(
  {
    name: fields.name,
    host: fields.host,
    port: Type.Optional(fields.port),
    transport: Type.Optional(fields.transport),
    username: Type.Optional(fields.username),
    password: Type.Optional(fields.password),
    default_caller_id: Type.Optional(fields.default_caller_id),
    max_cps: Type.Optional(fields.max_cps),
    max_concurrent_calls: Type.Optional(fields.max_concurrent_calls),
    tls_ca_pem: Type.Optional(fields.tls_ca_pem),
    codecs: Type.Optional(fields.codecs),
    media_encryption: Type.Optional(fields.media_encryption),
    inbound_addresses: Type.Optional(fields.inbound_addresses),
    register: Type.Optional(fields.register),
    registration_expires_s: Type.Optional(fields.registration_expires_s),
  },
  { additionalProperties: false },
);
export type TrunkCreate = Static<typeof TrunkCreate>;

export const TrunkPatch = withoutDefaults(Type.Partial(TrunkCreate, { additionalProperties: false, minProperties: 1 }));
export type TrunkPatch = Static<typeof TrunkPatch>;

export const Trunk = Type.Object({
  id: Type.String(),
  name: Type.String(),
  host: Type.String(),
  port: Type.Integer(),
  transport: fields.transport,
  username: Nullable(Type.String()),
  has_password: Type.Boolean({ description: 'whether a password is stored (the password itself is never returned)' }),
  default_caller_id: Nullable(Type.String()),
  max_cps: Nullable(Type.Number()),
  max_concurrent_calls: Nullable(Type.Integer()),
  tls_ca_certificates: Type.Array(
    Type.Object({
      subject: Type.String(),
      fingerprint_sha256: Type.String({ description: 'colon-separated hex' }),
      not_after: Type.String({ description: 'the end of its validity, as the certificate says it' }),
    }),
    { description: 'what tls_ca_pem holds (the PEM itself is not returned); empty without one' },
  ),
  codecs: Nullable(Type.Array(Type.String())),
  media_encryption: fields.media_encryption,
  inbound_addresses: Type.Array(Type.String()),
  register: Type.Boolean(),
  registration_expires_s: Type.Integer(),
  registration: Nullable(TrunkRegistration),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type Trunk = Static<typeof Trunk>;
