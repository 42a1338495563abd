/**
 * Answering-machine detection and what to do on a machine, as a call (or its agent's default) asks
 * for them. The verdict classes and cues are the detector's own (src/amd/types.ts); this is the
 * request and response shape.
 */
import { Type, type Static } from 'typebox';
import { AMD_TIMING, MACHINE_DETECTION_DEFAULT, VOICEMAIL_ACTION_DEFAULT, VOICEMAIL_ACTIONS, VOICEMAIL_MESSAGE_MAX, type AmdTimingField } from './call-defaults.js';
import { Nullable } from './common.js';

/**
 * A tuning field. Its default is in the description, not a schema `default`: the validator fills
 * schema defaults in, and a timing filled in under mode "disabled" would read as the caller's own
 * (refused: it tunes nothing). The stored call shows every timing with its default filled.
 */
const timing = (field: AmdTimingField, description: string) => {
  const r = AMD_TIMING[field];
  return Type.Optional(Type.Integer({ minimum: r.min, maximum: r.max, description: `${description} (ms; default ${r.default})` }));
};

export const MachineDetection = Type.Object(
  {
    mode: Type.Union([Type.Literal('disabled'), Type.Literal('detect'), Type.Literal('detect_message_end')], {
      default: MACHINE_DETECTION_DEFAULT.mode,
      description:
        'detect: decide human or machine as early as possible (answered_by); detect_message_end: for a machine, also find the end of its greeting (the beep, or silence after it)',
    }),
    hangup_on_machine: Type.Optional(
      Type.Boolean({ default: MACHINE_DETECTION_DEFAULT.hangup_on_machine, description: 'hang up when a machine answers (end reason machine_detected); the same as voicemail.action "hangup"' }),
    ),
    total_analysis_ms: timing('total_analysis_ms', 'the verdict comes no later than this after the answer (unknown at worst)'),
    initial_silence_ms: timing('initial_silence_ms', 'silence from the answer this long counts as a machine that waits'),
    greeting_max_ms: timing('greeting_max_ms', "speech longer than this without a pause is a recorded greeting, not a person's hello"),
    after_greeting_silence_ms: timing('after_greeting_silence_ms', "silence this long after a machine's greeting ends it"),
    beep_timeout_ms: timing('beep_timeout_ms', 'detect_message_end: how long to wait for the beep after the machine verdict'),
    gate_greeting: Type.Optional(
      Type.Boolean({
        description:
          "hold the agent's opening until the verdict, so a voicemail greeting is not talked over; never longer than 2000 ms after the callee stops speaking (a person must hear the agent within 2 s of their hello). Default false: the opening starts at the answer and detection runs beside it",
      }),
    ),
    screening_response: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: VOICEMAIL_MESSAGE_MAX,
        description:
          "what the agent says to a call-screening assistant (answered_by screening) once it has asked who is calling; {{variables}} are filled as in the greeting. Default: the agent's opening (its greeting, or a flow's first lines), which says who calls and why. The agent then waits; when the person picks up, it opens again",
      }),
    ),
  },
  { additionalProperties: false, description: 'answering-machine detection on the callee\'s own audio (offline, in the media worker)' },
);
export type MachineDetection = Static<typeof MachineDetection>;

export const Voicemail = Type.Object(
  {
    action: Type.Union(
      [Type.Literal(VOICEMAIL_ACTIONS[0]), Type.Literal(VOICEMAIL_ACTIONS[1]), Type.Literal(VOICEMAIL_ACTIONS[2])],
      {
        default: VOICEMAIL_ACTION_DEFAULT,
        description:
          'on a machine: hangup (end reason machine_detected), leave_message (wait for the beep or the greeting\'s end, say message, hang up: voicemail_left), continue (the agent goes on)',
      },
    ),
    message: Type.Optional(
      Type.String({ minLength: 1, maxLength: VOICEMAIL_MESSAGE_MAX, description: 'what leave_message says; {{variables}} are filled as in the greeting' }),
    ),
  },
  { additionalProperties: false, description: 'what the agent does when a machine answers (needs machine_detection)' },
);
export type Voicemail = Static<typeof Voicemail>;

/** Who answered, as the detector decided (src/amd/types.ts ANSWERED_BY). */
export const ANSWERED_BY_VALUES = [
  'human',
  'machine_start',
  'machine_end_beep',
  'machine_end_silence',
  'machine_end_other',
  'screening',
  'ivr',
  'fax',
  'intercept',
  'unknown',
] as const;

export const MachineDetectionResult = Nullable(
  Type.Object(
    {
      answered_by: Type.Enum(ANSWERED_BY_VALUES, { description: 'the latest verdict: machine_start becomes machine_end_* once its greeting end is found' }),
      decided_ms: Type.Integer({ description: 'answer -> first verdict' }),
      cues: Type.Array(Type.String(), { description: 'the evidence: which cues fired (initial_silence, short_greeting, long_greeting, voicemail_phrase, beep, ...)' }),
      message_end_ms: Nullable(Type.Integer({ description: "answer -> the end of a machine's greeting (detect_message_end), null otherwise" })),
      beep_hz: Nullable(Type.Number({ description: 'the beep\'s frequency when one ended the greeting' })),
    },
    { description: 'the answering-machine verdict; null when detection was off or the call was not answered' },
  ),
);
