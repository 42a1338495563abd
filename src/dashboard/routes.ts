/**
 * The dashboard's files: plain HTML, CSS and browser ES modules from ./public, served by the API
 * process itself (no separate server, no bundler). The page is public; every API call it makes
 * carries the user's key, so these routes live outside the /v1 auth hook.
 *
 * The folder is resolved from this module's own URL, so the same code serves src/dashboard/public
 * under tsx and dist/dashboard/public after `npm run build` (scripts/copy-assets.mjs copies it).
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OutcallError } from '../errors.js';

export const DASHBOARD_PATH = '/dashboard/';

const PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url));

/** Only these kinds of file are served; anything else in the folder is a 404. */
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
};

/**
 * The page runs no inline script or style and loads nothing from elsewhere, so the policy can be
 * strict: a value that slipped into the DOM as markup still could not run. blob: is for the
 * recording, which is fetched with the key and played from an object URL.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export interface DashboardOptions {
  /** The folder to serve (tests); default: ./public beside this module. */
  root?: string;
}

/**
 * The file under `root` that `rel` names, or undefined when it names something outside it, a
 * hidden file, or a kind of file not served. `rel` is already percent-decoded by the router, so an
 * encoded `%2e%2e%2f` arrives here as `../` and is refused like a plain one.
 */
export function resolvePublicFile(root: string, rel: string): string | undefined {
  if (rel.includes('\0') || rel.includes('\\')) return undefined;
  const parts = rel.split('/').filter((p) => p !== '');
  if (parts.some((p) => p === '..' || p === '.' || p.startsWith('.'))) return undefined;
  const file = resolve(root, ...parts);
  if (!file.startsWith(root.endsWith(sep) ? root : root + sep)) return undefined;
  if (CONTENT_TYPES[extname(file).toLowerCase()] === undefined) return undefined;
  return file;
}

export function dashboardRoutes(app: FastifyInstance, opts: DashboardOptions = {}): void {
  const root = resolve(opts.root ?? PUBLIC_DIR);

  const send = async (req: FastifyRequest, reply: FastifyReply, rel: string) => {
    const file = resolvePublicFile(root, rel);
    const info = file ? await stat(file).catch(() => undefined) : undefined;
    if (!file || !info?.isFile()) {
      return reply.code(404).send(new OutcallError('not_found', `no dashboard file ${rel}`).toEnvelope());
    }
    const body = await readFile(file);
    const etag = `"${createHash('sha1').update(body).digest('base64url')}"`;
    // No content hashes in the file names (no bundler), so browsers must revalidate every file;
    // the ETag makes that a 304 when nothing changed.
    void reply
      .header('cache-control', 'no-cache')
      .header('etag', etag)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer');
    if (extname(file) === '.html') void reply.header('content-security-policy', CSP);
    if (req.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.type(CONTENT_TYPES[extname(file).toLowerCase()] as string).send(body);
  };

  const hide = { schema: { hide: true } };
  app.get('/dashboard', hide, async (_req, reply) => reply.redirect(DASHBOARD_PATH, 302));
  app.get(DASHBOARD_PATH, hide, async (req, reply) => send(req, reply, 'index.html'));
  app.get(`${DASHBOARD_PATH}*`, hide, async (req, reply) => send(req, reply, (req.params as { '*': string })['*']));
}
