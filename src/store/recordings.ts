import type { RecordingChannels } from '../media/wav-recorder.js';
import type { Queryable } from './db.js';
import { sql } from './sql.js';

export interface RecordingInput {
  orgId: string;
  callId: string;
  channels: RecordingChannels;
  sampleRate: number;
  durationMs: number;
  wav: Uint8Array;
}

/** What the call object shows of its recording (calls.recording). */
export interface RecordingSummary {
  duration_ms: number;
  channels: RecordingChannels;
  sample_rate: number;
}

/** Stores a call's recording and its summary on the call row; inside the caller's transaction. */
export async function insertRecording(tx: Queryable, r: RecordingInput): Promise<void> {
  const summary: RecordingSummary = { duration_ms: r.durationMs, channels: r.channels, sample_rate: r.sampleRate };
  const bytes = Buffer.from(r.wav.buffer, r.wav.byteOffset, r.wav.byteLength);
  await tx.query(sql`insert into recordings (org_id, call_id, format, channels, sample_rate, duration_ms, bytes)
    values (${r.orgId}, ${r.callId}, 'wav', ${r.channels}, ${r.sampleRate}, ${r.durationMs}, ${bytes})`);
  await tx.query(sql`update calls set recording = ${JSON.stringify(summary)} where org_id = ${r.orgId} and id = ${r.callId}`);
}

export interface StoredRecording {
  format: 'wav';
  channels: RecordingChannels;
  sampleRate: number;
  durationMs: number;
  /** Size of the whole file. */
  totalBytes: number;
  /** The requested bytes (all of them without a range; none for a HEAD). */
  bytes: Buffer;
}

/**
 * A call's recording, or undefined. `range` reads only [start, end] (inclusive) in the database
 * (substring on bytea), so a player seeking in a long call does not pull the whole file.
 */
export async function findRecording(
  db: Queryable,
  orgId: string,
  callId: string,
  part: { kind: 'all' } | { kind: 'none' } | { kind: 'range'; start: number; end: number } = { kind: 'all' },
): Promise<StoredRecording | undefined> {
  const body =
    part.kind === 'all'
      ? sql`bytes`
      : part.kind === 'none'
        ? sql`''::bytea`
        : sql`substring(bytes from ${part.start + 1} for ${part.end - part.start + 1})`;
  const r = await db.query<{ format: 'wav'; channels: RecordingChannels; sample_rate: number; duration_ms: number; total: number | string; body: Uint8Array }>(
    sql`select format, channels, sample_rate, duration_ms, octet_length(bytes) as total, ${body} as body
      from recordings where org_id = ${orgId} and call_id = ${callId}`,
  );
  const row = r.rows[0];
  if (!row) return undefined;
  return {
    format: row.format,
    channels: row.channels,
    sampleRate: Number(row.sample_rate),
    durationMs: Number(row.duration_ms),
    totalBytes: Number(row.total),
    bytes: Buffer.isBuffer(row.body) ? row.body : Buffer.from(row.body.buffer, row.body.byteOffset, row.body.byteLength),
  };
}
