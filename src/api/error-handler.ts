import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { OutcallError } from '../errors.js';
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
  return undefined;
}

export function errorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const known = toOutcallError(err);
  if (known) {
    void reply.code(known.status).headers(known.headers).send(known.toEnvelope());
    return;
  }
  req.log.error({ err }, 'unhandled error');
  const internal = new OutcallError('internal_error', 'an unexpected error occurred; it has been logged');
  void reply.code(500).send(internal.toEnvelope());
}
