/**
 * Talking to the API with the user's key: `Authorization: Bearer <key>` on every request. The key
 * lives in sessionStorage (this tab only, gone when it closes) and is never put in a URL.
 */
import { readServerSentEvents } from './sse.js';

const KEY = 'outcall.apiKey';

export const session = {
  key: () => sessionStorage.getItem(KEY),
  set: (k) => sessionStorage.setItem(KEY, k),
  clear: () => sessionStorage.removeItem(KEY),
};

/** The API's error envelope {error: {code, message, param}}, or a local one (status 0). */
export class ApiError extends Error {
  constructor(status, code, message, param = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.param = param;
  }
}

function headers(extra = {}) {
  const key = session.key();
  return { ...(key ? { authorization: `Bearer ${key}` } : {}), ...extra };
}

async function errorFrom(res) {
  let env;
  try {
    env = await res.json();
  } catch {
    env = undefined;
  }
  const e = env && typeof env === 'object' ? env.error : undefined;
  const err = new ApiError(res.status, e?.code ?? `http_${res.status}`, e?.message ?? `${res.status} ${res.statusText}`, e?.param ?? null);
  // A key that stopped working (revoked) sends the user back to the login form.
  if (res.status === 401) window.dispatchEvent(new CustomEvent('outcall:unauthorized', { detail: err }));
  return err;
}

async function send(method, path, init) {
  try {
    return await fetch(path, { method, ...init });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    throw new ApiError(0, 'network_error', `could not reach the server (${err?.message ?? err})`);
  }
}

/** A JSON request; resolves to the parsed body (null for 204), rejects with ApiError. */
export async function api(method, path, body, { signal } = {}) {
  const init = { headers: headers(body !== undefined ? { 'content-type': 'application/json' } : {}), signal };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await send(method, path, init);
  if (!res.ok) throw await errorFrom(res);
  if (res.status === 204) return null;
  const text = await res.text();
  return text === '' ? null : JSON.parse(text);
}

/** A binary resource (the recording) as a Blob, fetched with the key. */
export async function apiBlob(path, { signal } = {}) {
  const res = await send('GET', path, { headers: headers(), signal });
  if (!res.ok) throw await errorFrom(res);
  return res.blob();
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/**
 * Watches GET /v1/calls/{id}/stream until its `end` event, calling onEvent(name, data) for each
 * event. A dropped connection is resumed with Last-Event-ID (the last status event), so status
 * events arrive once each and in order; live turns said while disconnected are in the stored
 * transcript, which the page loads at the end. Resolves when the call has ended or `signal` aborts.
 */
export async function watchCall(callId, onEvent, { signal, onState } = {}) {
  let lastId;
  let delay = 500;
  while (!signal?.aborted) {
    try {
      onState?.('connecting');
      const res = await send('GET', `/v1/calls/${encodeURIComponent(callId)}/stream`, {
        headers: headers({ accept: 'text/event-stream', ...(lastId !== undefined ? { 'last-event-id': lastId } : {}) }),
        signal,
        cache: 'no-store',
      });
      if (!res.ok) throw await errorFrom(res);
      onState?.('live');
      delay = 500;
      for await (const ev of readServerSentEvents(res.body)) {
        if (ev.id !== undefined) lastId = ev.id;
        let data;
        try {
          data = JSON.parse(ev.data);
        } catch {
          continue;
        }
        onEvent(ev.event, data);
        if (ev.event === 'end') {
          onState?.('ended');
          return;
        }
      }
    } catch (err) {
      if (signal?.aborted || err?.name === 'AbortError') return;
      // 4xx will not get better by retrying (unknown call, revoked key).
      if (err instanceof ApiError && err.status >= 400 && err.status < 500) {
        onState?.('error', err);
        throw err;
      }
    }
    onState?.('reconnecting');
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 10_000);
  }
}
