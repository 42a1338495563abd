/**
 * Replies that hold RawJson (a call's metadata) are serialized by the route's schema as usual, with
 * each RawJson's text spliced in afterwards, byte for byte (contract/raw-json.ts): before
 * serialization the RawJson values become placeholders, and after it the placeholders become the text.
 */
import type { FastifyRequest } from 'fastify';
import { withRawPlaceholders } from '../contract/raw-json.js';
import type { App } from './app-type.js';

const splices = new WeakMap<FastifyRequest, (serialized: string) => string>();

export function spliceRawJsonReplies(app: App): void {
  app.addHook('preSerialization', async (req, _reply, payload) => {
    const p = withRawPlaceholders(payload);
    if (p.count === 0) return payload;
    splices.set(req, p.splice);
    return p.value;
  });
  app.addHook('onSend', async (req, _reply, payload) => {
    const splice = splices.get(req);
    if (splice === undefined || typeof payload !== 'string') return payload;
    splices.delete(req);
    return splice(payload);
  });
}
