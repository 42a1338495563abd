/**
 * GET /v1/calls/{id}/stream: the call as it happens, as server-sent events (the CLI and the
 * dashboard watch calls with it).
 *
 *   event: call     the call object, first (and `end` carries it once more, final)
 *   event: status   each status transition (id: the call_event id, so a reconnect with
 *                   Last-Event-ID resumes without gaps or repeats)
 *   event: ringing  the callee's phone rings
 *   event: turn     a transcript turn, as it is spoken (live only: the stored transcript has all)
 *   event: latency  one agent reply's latency figures
 *   event: end      the call has ended: the final call object; then the stream closes
 *
 * Status events are re-read from call_events on every notification (and on a slow poll, should a
 * NOTIFY be lost), so they are complete and in order whatever process ran the call.
 */
import { Type, type Static } from 'typebox';
import type { AppContext } from '../../app-context.js';
import { CallActivityHub } from '../../calls/activity-hub.js';
import type { CallActivity } from '../../calls/activity.js';
import { getCall } from '../../calls/call-queries.js';
import { isTerminal, type CallStatus } from '../../calls/status.js';
import { sql } from '../../store/sql.js';
import type { App } from '../app-type.js';
import { security } from '../schemas/common.js';

const Params = Type.Object({ callId: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });
const Query = Type.Object(
  { after: Type.Optional(Type.Integer({ minimum: 0, description: 'resume after this status event id (as Last-Event-ID)' })) },
  { additionalProperties: false },
);

const HEARTBEAT_MS = 15_000;
const POLL_MS = 2_000;

export function callStreamRoutes(app: App, ctx: AppContext, opts: { heartbeatMs?: number; pollMs?: number } = {}): void {
  const hub = new CallActivityHub(ctx.db);
  app.addHook('onClose', async () => hub.stop());
  app.get(
    '/v1/calls/:callId/stream',
    {
      schema: {
        tags: ['calls'],
        security,
        summary: 'Watch a call live (server-sent events: call, status, ringing, turn, latency, end)',
        params: Params,
        querystring: Query,
        produces: ['text/event-stream'],
      },
    },
    async (req, reply) => {
      const { callId } = req.params as Static<typeof Params>;
      const q = req.query as Static<typeof Query>;
      const lastEventId = Number(req.headers['last-event-id']);
      let lastId = Number.isInteger(lastEventId) && lastEventId >= 0 ? lastEventId : (q.after ?? 0);
      // Unknown call, or another organisation's: a normal JSON 404 before any stream starts.
      const call = await getCall(ctx, req.orgId, callId);

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      let closed = false;
      const send = (event: string, data: unknown, id?: number) => {
        if (closed) return;
        res.write(`${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      const timers: NodeJS.Timeout[] = [];
      let unsubscribe: (() => void) | undefined;
      const close = () => {
        if (closed) return;
        closed = true;
        for (const t of timers) clearInterval(t);
        unsubscribe?.();
        res.end();
      };
      req.raw.on('close', close);

      // Status events are read one pass at a time, so they leave in id order exactly once.
      let chain = Promise.resolve();
      const flush = () => {
        chain = chain.then(async () => {
          if (closed) return;
          const r = await ctx.db.query<{ id: number; from_status: CallStatus | null; to_status: CallStatus; at: Date; data: Record<string, unknown> }>(
            sql`select id, from_status, to_status, at, data from call_events
              where org_id = ${req.orgId} and call_id = ${callId} and id > ${lastId} order by id`,
          );
          let ended = false;
          for (const e of r.rows) {
            lastId = Number(e.id);
            send('status', { id: lastId, call_id: callId, from_status: e.from_status, to_status: e.to_status, at: e.at.toISOString(), data: e.data }, lastId);
            if (isTerminal(e.to_status)) ended = true;
          }
          if (ended) {
            send('end', await getCall(ctx, req.orgId, callId));
            close();
          }
        }).catch((err: unknown) => {
          req.log.error({ err, callId }, 'call stream could not read events');
          close();
        });
      };
      const onActivity = (a: CallActivity) => {
        if (a.kind === 'status') flush();
        else if (a.kind === 'ringing') send('ringing', { call_id: callId, at: a.at, early_media: a.earlyMedia });
        else if (a.kind === 'turn') send('turn', { call_id: callId, ...a.turn });
        else send('latency', { call_id: callId, ...a.latency });
      };

      try {
        // Subscribed before the first read: nothing that happens in between is missed.
        unsubscribe = await hub.subscribe(callId, onActivity);
      } catch (err) {
        req.log.error({ err, callId }, 'call stream could not listen');
        send('error', { code: 'stream_unavailable', message: 'live updates are unavailable; poll GET /v1/calls/{id}' });
        return close();
      }
      if (closed) return unsubscribe();
      send('call', call);
      flush();
      timers.push(setInterval(() => !closed && res.write(': keep-alive\n\n'), opts.heartbeatMs ?? HEARTBEAT_MS));
      timers.push(setInterval(flush, opts.pollMs ?? POLL_MS));
    },
  );
}
