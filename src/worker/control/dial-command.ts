/**
 * The media worker's dial command for a claimed call: where to send the INVITE (trunk, credentials,
 * headers), how long to ring and to talk, and what speaks on answer (a voice agent's spec, or a
 * greeting-only agent's greeting), with the codecs to offer and the recording to make.
 */
import { callLanguage, codecsFor, greetingFor, machineSpecFor } from '../../agents/voice-spec.js';
import type { ProviderSecrets } from '../../agents/provider-secrets.js';
import type { ClaimedCall } from '../../dispatch/types.js';
import type { AgentRow } from '../../store/agent-rows.js';
import type { VoiceCallSpec } from '../../voice/spec.js';
import type { DialCommand } from '../protocol.js';
import type { CallOptions } from '../../calls/call-object.js';
import { RECORD_TRACK_DEFAULT, RECORD_TRIM_SILENCE_DEFAULT } from '../../contract/call-defaults.js';
import type { RecordingOptions } from '../../media/wav-recorder.js';

export interface DialInputs {
  /** The call's agent, with the call's agent_overrides applied. */
  agent: AgentRow;
  /** The agent's conversation (undefined: a greeting-only agent). */
  voice: VoiceCallSpec | undefined;
  secrets: ProviderSecrets;
  /** The trunk's password, decrypted (undefined without one or without a secret key). */
  password: string | undefined;
  /** The call's own digest credentials, decrypted (sip_auth_username/password): used instead of the trunk's. */
  callCredentials?: { username: string; password: string } | undefined;
  /** The worker's configured codec order (undefined: the leg's default). */
  codecs: string[] | undefined;
}

/** The recording the worker makes; calls stored before track and trim_silence existed get their defaults. */
function recordingOf(r: CallOptions['record']): RecordingOptions {
  return { channels: r.channels, track: r.track ?? RECORD_TRACK_DEFAULT, trimSilence: r.trim_silence ?? RECORD_TRIM_SILENCE_DEFAULT };
}

/** The digest credentials of a call: its own (never the trunk's then), else its trunk's when readable. */
function credentialsFor(call: ClaimedCall, password: string | undefined, own: DialInputs['callCredentials']) {
  if (call.sipAuth !== null) return own;
  return call.trunk.username && password !== undefined ? { username: call.trunk.username, password } : undefined;
}

export function dialCommandFor(call: ClaimedCall, { agent, voice, secrets, password, callCredentials, codecs }: DialInputs): DialCommand {
  // Precedence: the call's codecs, then its trunk's, then the worker's.
  const offer = codecsFor(codecs, call.options.codecs ?? call.trunk.codecs);
  const credentials = credentialsFor(call, password, callCredentials);
  const machine = voice ? machineSpecFor(call.options.machine_detection, call.options.voicemail, call.dynamicVariables) : undefined;
  return {
    type: 'dial',
    callId: call.id,
    to: call.to,
    from: call.fromNumber,
    ...(call.options.caller_id_name ? { callerIdName: call.options.caller_id_name } : {}),
    // Our call id rides on the INVITE so carrier logs and peers can be matched to calls.
    customHeaders: [...call.options.custom_sip_headers, { name: 'X-Outcall-Call-Id', value: call.id }],
    trunk: {
      host: call.trunk.host,
      port: call.trunk.port,
      transport: call.trunk.transport,
      ...(call.trunk.tlsCaPem !== null ? { tlsCaPem: call.trunk.tlsCaPem } : {}),
    },
    ...(credentials ? { credentials } : {}),
    ringTimeoutMs: call.options.ring_timeout_s * 1000,
    maxDurationMs: call.options.max_duration_s * 1000,
    greeting: greetingFor(agent, call.dynamicVariables, secrets, callLanguage(agent, call.options.agent_overrides?.language ?? undefined)),
    ...(offer ? { codecs: offer } : {}),
    ...(call.trunk.mediaEncryption !== 'disabled' ? { mediaEncryption: call.trunk.mediaEncryption } : {}),
    ...(voice ? { voice: machine ? { ...voice, machine } : voice } : {}),
    ...(call.options.record?.enabled ? { record: recordingOf(call.options.record) } : {}),
  };
}
