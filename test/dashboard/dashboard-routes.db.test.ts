/**
 * The dashboard's static files as the API server serves them: public (no key), the right content
 * types, revalidation with ETags, a strict CSP on the page, and nothing outside the public folder
 * (encoded traversal, backslashes, NUL, hidden files, unlisted kinds of file all answer 404).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import Fastify from 'fastify';
import { dashboardRoutes, resolvePublicFile } from '../../src/dashboard/routes.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

const PUBLIC = join(import.meta.dirname, '../../src/dashboard/public');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
}

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(async () => t.close());

const get = (url: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url, headers });

describe('dashboard routes', () => {
  test('/dashboard/ serves the page without a key, with a strict CSP and revalidation headers', async () => {
    const r = await get('/dashboard/');
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    assert.match(r.body, /<script type="module" src="js\/app\.js"><\/script>/);
    assert.equal(r.body, readFileSync(join(PUBLIC, 'index.html'), 'utf8'));
    const csp = String(r.headers['content-security-policy']);
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /media-src 'self' blob:/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.equal(r.headers['cache-control'], 'no-cache');
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.match(String(r.headers.etag), /^"[\w-]+"$/);

    const again = await get('/dashboard/', { 'if-none-match': String(r.headers.etag) });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');
    const head = await t.app.inject({ method: 'HEAD', url: '/dashboard/' });
    assert.equal(head.statusCode, 200);
    assert.equal(head.headers['content-type'], 'text/html; charset=utf-8');
  });

  test('/dashboard redirects to /dashboard/ (relative asset paths resolve under it)', async () => {
    const r = await get('/dashboard');
    assert.equal(r.statusCode, 302);
    assert.equal(r.headers.location, '/dashboard/');
  });

  test('every file of the public folder is served byte for byte with its content type', async () => {
    const types: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };
    const files = walk(PUBLIC);
    assert.ok(files.some((f) => f.endsWith('.js')) && files.some((f) => f.endsWith('.css')), 'the folder has scripts and a stylesheet');
    for (const f of files) {
      const url = `/dashboard/${relative(PUBLIC, f).split('\\').join('/')}`;
      const r = await get(url);
      assert.equal(r.statusCode, 200, url);
      assert.equal(r.headers['content-type'], types[f.slice(f.lastIndexOf('.'))], url);
      assert.equal(r.body, readFileSync(f, 'utf8'), url);
    }
  });

  test('paths outside the public folder are refused, however they are spelled', async () => {
    const attempts = [
      '/dashboard/../package.json',
      '/dashboard/%2e%2e/%2e%2e/%2e%2e/package.json',
      '/dashboard/js/..%2f..%2f..%2f..%2fpackage.json',
      '/dashboard/..%5c..%5c..%5cpackage.json',
      '/dashboard/js/%2e%2e/%2e%2e/routes.ts',
      '/dashboard/%2fetc%2fpasswd',
      '/dashboard/index.html%00.js',
    ];
    for (const url of attempts) {
      const r = await get(url);
      // A NUL is refused before any route runs (src/api/nul-guard.ts); the rest find no file.
      const [status, code] = url.includes('%00') ? [400, 'invalid_request'] : [404, 'not_found'];
      assert.equal(r.statusCode, status, `${url} -> ${r.statusCode}`);
      assert.equal(JSON.parse(r.body).error.code, code, url);
      assert.doesNotMatch(r.body, /"name": "outcall"|root:x:0|dashboardRoutes/, url);
    }
  });

  test('a missing file is a 404 in the API error envelope', async () => {
    const r = await get('/dashboard/js/nope.js');
    assert.equal(r.statusCode, 404);
    assert.deepEqual(Object.keys(JSON.parse(r.body).error).sort(), ['code', 'message', 'param']);
  });

  test('the dashboard being public leaves /v1 behind the key', async () => {
    const r = await get('/v1/agents');
    assert.equal(r.statusCode, 401);
    assert.equal(JSON.parse(r.body).error.code, 'unauthorized');
    assert.ok(!JSON.stringify(await (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json()).includes('/dashboard'), 'not in the API document');
  });
});

describe('dashboard routes over another folder', () => {
  test('only listed kinds of file are served; hidden files and others are not', async () => {
    const root = mkdtempSync(join(tmpdir(), 'outcall-dash-'));
    try {
      mkdirSync(join(root, 'js'));
      writeFileSync(join(root, 'index.html'), '<!doctype html><title>x</title>');
      writeFileSync(join(root, 'js', 'a.js'), 'export {};');
      writeFileSync(join(root, 'notes.txt'), 'secret');
      writeFileSync(join(root, '.env'), 'KEY=1');
      mkdirSync(join(root, 'dir.js'));
      const app = Fastify();
      dashboardRoutes(app, { root });
      await app.ready();
      assert.equal((await app.inject('/dashboard/')).statusCode, 200);
      assert.equal((await app.inject('/dashboard/js/a.js')).headers['content-type'], 'text/javascript; charset=utf-8');
      for (const url of ['/dashboard/notes.txt', '/dashboard/.env', '/dashboard/dir.js', '/dashboard/js/']) {
        assert.equal((await app.inject(url)).statusCode, 404, url);
      }
      await app.close();

      assert.equal(resolvePublicFile(root, 'js/a.js'), join(root, 'js', 'a.js'));
      assert.equal(resolvePublicFile(root, '../x.js'), undefined);
      assert.equal(resolvePublicFile(root, 'js/../../x.js'), undefined);
      assert.equal(resolvePublicFile(root, 'a\\..\\..\\x.js'), undefined);
      assert.equal(resolvePublicFile(root, 'x.js\0'), undefined);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
