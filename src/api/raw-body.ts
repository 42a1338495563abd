/**
 * JSON bodies are parsed as before (Fastify's own parser, prototype poisoning refused) and their
 * text is kept on the request: the create-call route takes the client's `metadata` from it byte for
 * byte (contract/json-scan.ts), which the parsed value cannot give back.
 */
import type { FastifyRequest } from 'fastify';
import type { App } from './app-type.js';

const rawBodies = new WeakMap<FastifyRequest, string>();

export function keepRawJsonBodies(app: App): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    rawBodies.set(req, body as string);
    void parse(req, body as string, done);
  });
}

/** The request's JSON body as received, when it had one. */
export function rawBodyOf(req: FastifyRequest): string | undefined {
  return rawBodies.get(req);
}
