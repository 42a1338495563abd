/**
 * GET (and HEAD) /v1/calls/{callId}/recording: the call's WAV. A single byte range is honored
 * (RFC 9110 §14: 206 with Content-Range; a range starting past the end is 416), read from the
 * database as a substring, so players can seek in a long recording without fetching all of it.
 */
import { Type, type Static } from 'typebox';
import type { AppContext } from '../../app-context.js';
import { OutcallError } from '../../errors.js';
import { findRecording } from '../../store/recordings.js';
import { sql } from '../../store/sql.js';
import type { App } from '../app-type.js';
import { security } from '../../contract/common.js';

const Params = Type.Object({ callId: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });
const Headers = Type.Object({
  range: Type.Optional(Type.String({ maxLength: 256, description: 'one byte range, e.g. bytes=0-1023 (RFC 9110 §14.2)' })),
});
// The body is bytes (a Buffer), described to OpenAPI as a binary string.
const Wav = { content: { 'audio/wav': { schema: Type.Unsafe<Buffer>({ type: 'string', format: 'binary' }) } } };

export type ByteRange = { start: number; end: number } | 'unsatisfiable' | undefined;

/**
 * The one range of a `Range: bytes=...` header against a file of `size` bytes, inclusive. Undefined
 * when the header is absent, malformed or asks for several ranges: the server then sends the whole
 * file, which RFC 9110 §14.2 allows (a server MAY ignore Range).
 */
export function parseByteRange(header: string | undefined, size: number): ByteRange {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    // Suffix range: the last n bytes (§14.1.2).
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return undefined; // invalid: ignored (§14.1.1)
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

export function callRecordingRoute(app: App, ctx: AppContext): void {
  app.get(
    '/v1/calls/:callId/recording',
    {
      schema: {
        tags: ['calls'],
        security,
        summary: "The call's recording as 16-bit PCM WAV (record.enabled); dual: callee left, agent right. Supports HEAD and one byte Range.",
        params: Params,
        headers: Headers,
        response: { 200: Wav, 206: Wav },
      },
    },
    async (req, reply) => {
      const { callId } = req.params as Static<typeof Params>;
      const rangeHeader = (req.headers as Static<typeof Headers>).range;
      const head = await findRecording(ctx.db, req.orgId, callId, { kind: 'none' });
      if (!head) {
        const call = await ctx.db.query(sql`select 1 from calls where org_id = ${req.orgId} and id = ${callId}`);
        if (call.rowCount === 0) throw new OutcallError('call_not_found', `no call ${callId}`, 'callId');
        throw new OutcallError('recording_not_found', `call ${callId} has no recording`, 'callId');
      }
      const range = parseByteRange(rangeHeader, head.totalBytes);
      if (range === 'unsatisfiable') {
        throw new OutcallError('range_not_satisfiable', `the recording has ${head.totalBytes} bytes`, 'range', {
          'content-range': `bytes */${head.totalBytes}`,
        });
      }
      void reply
        .header('accept-ranges', 'bytes')
        .header('content-disposition', `inline; filename="${callId}.wav"`)
        .header('x-recording-duration-ms', String(head.durationMs))
        .type('audio/wav');
      const got = await findRecording(ctx.db, req.orgId, callId, range ? { kind: 'range', ...range } : { kind: 'all' });
      if (!got) throw new OutcallError('recording_not_found', `call ${callId} has no recording`, 'callId');
      if (range) {
        return reply
          .code(206)
          .header('content-range', `bytes ${range.start}-${range.end}/${got.totalBytes}`)
          .send(got.bytes);
      }
      return reply.code(200).send(got.bytes);
    },
  );
}
