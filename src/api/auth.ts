import type { FastifyRequest } from 'fastify';
import type { AppContext } from '../app-context.js';
import { OutcallError } from '../errors.js';
import { organizationForKey } from '../store/orgs.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The organization of the API key; set by authenticate() on every /v1 route. */
    orgId: string;
  }
}

/** The presented key: `Authorization: Bearer <key>`, or `X-Api-Key: <key>`. */
export function presentedKey(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return m ? m[1] : undefined;
  }
  const x = req.headers['x-api-key'];
  return typeof x === 'string' && x.trim() !== '' ? x.trim() : undefined;
}

export function authenticate(ctx: AppContext) {
  return async (req: FastifyRequest): Promise<void> => {
    const key = presentedKey(req);
    if (key === undefined) {
      throw new OutcallError('unauthorized', 'send your API key as "Authorization: Bearer <key>" or "X-Api-Key: <key>"');
    }
    const orgId = await organizationForKey(ctx.db, key);
    if (orgId === undefined) throw new OutcallError('unauthorized', 'the API key is not valid (unknown or revoked)');
    req.orgId = orgId;
  };
}
