import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { OutcallError } from '../errors.js';
import { isConnectionError, isStorageFull } from '../store/pg-errors.js';
import { validationToError } from './validation.js';

/** Maps every failure to the one envelope with a stable code; unexpected errors are logged, not leaked. */
export function toOutcallError(err: FastifyError | Error): OutcallError | undefined {
  if (err instanceof OutcallError) return err;
  const fe = err as FastifyError;
  if (fe.validation) return validationToError(fe.validation as never, fe.validationContext ?? 'request');
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new OutcallError('payload_too_large', 'the request body is larger than the limit');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new OutcallError('unsupported_media_type', 'send the body as application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new OutcallError('invalid_json', 'the body is not valid JSON');
  }
  if (err instanceof SyntaxError || fe.statusCode === 400) return new OutcallError('invalid_json', `the body is not valid JSON: ${err.message}`);
  if (fe.statusCode === 413) return new OutcallError('payload_too_large', 'the request body is larger than the limit');
  if (fe.statusCode === 415) return new OutcallError('unsupported_media_type', 'send the body as application/json');
  // The database went away (restart, outage): a retryable 503, not an internal error.
  if (isConnectionError(err)) return new OutcallError('unavailable', 'the store is unreachable; retry shortly', null, { 'retry-after': '2' });
  // Nothing was written: the same request succeeds once the operator frees space.
  if (isStorageFull(err)) return new OutcallError('storage_full', "the store's disk is full: nothing was written; retry once space is freed", null, { 'retry-after': '30' });
  return undefined;
}

/**
 * What the router refuses before any route runs (Fastify's frameworkErrors): a path parameter past
 * maxParamLength, a URL that cannot be decoded. In the envelope like every other error, and without
 * echoing the URL back.
 */
export function frameworkErrorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const e =
    err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new OutcallError('uri_too_long', `a path parameter is longer than ${MAX_PARAM_LENGTH} characters: no id is that long`)
      : err.code === 'FST_ERR_BAD_URL'
        ? new OutcallError('invalid_request', 'the URL cannot be decoded (bad percent-encoding)')
        : new OutcallError('internal_error', 'an unexpected error occurred; it has been logged');
  if (e.code === 'internal_error') req.log.error({ err }, 'router error');
  void reply.code(e.status).send(e.toEnvelope());
}

/** The longest path parameter the router takes (ids are far shorter; Fastify's default is 100). */
export const MAX_PARAM_LENGTH = 100;

export function errorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const known = toOutcallError(err);
  if (known) {
    // The client's answer says what happened; the operator, who must free space, hears it here.
    if (known.code === 'storage_full') req.log.error({ err }, "the store's disk is full");
    void reply.code(known.status).headers(known.headers).send(known.toEnvelope());
    return;
  }
  req.log.error({ err }, 'unhandled error');
  const internal = new OutcallError('internal_error', 'an unexpected error occurred; it has been logged');
  void reply.code(500).send(internal.toEnvelope());
}
