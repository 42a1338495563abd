/**
 * The recording status callback (record.status_callback): `recording.in-progress` when the call is
 * answered (the recording starts at answer), then at the terminal status `recording.completed` (the
 * recording stored with the call, with its duration and URL) or `recording.absent` (never answered,
 * or nothing recorded: a silent call trimmed to nothing, a recording that could not be stored, a
 * worker lost mid-call). Written inside the transition's transaction like every other webhook, so
 * each goes exactly once: a call is answered once and ends once.
 */
import { isTerminal, type CallStatus } from '../contract/status.js';
import type { Queryable } from '../store/db.js';
import { recordingUrl, toCall, type CallRow } from './call-object.js';
import { writeEvent } from './outbox.js';
import { RECORD_TRACK_DEFAULT } from '../contract/call-defaults.js';

export type RecordingEvent = 'in-progress' | 'completed' | 'absent';

/** Which recording event a transition produces for a recorded call, if any. */
export function recordingEventFor(row: Pick<CallRow, 'recording'>, to: CallStatus): RecordingEvent | undefined {
  if (to === 'in_progress') return 'in-progress';
  if (isTerminal(to)) return row.recording ? 'completed' : 'absent';
  return undefined;
}

export async function enqueueRecordingWebhooks(tx: Queryable, row: CallRow, to: CallStatus, at: Date): Promise<void> {
  const record = row.options.record;
  const dest = record.enabled ? record.status_callback : undefined;
  const event = recordingEventFor(row, to);
  if (!dest || !event) return;
  const c = toCall(row);
  const data = {
    call_id: c.id,
    agent_id: c.agent_id,
    event,
    at: at.toISOString(),
    status: c.status,
    track: record.track ?? RECORD_TRACK_DEFAULT,
    channels: record.channels,
    metadata: c.metadata,
    ...(event === 'completed' && row.recording
      ? { recording: { url: recordingUrl(c.id), duration_ms: row.recording.duration_ms, channels: row.recording.channels, sample_rate: row.recording.sample_rate } }
      : {}),
    ...(event === 'absent' ? { reason: row.answered_at ? 'nothing_recorded' : 'not_answered' } : {}),
  };
  await writeEvent(tx, row, `recording.${event}`, at, data, [dest]);
}
