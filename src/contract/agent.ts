import { Type, type Static } from 'typebox';
import { MachineDetection, Voicemail } from './machine-detection.js';
import { HttpUrl, Nullable, Timestamp, withoutDefaults } from './common.js';

const ProviderName = Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9][a-z0-9_.-]*$' });
const OptionValue = Type.Union([Type.String({ maxLength: 1024 }), Type.Number(), Type.Boolean()]);
const Options = Type.Record(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' }), OptionValue, {
  maxProperties: 32,
  additionalProperties: false,
  description: 'provider-specific settings',
});

const providerInputFields = {
  provider: ProviderName,
  model: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  language: Type.Optional(Type.String({ minLength: 2, maxLength: 35 })),
  voice: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  base_url: Type.Optional(HttpUrl('endpoint of the vendor (default: its public API) or of a self-hosted server')),
  api_key: Type.Optional(
    Type.String({ minLength: 1, maxLength: 512, description: "write-only, stored encrypted; without it the vendor's environment variable (e.g. DEEPGRAM_API_KEY) is used" }),
  ),
  temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2 })),
  max_tokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
  options: Type.Optional(Options),
};

/** One provider without fallbacks (a fallback entry, or the speech-to-speech model). */
export const ProviderChoiceInput = Type.Object(providerInputFields, { additionalProperties: false });
export type ProviderChoiceInput = Static<typeof ProviderChoiceInput>;

/** Settings of one speech or language provider. api_key is write-only: stored encrypted, never returned. */
export const ProviderSettingsInput = Type.Object(
  {
    ...providerInputFields,
    fallbacks: Type.Optional(
      Type.Array(ProviderChoiceInput, {
        maxItems: 3,
        description: 'tried in order when the provider before fails or times out before producing output (within the same turn); each switch is recorded on the call',
      }),
    ),
  },
  { additionalProperties: false },
);
export type ProviderSettingsInput = Static<typeof ProviderSettingsInput>;

const providerShownFields = {
  provider: Type.String(),
  model: Type.Optional(Type.String()),
  language: Type.Optional(Type.String()),
  voice: Type.Optional(Type.String()),
  base_url: Type.Optional(Type.String()),
  temperature: Type.Optional(Type.Number()),
  max_tokens: Type.Optional(Type.Integer()),
  options: Type.Optional(Type.Record(Type.String(), OptionValue)),
  has_api_key: Type.Boolean(),
};

export const ProviderChoice = Type.Object(providerShownFields);
export type ProviderChoice = Static<typeof ProviderChoice>;

export const ProviderSettings = Type.Object({ ...providerShownFields, fallbacks: Type.Optional(Type.Array(ProviderChoice)) });
export type ProviderSettings = Static<typeof ProviderSettings>;

/**
 * A tool the agent may use. Built-ins need only their type; an http tool is declared with a name,
 * a description for the model, a JSON schema for its arguments and the URL it calls. end_call is
 * offered to the model even when not declared; declaring it sets its name and description, and
 * `enabled: false` turns it off.
 */
export const Tool = Type.Object(
  {
    type: Type.Union([
      Type.Literal('end_call'),
      Type.Literal('transfer_call'),
      Type.Literal('send_dtmf'),
      Type.Literal('http'),
    ]),
    name: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
    description: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'JSON schema of the arguments' })),
    url: Type.Optional(HttpUrl('the tool endpoint (http tools)')),
    method: Type.Optional(Type.Union([Type.Literal('POST'), Type.Literal('GET')])),
    timeout_ms: Type.Optional(Type.Integer({ minimum: 100, maximum: 60000 })),
    transfer_to: Type.Optional(Type.String({ maxLength: 256, description: 'default target of transfer_call' })),
    enabled: Type.Optional(
      Type.Boolean({
        description:
          'end_call only: false takes end_call away from the model (LLM and speech-to-speech agents offer it by default, named end_call with the built-in description)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type Tool = Static<typeof Tool>;

const Line = (description: string) => Type.String({ minLength: 1, maxLength: 1024, description });

/**
 * How the agent holds the conversation (voice agents with a flow or llm). Every field is optional;
 * the defaults are in the descriptions. PATCH replaces the whole object.
 */
export const ConversationSettings = Type.Object(
  {
    first_speaker: Type.Optional(
      Type.Union([Type.Literal('agent'), Type.Literal('callee')], {
        description: "who speaks first (default agent); callee: wait for the callee's first words, with the inactivity prompt if they stay silent",
      }),
    ),
    barge_in: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(Type.Boolean({ description: 'the callee may interrupt the agent (default true)' })),
          min_speech_ms: Type.Optional(
            Type.Integer({ minimum: 100, maximum: 5000, description: 'speech that interrupts (and starts a callee turn) lasts at least this long (default 300)' }),
          ),
          min_words: Type.Optional(
            Type.Integer({
              minimum: 0,
              maximum: 20,
              description: 'if > 0, interrupt only once the transcript of the speech has this many words (default 0; a speech-to-speech agent cannot, 422)',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    inactivity_timeout_s: Type.Optional(
      Type.Integer({ minimum: 2, maximum: 600, description: 'silence before the inactivity prompt, and again before hanging up (default 10)' }),
    ),
    inactivity_prompt: Type.Optional(Line('said after inactivity_timeout_s of silence (default "Are you still there?")')),
    wrap_up_line: Type.Optional(Line('said when the call reaches max_duration_s, before hanging up')),
    apology_line: Type.Optional(Line('said when a speech or language provider fails, before hanging up')),
    filler: Type.Optional(
      Nullable(
        Type.Object(
          {
            after_ms: Type.Integer({ minimum: 200, maximum: 10000, description: 'a reply that has not started speaking after this long gets a filler phrase' }),
            phrases: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { minItems: 1, maxItems: 20 }),
          },
          { additionalProperties: false, description: 'filler phrases while a slow reply is prepared (default none)' },
        ),
      ),
    ),
    vad: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        pattern: '^[a-z0-9][a-z0-9_.-]*$',
        description:
          "voice activity detector: silero (default; energy if its model cannot load) or energy; not for a speech-to-speech agent (its model's own VAD: speech_to_speech.options.vad)",
      }),
    ),
  },
  { additionalProperties: false },
);
export type ConversationSettings = Static<typeof ConversationSettings>;

const fields = {
  name: Type.String({ minLength: 1, maxLength: 128 }),
  kind: Type.Union([Type.Literal('voice'), Type.Literal('text')], { default: 'voice' }),
  system_prompt: Type.String({ maxLength: 65536 }),
  greeting: Type.String({ maxLength: 4096, description: 'spoken the moment the callee answers; {{variables}} allowed' }),
  language: Type.String({
    minLength: 2,
    maxLength: 35,
    pattern: '^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$',
    default: 'en-US',
    description:
      "the call's language unless stt.language (speech_to_speech.language) or the call's agent_overrides.language says otherwise: heard, spoken (a TTS without a voice picks the language's), and what the model is told to speak",
  }),
  voice: Nullable(Type.String({ minLength: 1, maxLength: 128 })),
  provider: Nullable(ProviderSettingsInput),
  speech_to_speech: Type.Union([ProviderChoiceInput, Type.Null()], {
    description: 'a speech-to-speech model (provider openai: the Realtime API) that hears and speaks itself, instead of stt + llm + tts',
  }),
  tools: Type.Array(Tool, { maxItems: 64 }),
  webhook_url: Nullable(HttpUrl('default result webhook for calls of this agent that give no callback_url')),
  max_cps: Type.Number({ exclusiveMinimum: 0, maximum: 1000, default: 1, description: 'calls per second this agent may start' }),
  max_concurrent_calls: Nullable(Type.Integer({ minimum: 1, maximum: 100000 })),
  flow: Nullable(
    Type.Unknown({
      description:
        'a scripted conversation {start, nodes} (say, listen, branch, tool, end) the agent runs without an LLM; its texts read {{variables}}, {{call_context}} among them, and branch cases may match a variable',
    }),
  ),
  on_limit: Type.Union([Type.Literal('queue'), Type.Literal('reject')], {
    default: 'queue',
    description: 'over a limit: keep the call queued, or answer 429 with Retry-After',
  }),
  conversation: Nullable(ConversationSettings),
  machine_detection: Nullable(MachineDetection),
  voicemail: Nullable(Voicemail),
};

export const AgentCreate = Type.Object(
  {
    name: fields.name,
    kind: Type.Optional(fields.kind),
    system_prompt: Type.Optional(fields.system_prompt),
    greeting: Type.Optional(fields.greeting),
    language: Type.Optional(fields.language),
    voice: Type.Optional(fields.voice),
    stt: Type.Optional(fields.provider),
    llm: Type.Optional(fields.provider),
    tts: Type.Optional(fields.provider),
    speech_to_speech: Type.Optional(fields.speech_to_speech),
    tools: Type.Optional(fields.tools),
    webhook_url: Type.Optional(fields.webhook_url),
    max_cps: Type.Optional(fields.max_cps),
    max_concurrent_calls: Type.Optional(fields.max_concurrent_calls),
    on_limit: Type.Optional(fields.on_limit),
    flow: Type.Optional(fields.flow),
    conversation: Type.Optional(fields.conversation),
    machine_detection: Type.Optional(fields.machine_detection),
    voicemail: Type.Optional(fields.voicemail),
  },
  { additionalProperties: false },
);
export type AgentCreate = Static<typeof AgentCreate>;

export const AgentPatch = withoutDefaults(Type.Partial(AgentCreate, { additionalProperties: false, minProperties: 1 }));
export type AgentPatch = Static<typeof AgentPatch>;

export const Agent = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: fields.kind,
  system_prompt: Type.String(),
  greeting: Type.String(),
  language: Type.String(),
  voice: Nullable(Type.String()),
  stt: Nullable(ProviderSettings),
  llm: Nullable(ProviderSettings),
  tts: Nullable(ProviderSettings),
  speech_to_speech: Nullable(ProviderChoice),
  tools: Type.Array(Tool),
  webhook_url: Nullable(Type.String()),
  max_cps: Type.Number(),
  max_concurrent_calls: Nullable(Type.Integer()),
  on_limit: fields.on_limit,
  flow: Type.Unknown(),
  conversation: fields.conversation,
  machine_detection: withoutDefaults(fields.machine_detection),
  voicemail: withoutDefaults(fields.voicemail),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type Agent = Static<typeof Agent>;
