/**
 * The Realtime API's WebSocket: connect with `Authorization: Bearer <key>` to
 * wss://api.openai.com/v1/realtime?model=..., wait for session.created, then JSON events both ways.
 * https://developers.openai.com/api/reference/resources/realtime/client-events (GA interface).
 * Every failure becomes a ProviderError: an HTTP answer to the upgrade (401, 429, 5xx) is read with
 * the vendor's error body; a refused connection is provider_unavailable; no session.created in time
 * is provider_timeout; a socket that closes or breaks while in use is provider_failed.
 */
import WebSocket from 'ws';
import { ProviderError } from '../../providers/errors.js';
import { errorFromResponse, redact } from '../../providers/llm/http-errors.js';

export interface ServerEvent {
  type: string;
  [k: string]: unknown;
}

export type ClientEvent = { type: string } & Record<string, unknown>;

export interface RealtimeSocket {
  send(e: ClientEvent): void;
  close(): void;
}

export interface RealtimeConnectOptions {
  url: string;
  apiKey: string;
  timeoutMs: number;
  onEvent: (e: ServerEvent) => void;
  /** The socket failed or closed after connect (not called for close()). */
  onFailure: (err: ProviderError) => void;
}

const NAME = 'openai realtime';

/** Opens the socket; resolves once session.created arrived (it is passed to onEvent first). */
export function connectRealtime(o: RealtimeConnectOptions): Promise<RealtimeSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(o.url, { headers: { Authorization: `Bearer ${o.apiKey}` } });
    let open = false;
    let closedByUs = false;
    let settled = false;
    const fail = (err: ProviderError) => {
      if (closedByUs) return;
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        reject(err);
      } else o.onFailure(err);
      closedByUs = true;
      ws.terminate();
    };
    const timer = setTimeout(
      () => fail(new ProviderError('provider_timeout', `${NAME}: no session.created within ${o.timeoutMs} ms`, true)),
      o.timeoutMs,
    );
    const socket: RealtimeSocket = {
      send(e) {
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(e));
      },
      close() {
        closedByUs = true;
        clearTimeout(timer);
        if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
        else ws.close(1000);
      },
    };
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d.length + body.length > 16_384 ? '' : d));
      res.on('end', () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
        fail(errorFromResponse(NAME, res.statusCode ?? 0, headers, body, o.apiKey));
      });
      res.on('error', () => fail(new ProviderError('provider_unavailable', `${NAME}: HTTP ${res.statusCode ?? 0} at upgrade`, true)));
    });
    ws.on('open', () => (open = true));
    ws.on('message', (data, isBinary) => {
      let e: ServerEvent;
      try {
        if (isBinary) throw new Error('binary frame');
        const parsed: unknown = JSON.parse(String(data));
        if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { type?: unknown }).type !== 'string') throw new Error('no event type');
        e = parsed as ServerEvent;
      } catch (err) {
        return fail(new ProviderError('provider_failed', `${NAME}: malformed event from the server (${(err as Error).message})`, true));
      }
      if (!settled) {
        if (e.type === 'error') return fail(eventError(e, o.apiKey));
        if (e.type !== 'session.created') return; // nothing else is expected before it
        settled = true;
        clearTimeout(timer);
        o.onEvent(e);
        resolve(socket);
        return;
      }
      o.onEvent(e);
    });
    ws.on('error', (err: Error & { code?: string }) => {
      const refused = !open && (err.code === 'ECONNREFUSED' || err.code === 'ENOTFOUND' || err.code === 'EHOSTUNREACH');
      fail(new ProviderError(refused ? 'provider_unavailable' : 'provider_failed', redact(`${NAME}: ${err.message}`, o.apiKey), true, { cause: err }));
    });
    ws.on('close', (code, reason) => {
      clearTimeout(timer);
      const why = reason.length > 0 ? `: ${redact(reason.toString(), o.apiKey)}` : '';
      fail(new ProviderError(open ? 'provider_failed' : 'provider_unavailable', `${NAME}: connection closed (${code})${why}`, true));
    });
  });
}

/** An `error` server event as a ProviderError (error.type / code / message, per the server-events reference). */
export function eventError(e: ServerEvent, apiKey: string): ProviderError {
  const inner = (typeof e.error === 'object' && e.error !== null ? e.error : {}) as { type?: unknown; code?: unknown; message?: unknown };
  const type = typeof inner.type === 'string' ? inner.type : 'unknown';
  const code = typeof inner.code === 'string' ? inner.code : undefined;
  const message = redact(`${NAME}: ${typeof inner.message === 'string' ? inner.message : 'error'} (type ${type}${code ? `, code ${code}` : ''})`, apiKey);
  if (type === 'invalid_request_error') return new ProviderError('provider_bad_request', message, false);
  if (code === 'rate_limit_exceeded') return new ProviderError('provider_rate_limited', message, true);
  return new ProviderError('provider_failed', message, true);
}
