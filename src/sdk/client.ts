/**
 * The typed Outcall client: openapi-fetch over the types generated from the API's OpenAPI
 * document (schema.ts), so every path, parameter, body and response is checked at compile time,
 * plus `watchCall`, which follows GET /v1/calls/{id}/stream.
 */
import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './schema.js';
import { readServerSentEvents } from './sse.js';

export type OutcallClient = Client<paths>;

export interface OutcallClientOptions {
  /** e.g. http://127.0.0.1:8080 */
  baseUrl: string;
  apiKey: string;
  fetch?: typeof fetch;
}

export function createOutcallClient(opts: OutcallClientOptions): OutcallClient {
  const client = createClient<paths>({ baseUrl: opts.baseUrl.replace(/\/+$/, ''), ...(opts.fetch ? { fetch: opts.fetch } : {}) });
  client.use({
    onRequest({ request }) {
      request.headers.set('authorization', `Bearer ${opts.apiKey}`);
      return request;
    },
  });
  return client;
}

type CallObject = paths['/v1/calls/{callId}']['get']['responses'][200]['content']['application/json'];
type StatusEvent = paths['/v1/calls/{callId}/events']['get']['responses'][200]['content']['application/json']['data'][number];

/** What GET /v1/calls/{id}/stream tells, typed. */
export type CallStreamEvent =
  | { event: 'call'; data: CallObject }
  | { event: 'status'; data: StatusEvent }
  | { event: 'ringing'; data: { call_id: string; at: string; early_media: boolean } }
  | { event: 'turn'; data: { call_id: string; speaker: 'agent' | 'callee'; text: string; interrupted: boolean; startMs: number; endMs: number } }
  | { event: 'latency'; data: { call_id: string } & Record<string, number | string> }
  | { event: 'end'; data: CallObject }
  | { event: 'error'; data: { code: string; message: string } };

export class OutcallApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'OutcallApiError';
  }
}

/**
 * Follows a call live until it ends (the last event is `end`), reconnecting with Last-Event-ID if
 * the connection drops, so no status transition is missed or repeated.
 */
export async function* watchCall(
  opts: OutcallClientOptions & { signal?: AbortSignal; maxReconnects?: number },
  callId: string,
): AsyncGenerator<CallStreamEvent> {
  const f = opts.fetch ?? fetch;
  let lastId: string | undefined;
  let failures = 0;
  for (;;) {
    const res = await f(`${opts.baseUrl.replace(/\/+$/, '')}/v1/calls/${encodeURIComponent(callId)}/stream`, {
      headers: { authorization: `Bearer ${opts.apiKey}`, accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) },
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (!res.ok || !res.body) {
      const body = (await res.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined;
      throw new OutcallApiError(res.status, body?.error?.code ?? 'http_error', body?.error?.message ?? `HTTP ${res.status}`);
    }
    try {
      for await (const e of readServerSentEvents(res.body as unknown as AsyncIterable<Uint8Array>)) {
        if (e.id !== undefined) lastId = e.id;
        const ev = { event: e.event, data: JSON.parse(e.data) } as CallStreamEvent;
        yield ev;
        if (ev.event === 'end') return;
        failures = 0;
      }
    } catch (err) {
      if (opts.signal?.aborted) throw err;
    }
    // Closed before `end` (a proxy timeout, a restart): resume after the last event seen.
    if (++failures > (opts.maxReconnects ?? 5)) throw new OutcallApiError(0, 'stream_closed', 'the call stream kept closing before the call ended');
    await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** failures, 5000)));
  }
}
