import { Type, type Static } from 'typebox';
import {
  MAX_DURATION_S,
  RECORD_CHANNELS_DEFAULT,
  RECORD_TRACK_DEFAULT,
  RECORD_TRIM_SILENCE_DEFAULT,
  RING_TIMEOUT_S,
  STATUS_CALLBACK_MAX_URLS,
  STATUS_CALLBACK_METHOD_DEFAULT,
} from './call-defaults.js';
import { CALL_STATUSES } from './status.js';
import { CodecList } from './codecs.js';
import { DISCONNECTIONS } from './disconnection.js';
import { Destination, E164, HttpUrl, Nullable, Timestamp, withoutDefaults } from './common.js';
import { ANSWERED_BY_VALUES, MachineDetection, MachineDetectionResult, Voicemail } from './machine-detection.js';

export const STATUS_CALLBACK_EVENTS = [
  'initiated',
  'ringing',
  'answered',
  'completed',
  'no_answer',
  'busy',
  'failed',
  'canceled',
  'analyzed',
  // The agent's conversation (answered calls with a voice agent or a greeting): opt-in, never in the
  // default set, so receivers written for the status events get nothing new.
  'conversation.created',
  'conversation.ended',
  // Answering-machine detection (calls with machine_detection): opt-in like the conversation events.
  'machine_detection',
  'machine_detection_ended',
] as const;
export type StatusCallbackEvent = (typeof STATUS_CALLBACK_EVENTS)[number];
const OPT_IN_EVENTS: readonly string[] = ['conversation.created', 'conversation.ended', 'machine_detection', 'machine_detection_ended'];
/** What a status_callback without `events` subscribes to: every call status event (not the opt-in ones). */
export const DEFAULT_STATUS_CALLBACK_EVENTS = STATUS_CALLBACK_EVENTS.filter((e) => !OPT_IN_EVENTS.includes(e));

const StatusCallback = Type.Object(
  {
    url: Type.Optional(HttpUrl('receives status callbacks (give url or urls)')),
    urls: Type.Optional(
      Type.Array(HttpUrl('receives status callbacks'), {
        minItems: 1,
        maxItems: STATUS_CALLBACK_MAX_URLS,
        uniqueItems: true,
        description: `up to ${STATUS_CALLBACK_MAX_URLS} URLs (give url or urls), each sent every subscribed event as its own delivery, with the same webhook-id`,
      }),
    ),
    events: Type.Optional(
      Type.Array(Type.Enum(STATUS_CALLBACK_EVENTS), {
        minItems: 1,
        uniqueItems: true,
        description: 'events to send; every call status event (not the conversation.* and machine_detection* ones) when omitted',
      }),
    ),
    method: Type.Optional(Type.Union([Type.Literal('POST'), Type.Literal('GET')], { default: STATUS_CALLBACK_METHOD_DEFAULT })),
  },
  { additionalProperties: false },
);

const SipHeader = Type.Object(
  {
    name: Type.String({ pattern: '^X-[A-Za-z0-9-]{1,64}$', description: 'custom headers must start with X-' }),
    value: Type.String({ maxLength: 256, pattern: '^[\\x20-\\x7E]*$', description: 'printable ASCII, no line breaks' }),
  },
  { additionalProperties: false },
);

const RecordingStatusCallback = Type.Object(
  {
    url: HttpUrl('receives recording.in-progress, recording.completed and recording.absent'),
    method: Type.Optional(Type.Union([Type.Literal('POST'), Type.Literal('GET')], { default: STATUS_CALLBACK_METHOD_DEFAULT })),
  },
  { additionalProperties: false },
);

const Record = Type.Object(
  {
    enabled: Type.Boolean(),
    channels: Type.Optional(Type.Union([Type.Literal('mono'), Type.Literal('dual')], { default: RECORD_CHANNELS_DEFAULT })),
    track: Type.Optional(
      Type.Union([Type.Literal('inbound'), Type.Literal('outbound'), Type.Literal('both')], {
        default: RECORD_TRACK_DEFAULT,
        description: 'the side recorded: inbound the callee, outbound the agent; a single track needs channels mono',
      }),
    ),
    trim_silence: Type.Optional(
      Type.Boolean({ default: RECORD_TRIM_SILENCE_DEFAULT, description: 'cut leading and trailing silence (20 ms frames under -50 dBFS RMS)' }),
    ),
    status_callback: Type.Optional(RecordingStatusCallback),
  },
  { additionalProperties: false },
);

/**
 * What one call may change of its agent: the language, the voice and the model's sampling, the
 * things a campaign varies per callee. Providers and keys stay the agent's (a call cannot send the
 * organization's keys to another vendor).
 */
export const AgentOverrides = Type.Object(
  {
    language: Type.Optional(
      Type.String({ minLength: 2, maxLength: 35, pattern: '^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$', description: "this call's language, for the recognizer and the speech engines" }),
    ),
    voice: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: "the TTS voice (or the speech-to-speech model's voice) for this call" })),
    llm: Type.Optional(
      Type.Object(
        {
          model: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
          temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2 })),
          max_tokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
        },
        { additionalProperties: false, minProperties: 1 },
      ),
    ),
  },
  { additionalProperties: false, minProperties: 1, description: "this call's changes to the agent's settings" },
);
export type AgentOverrides = Static<typeof AgentOverrides>;

export const OutboundCallCreate = Type.Object(
  {
    to: Destination,
    from: Type.Optional(E164('a number registered in this organization; default: a number whose outbound agent is this agent')),
    trunk_id: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: "the trunk to call over (without from: the agent's number on it, else its default_caller_id); with from it must be that number's trunk",
      }),
    ),
    codecs: Type.Optional(CodecList("codecs this call offers, in order (default: the trunk's codecs, else the worker's)")),
    sip_auth_username: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, pattern: '^[\\x20-\\x7E]+$', description: "digest username for this call instead of the trunk's (write-only; needs sip_auth_password)" }),
    ),
    sip_auth_password: Type.Optional(
      Type.String({ minLength: 1, maxLength: 256, description: "digest password for this call instead of the trunk's (write-only, stored encrypted; needs sip_auth_username)" }),
    ),
    call_context: Type.Optional(Type.String({ maxLength: 32768, description: 'appended to the prompt for this call only' })),
    dynamic_variables: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$' }), Type.String({ maxLength: 4096 }), {
        maxProperties: 100,
        additionalProperties: false,
        description: 'values for {{variable}} templates in the prompt and greeting',
      }),
    ),
    metadata: Type.Optional(Type.Unknown({ description: 'any JSON up to 16 KB, echoed byte for byte in the call and webhooks' })),
    callback_url: Type.Optional(HttpUrl('receives the result webhook when the call ends')),
    status_callback: Type.Optional(StatusCallback),
    caller_id_name: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9 \\-_~!.+]+$', description: 'letters, digits, space and -_~!.+' }),
    ),
    custom_sip_headers: Type.Optional(Type.Array(SipHeader, { maxItems: 20 })),
    ring_timeout_s: Type.Optional(Type.Integer({ minimum: RING_TIMEOUT_S.min, maximum: RING_TIMEOUT_S.max, default: RING_TIMEOUT_S.default })),
    max_duration_s: Type.Optional(Type.Integer({ minimum: MAX_DURATION_S.min, maximum: MAX_DURATION_S.max, default: MAX_DURATION_S.default })),
    machine_detection: Type.Optional(MachineDetection),
    voicemail: Type.Optional(Voicemail),
    record: Type.Optional(Record),
    agent_overrides: Type.Optional(AgentOverrides),
    scheduled_at: Type.Optional(Type.String({ format: 'date-time', description: 'dial no earlier than this time' })),
    call_id: Type.Optional(
      Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'your own id for the call (unique in your organization)' }),
    ),
  },
  { additionalProperties: false },
);
export type OutboundCallCreate = Static<typeof OutboundCallCreate>;

export const CallStatusSchema = Type.Enum(CALL_STATUSES);

const Ms = (description: string) => Nullable(Type.Number({ minimum: 0, description }));

export const TurnMetrics = Type.Object({
  turn_id: Type.Integer(),
  stt_final_ms: Ms("callee's speech end -> final transcript"),
  llm_first_token_ms: Ms("callee's speech end -> the model's first words"),
  tts_first_audio_ms: Ms("callee's speech end -> first synthesized audio"),
  end_to_end_ms: Ms("callee's speech end -> the agent's first audio into the call"),
});

export const CallMetrics = Type.Object(
  {
    answer_to_greeting_ms: Ms('answer -> first greeting audio into the call'),
    end_to_end_p50_ms: Ms('median end_to_end_ms over the turns'),
    end_to_end_max_ms: Ms('largest end_to_end_ms over the turns'),
    turns: Type.Array(TurnMetrics, { description: 'one per agent reply, in order' }),
    provider_fallbacks: Type.Optional(
      Type.Array(
        Type.Object({
          kind: Type.Union([Type.Literal('stt'), Type.Literal('llm'), Type.Literal('tts')]),
          from: Type.String({ description: 'the provider that failed' }),
          to: Type.String({ description: 'the provider that took over' }),
          code: Type.String({ description: 'why: the provider error code, e.g. provider_timeout' }),
          message: Type.String(),
          at_ms: Type.Integer({ description: 'ms from answer' }),
        }),
        { description: "each switch to an agent's fallback provider during the call, in order" },
      ),
    ),
    media: Type.Optional(
      Type.Object(
        {
          packets_sent: Type.Integer({ description: 'RTP packets we sent' }),
          packets_received: Type.Integer({ description: 'RTP packets received from the far end' }),
          packets_lost: Type.Integer({ description: 'packets that never came (RFC 3550 A.3: expected - received): loss on the network' }),
          late_packets: Type.Integer({ description: 'packets that came after their playout time: dropped, their audio not heard' }),
          concealed_ms: Type.Integer({ description: 'audio played as loss concealment in place of missing or late packets' }),
          jitter_ms: Type.Number({ description: 'interarrival jitter (RFC 3550 A.8) at the end of the call' }),
          send_stalled_ms: Type.Integer({ description: 'how long our media loop stalled: the audio after it went out that much later (0 on a healthy worker)' }),
          send_lateness_p99_ms: Type.Number({ description: '99th percentile of how late our packets left against their 20 ms schedule (a few ms on a healthy worker)' }),
        },
        { description: "how the call's audio fared on its leg, measured by the media worker" },
      ),
    ),
  },
  { description: 'latencies measured by the media worker (answered calls)' },
);
export type CallMetrics = Static<typeof CallMetrics>;

export const RecordingRef = Type.Object(
  {
    url: Type.String({ description: 'GET it with your API key: audio/wav' }),
    duration_ms: Type.Integer(),
    channels: Type.Union([Type.Literal('mono'), Type.Literal('dual')], { description: 'dual: callee left, agent right' }),
    sample_rate: Type.Integer(),
  },
  { description: 'the call recording (record.enabled), from answer to end' },
);

export const Call = Type.Object({
  id: Type.String(),
  agent_id: Type.String(),
  trunk_id: Type.String({ description: 'the trunk the call goes over' }),
  to: Type.String(),
  from: Type.String(),
  status: CallStatusSchema,
  created_at: Timestamp,
  scheduled_at: Timestamp,
  dispatched_at: Nullable(Timestamp),
  answered_at: Nullable(Timestamp),
  ended_at: Nullable(Timestamp),
  cancel_requested_at: Nullable(Timestamp),
  duration_s: Nullable(Type.Number({ description: 'seconds from answer to end' })),
  sip_status_code: Nullable(Type.Integer()),
  end_reason: Nullable(Type.String()),
  direction: Type.Union([Type.Literal('outbound'), Type.Literal('inbound')], { description: 'outbound: placed through this API' }),
  agent_name: Type.String({ description: "the agent's name when the call was placed (kept if it is renamed or deleted)" }),
  disconnection: Nullable(Type.Enum(DISCONNECTIONS, { description: 'why the call ended, in the common vocabulary (end_reason is the precise word); null until it ends' })),
  error: Nullable(
    Type.Object(
      {
        code: Type.String({ description: 'stable: the end reason, e.g. dial_error, sip_error, error_stt' }),
        message: Type.String({ description: "what happened, in words: the SIP reason phrase, the transport error, the provider's error" }),
      },
      { description: 'why a failed call failed; null unless status is failed' },
    ),
  ),
  summary_text: Nullable(Type.String({ description: 'set when the call has been analyzed (voice calls), after it ends' })),
  summary_source: Nullable(Type.Union([Type.Literal('llm'), Type.Literal('extractive')], { description: "the agent's LLM, or key lines of the transcript" })),
  analyzed_at: Nullable(Timestamp),
  transcript_id: Nullable(Type.String()),
  recording: Nullable(RecordingRef),
  metrics: Nullable(CallMetrics),
  metadata: Type.Unknown({ description: 'as sent, byte for byte; null when none' }),
  call_context: Nullable(Type.String()),
  dynamic_variables: Type.Record(Type.String(), Type.String()),
  callback_url: Nullable(Type.String()),
  status_callback: Nullable(StatusCallback),
  caller_id_name: Nullable(Type.String()),
  custom_sip_headers: Type.Array(SipHeader),
  ring_timeout_s: Type.Integer(),
  max_duration_s: Type.Integer(),
  // As stored: a disabled detector has no timings (the response must not invent the request's defaults).
  machine_detection: withoutDefaults(MachineDetection),
  voicemail: Nullable(withoutDefaults(Voicemail)),
  answered_by: Nullable(Type.Enum(ANSWERED_BY_VALUES, { description: 'who answered, when machine_detection ran (see machine_detection_result)' })),
  machine_detection_result: MachineDetectionResult,
  record: Record,
  agent_overrides: Nullable(AgentOverrides),
  codecs: Nullable(CodecList('the codecs the call offers, as given (null: the trunk\'s, else the worker\'s)')),
});
export type Call = Static<typeof Call>;

export const OrgCallListQuery = Type.Object(
  {
    status: Type.Optional(CallStatusSchema),
    agent_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    to: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'the destination exactly as the call was created' })),
    created_after: Type.Optional(Type.String({ format: 'date-time' })),
    created_before: Type.Optional(Type.String({ format: 'date-time' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { additionalProperties: false },
);

export const CallListQuery = Type.Object(
  {
    status: Type.Optional(CallStatusSchema),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { additionalProperties: false },
);

export const CallEvent = Type.Object({
  id: Type.Integer(),
  call_id: Type.String(),
  from_status: Nullable(CallStatusSchema),
  to_status: CallStatusSchema,
  at: Timestamp,
  data: Type.Record(Type.String(), Type.Unknown()),
});

export const Transcript = Type.Object({
  id: Type.String(),
  call_id: Type.String(),
  turns: Type.Array(Type.Unknown()),
  created_at: Timestamp,
});
