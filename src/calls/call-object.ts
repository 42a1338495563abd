import {
  MACHINE_DETECTION_DEFAULT,
  MAX_DURATION_S,
  RECORD_CHANNELS_DEFAULT,
  RECORD_TRACK_DEFAULT,
  RECORD_TRIM_SILENCE_DEFAULT,
  RING_TIMEOUT_S,
  STATUS_CALLBACK_METHOD_DEFAULT,
} from '../contract/call-defaults.js';
import { DEFAULT_STATUS_CALLBACK_EVENTS, type AgentOverrides, type Call, type CallMetrics, type OutboundCallCreate } from '../contract/call.js';
import type { CodecList } from '../contract/codecs.js';
import type { RecordingSummary } from '../store/recordings.js';
import { isTerminal, type CallStatus, type EndReason } from '../contract/status.js';
import { callErrorOf } from '../contract/call-error.js';
import { disconnectionOf } from '../contract/disconnection.js';
import { RawJson } from '../contract/raw-json.js';
import type { StoredMachineDetection, StoredVoicemail } from './machine-detection.js';

/** The call options as stored (validated, defaults filled), echoed on the call object. */
export interface CallOptions {
  callback_url: string | null;
  status_callback: NonNullable<OutboundCallCreate['status_callback']> | null;
  caller_id_name: string | null;
  custom_sip_headers: NonNullable<OutboundCallCreate['custom_sip_headers']>;
  ring_timeout_s: number;
  max_duration_s: number;
  machine_detection: StoredMachineDetection;
  /** What the agent does on a machine (null: detection off). Absent on calls stored before it existed. */
  voicemail?: StoredVoicemail | null;
  /** track and trim_silence are absent on calls stored before they existed (their defaults apply). */
  record: {
    enabled: boolean;
    channels: 'mono' | 'dual';
    track?: 'inbound' | 'outbound' | 'both';
    trim_silence?: boolean;
    status_callback?: { url: string; method: 'POST' | 'GET' };
  };
  /** Absent on calls stored before overrides existed. */
  agent_overrides?: AgentOverrides | null;
  /** The codecs the call offers, in order; null or absent: the trunk's, else the worker's. */
  codecs?: CodecList | null;
}

export interface CallRow {
  id: string;
  org_id: string;
  agent_id: string;
  trunk_id: string;
  /** Null when the call's From is its trunk's default_caller_id. */
  phone_number_id: string | null;
  to_address: string;
  from_number: string;
  /** This call's own digest credentials (the password encrypted); never shown. */
  sip_auth_username: string | null;
  sip_auth_password_enc: string | null;
  status: CallStatus;
  options: CallOptions;
  /** The JSON text exactly as the client sent it (a text column: see migration 0010). */
  metadata: string | null;
  direction: 'outbound' | 'inbound';
  agent_name: string;
  /** Why a failed call failed, in words (its code is end_reason). */
  error_message: string | null;
  call_context: string | null;
  dynamic_variables: Record<string, string>;
  scheduled_at: Date;
  created_at: Date;
  dispatched_at: Date | null;
  answered_at: Date | null;
  ended_at: Date | null;
  cancel_requested_at: Date | null;
  sip_status_code: number | null;
  end_reason: EndReason | null;
  summary_text: string | null;
  transcript_id: string | null;
  recording: RecordingSummary | null;
  metrics: CallMetrics | null;
  summary_source: 'llm' | 'extractive' | null;
  analysis_due_at: Date | null;
  analyzed_at: Date | null;
  /** Set: the result webhook waits for the summary until then at the latest (src/analysis/call-result.ts). */
  result_due_at: Date | null;
  /** The answering-machine verdict as the worker reported it (null: none). */
  amd: AmdRecord | null;
}

/** calls.amd: the verdict, then the end of a machine's greeting (detect_message_end). */
export interface AmdRecord {
  answered_by: Call['answered_by'] & string;
  decided_ms: number;
  cues: string[];
  message_end_ms: number | null;
  beep_hz: number | null;
}

/** Where a call's recording is served (relative to the API's address). */
export const recordingUrl = (callId: string) => `/v1/calls/${encodeURIComponent(callId)}/recording`;

export function optionsFrom(
  body: OutboundCallCreate,
  agentWebhookUrl: string | null,
  machine: { machine_detection: StoredMachineDetection; voicemail: StoredVoicemail | null } = {
    machine_detection: { mode: MACHINE_DETECTION_DEFAULT.mode, hangup_on_machine: MACHINE_DETECTION_DEFAULT.hangup_on_machine },
    voicemail: null,
  },
): CallOptions {
  return {
    callback_url: body.callback_url ?? agentWebhookUrl,
    status_callback: body.status_callback
      ? {
          // url or urls, as given (create-call checks that exactly one is).
          ...(body.status_callback.urls !== undefined ? { urls: body.status_callback.urls } : { url: body.status_callback.url }),
          events: body.status_callback.events ?? [...DEFAULT_STATUS_CALLBACK_EVENTS],
          method: body.status_callback.method ?? STATUS_CALLBACK_METHOD_DEFAULT,
        }
      : null,
    caller_id_name: body.caller_id_name ?? null,
    custom_sip_headers: body.custom_sip_headers ?? [],
    ring_timeout_s: body.ring_timeout_s ?? RING_TIMEOUT_S.default,
    max_duration_s: body.max_duration_s ?? MAX_DURATION_S.default,
    machine_detection: machine.machine_detection,
    voicemail: machine.voicemail,
    record: {
      enabled: body.record?.enabled ?? false,
      channels: body.record?.channels ?? RECORD_CHANNELS_DEFAULT,
      track: body.record?.track ?? RECORD_TRACK_DEFAULT,
      trim_silence: body.record?.trim_silence ?? RECORD_TRIM_SILENCE_DEFAULT,
      ...(body.record?.status_callback
        ? { status_callback: { url: body.record.status_callback.url, method: body.record.status_callback.method ?? STATUS_CALLBACK_METHOD_DEFAULT } }
        : {}),
    },
    agent_overrides: body.agent_overrides ?? null,
    codecs: body.codecs ?? null,
  };
}

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

export function toCall(r: CallRow): Call {
  const o = r.options;
  return {
    id: r.id,
    agent_id: r.agent_id,
    trunk_id: r.trunk_id,
    to: r.to_address,
    from: r.from_number,
    status: r.status,
    created_at: r.created_at.toISOString(),
    scheduled_at: r.scheduled_at.toISOString(),
    dispatched_at: iso(r.dispatched_at),
    answered_at: iso(r.answered_at),
    ended_at: iso(r.ended_at),
    cancel_requested_at: iso(r.cancel_requested_at),
    duration_s: r.answered_at && r.ended_at ? Math.max(0, (r.ended_at.getTime() - r.answered_at.getTime()) / 1000) : null,
    sip_status_code: r.sip_status_code,
    end_reason: r.end_reason,
    direction: r.direction ?? 'outbound',
    agent_name: r.agent_name,
    disconnection: isTerminal(r.status) ? disconnectionOf(r.end_reason) : null,
    error: callErrorOf(r.status, r.end_reason, r.error_message ?? null),
    summary_text: r.summary_text,
    summary_source: r.summary_source ?? null,
    analyzed_at: iso(r.analyzed_at ?? null),
    transcript_id: r.transcript_id,
    recording: r.recording ? { url: recordingUrl(r.id), ...r.recording } : null,
    metrics: r.metrics ?? null,
    // Spliced into responses and webhook bodies as the client's own bytes (contract/raw-json.ts).
    metadata: r.metadata === null || r.metadata === undefined ? null : new RawJson(r.metadata),
    call_context: r.call_context,
    dynamic_variables: r.dynamic_variables,
    callback_url: o.callback_url,
    status_callback: o.status_callback,
    caller_id_name: o.caller_id_name,
    custom_sip_headers: o.custom_sip_headers,
    ring_timeout_s: o.ring_timeout_s,
    max_duration_s: o.max_duration_s,
    machine_detection: o.machine_detection,
    voicemail: o.voicemail ?? null,
    answered_by: r.amd?.answered_by ?? null,
    machine_detection_result: r.amd ?? null,
    record: { ...o.record, track: o.record.track ?? RECORD_TRACK_DEFAULT, trim_silence: o.record.trim_silence ?? RECORD_TRIM_SILENCE_DEFAULT },
    agent_overrides: o.agent_overrides ?? null,
    codecs: o.codecs ?? null,
  };
}
