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
import { watchCallActivity, type CallWatch, type CallWatchItem } from '../../calls/call-watch.js';
import { getCall } from '../../calls/call-queries.js';
import type { App } from '../app-type.js';
import { security } from '../../contract/common.js';
import { stringifyJson } from '../../contract/raw-json.js';

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
      const lastId = Number.isInteger(lastEventId) && lastEventId >= 0 ? lastEventId : (q.after ?? 0);
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
        // The call's metadata goes out as sent (stringifyJson); should its text hold line breaks,
        // each line is its own data: field, which the client joins with \n (HTML, "server-sent events" §9.2.6).
        const lines = stringifyJson(data).split(/\r\n|\r|\n/).map((l) => `data: ${l}`).join('\n');
        res.write(`${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\n${lines}\n\n`);
      };
      const timers: NodeJS.Timeout[] = [];
      let watch: CallWatch | undefined;
      const close = () => {
        if (closed) return;
        closed = true;
        for (const t of timers) clearInterval(t);
        watch?.stop();
        res.end();
      };
      req.raw.on('close', close);
      send('call', call);
      const onItem = (item: CallWatchItem) => {
        switch (item.kind) {
          case 'status':
            return send('status', item.event, item.event.id);
          case 'ringing':
            return send('ringing', { call_id: callId, at: item.at, early_media: item.earlyMedia });
          case 'turn':
            return send('turn', { call_id: callId, ...item.turn });
          case 'latency':
            return send('latency', { call_id: callId, ...item.latency });
          case 'end':
            send('end', item.call);
            return close();
          case 'error':
            req.log.error({ err: item.error, callId }, 'call stream failed');
            send('error', { code: 'stream_unavailable', message: 'live updates stopped; poll GET /v1/calls/{id}' });
            return close();
        }
      };
      try {
        watch = await watchCallActivity(ctx, hub, req.orgId, callId, lastId, onItem, { pollMs: opts.pollMs ?? POLL_MS });
      } catch (err) {
        req.log.error({ err, callId }, 'call stream could not listen');
        send('error', { code: 'stream_unavailable', message: 'live updates are unavailable; poll GET /v1/calls/{id}' });
        return close();
      }
      if (closed) watch.stop();
      timers.push(setInterval(() => !closed && res.write(': keep-alive\n\n'), opts.heartbeatMs ?? HEARTBEAT_MS));
    },
  );
}
