import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import type { AppContext } from '../../src/app-context.js';
import type { App } from '../../src/api/app-type.js';
import { buildServer } from '../../src/api/server.js';
import { SecretBox } from '../../src/crypto/secret-box.js';
import { Metrics } from '../../src/metrics.js';
import type { Database } from '../../src/store/db.js';
import { createApiKey, createOrganization } from '../../src/store/orgs.js';
import { openTestDb } from './test-db.js';

export interface TestApp {
  app: App;
  ctx: AppContext;
  db: Database;
  /** An organization with its API key. */
  org: TestOrg;
  newOrg(name?: string): Promise<TestOrg>;
  close(): Promise<void>;
}

export interface TestOrg {
  id: string;
  key: string;
  /** Authenticated JSON request as this organization. */
  req(method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<Res>;
}

export interface Res {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: LightMyRequestResponse['headers'];
  raw: string;
}

export interface TestAppOptions {
  allowPrivateUrls?: boolean;
  withSecrets?: boolean;
  now?: () => Date;
  bodyLimit?: number;
  /** Use this store (e.g. a scratch PostgreSQL other processes share) instead of a fresh one. */
  db?: Database;
  /** The secret key (32 bytes); random by default. Give it when other processes must decrypt too. */
  secretKey?: Buffer;
}

export async function startTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const db = opts.db ?? (await openTestDb());
  const ctx: AppContext = {
    db,
    secrets: opts.withSecrets === false ? undefined : new SecretBox(opts.secretKey ?? randomBytes(32)),
    allowPrivateUrls: opts.allowPrivateUrls ?? false,
    now: opts.now ?? (() => new Date()),
    metrics: new Metrics(db),
  };
  const app = await buildServer(ctx, { logLevel: 'silent', ...(opts.bodyLimit ? { bodyLimit: opts.bodyLimit } : {}) });
  const orgFor = (id: string, key: string): TestOrg => ({
    id,
    key,
    async req(method, url, body, headers = {}) {
      const res = await app.inject({
        method: method as 'GET',
        url,
        headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      return { status: res.statusCode, body: res.body ? safeJson(res.body) : undefined, headers: res.headers, raw: res.body };
    },
  });
  const newOrg = async (name = 'test org') => {
    const id = await createOrganization(db, name);
    return orgFor(id, await createApiKey(db, id));
  };
  return {
    app,
    ctx,
    db,
    org: await newOrg('org A'),
    newOrg,
    async close() {
      await app.close();
      await db.close();
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A trunk, a number on it whose outbound agent is a new voice agent: what a call needs. */
export async function callFixture(org: TestOrg, agentOverrides: Record<string, unknown> = {}, number = '+14155550100') {
  const trunk = await org.req('POST', '/v1/trunks', { name: 'main', host: 'sip.example.com' });
  const agent = await org.req('POST', '/v1/agents', { name: 'Caller', system_prompt: 'You confirm appointments.', greeting: 'Hello!', ...agentOverrides });
  const pn = await org.req('POST', '/v1/phone-numbers', { number, trunk_id: trunk.body.id, outbound_agent_id: agent.body.id });
  if (trunk.status !== 201 || agent.status !== 201 || pn.status !== 201) {
    throw new Error(`fixture failed: ${trunk.raw} ${agent.raw} ${pn.raw}`);
  }
  return { trunkId: trunk.body.id as string, agentId: agent.body.id as string, numberId: pn.body.id as string, number };
}
