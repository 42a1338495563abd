/**
 * Everyday tasks from the terminal: `outcall <agents|trunks|numbers|calls|keys|webhooks> <action>`.
 * Each maps onto the public API, so anything done here can be scripted against the API too.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { watchCall } from '../../sdk/client.js';
import { api, apiTarget, CliError, type ApiTarget } from './api.js';
import { print, table } from './render.js';

interface Ctx {
  target: ApiTarget;
  json: boolean;
  args: string[];
  flags: Record<string, string | boolean | string[] | undefined>;
}

type Action = (c: Ctx) => Promise<number>;

interface Resource {
  help: string;
  actions: Record<string, Action>;
}

const q = (params: Record<string, string | undefined>) => {
  const s = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined)).toString();
  return s ? `?${s}` : '';
};
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

function need(c: Ctx, what: string): string {
  const v = c.args[0];
  if (!v) throw new CliError(`${what} is missing`, 2);
  return v;
}

/** A JSON body from --data '<json>', --file <path> or --file - (stdin). */
function bodyOf(c: Ctx): unknown {
  const data = str(c.flags.data);
  const file = str(c.flags.file);
  const text = data ?? (file === '-' ? readFileSync(0, 'utf8') : file ? readFileSync(file, 'utf8') : undefined);
  if (text === undefined) throw new CliError('give the object as --data \'{"name": ...}\' or --file <path.json> (--file - reads stdin)', 2);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(`the body is not valid JSON: ${(err as Error).message}`, 2);
  }
}

/** list/get/create/update/delete over one /v1 collection. */
function crud(path: string, columns: string[], noun: string): Record<string, Action> {
  return {
    list: async (c) => {
      const r = await api<{ data: Record<string, unknown>[] }>(c.target, 'GET', `${path}${q({ limit: str(c.flags.limit) })}`);
      print(r, c.json, () => table(r.data, columns));
      return 0;
    },
    get: async (c) => {
      const r = await api(c.target, 'GET', `${path}/${encodeURIComponent(need(c, `the ${noun} id`))}`);
      print(r, true, () => '');
      return 0;
    },
    create: async (c) => {
      const r = await api<Record<string, unknown>>(c.target, 'POST', path, bodyOf(c));
      print(r, c.json, () => `created ${noun} ${String(r.id)}`);
      return 0;
    },
    update: async (c) => {
      const id = need(c, `the ${noun} id`);
      const r = await api<Record<string, unknown>>(c.target, 'PATCH', `${path}/${encodeURIComponent(id)}`, bodyOf(c));
      print(r, c.json, () => `updated ${noun} ${String(r.id)}`);
      return 0;
    },
    delete: async (c) => {
      const id = need(c, `the ${noun} id`);
      await api(c.target, 'DELETE', `${path}/${encodeURIComponent(id)}`);
      print({ deleted: id }, c.json, () => `deleted ${noun} ${id}`);
      return 0;
    },
  };
}

const CRUD_HELP = (noun: string, plural: string) => `outcall ${plural} <list|get <id>|create|update <id>|delete <id>>
  create/update take the ${noun} as --data '<json>' or --file <path.json> (--file - reads stdin); see the API reference (/openapi.json)`;

export const RESOURCES: Record<string, Resource> = {
  agents: { help: CRUD_HELP('agent', 'agents'), actions: crud('/v1/agents', ['id', 'name', 'language', 'max_cps', 'created_at'], 'agent') },
  trunks: { help: CRUD_HELP('trunk', 'trunks'), actions: crud('/v1/trunks', ['id', 'name', 'host', 'port', 'transport'], 'trunk') },
  numbers: {
    help: CRUD_HELP('phone number', 'numbers'),
    actions: crud('/v1/phone-numbers', ['id', 'number', 'trunk_id', 'outbound_agent_id'], 'phone number'),
  },
  calls: {
    help: `outcall calls <action>
  list [--agent <id>] [--status <status>] [--limit n] calls, newest first
  get <call_id>                                       the call object
  events <call_id>                                    its status transitions
  transcript <call_id>                                what was said, in order
  watch <call_id>                                     follow it live until it ends
  cancel <call_id>                                    cancel (queued, ringing or in progress)`,
    actions: {
      list: async (c) => {
        const r = await api<{ data: Record<string, unknown>[] }>(
          c.target,
          'GET',
          `/v1/calls${q({ agent_id: str(c.flags.agent), status: str(c.flags.status), limit: str(c.flags.limit) })}`,
        );
        print(r, c.json, () => table(r.data, ['id', 'to', 'status', 'end_reason', 'created_at']));
        return 0;
      },
      get: async (c) => {
        print(await api(c.target, 'GET', `/v1/calls/${encodeURIComponent(need(c, 'the call id'))}`), true, () => '');
        return 0;
      },
      events: async (c) => {
        const r = await api<{ data: Record<string, unknown>[] }>(c.target, 'GET', `/v1/calls/${encodeURIComponent(need(c, 'the call id'))}/events`);
        print(r, c.json, () => table(r.data, ['id', 'from_status', 'to_status', 'at']));
        return 0;
      },
      transcript: async (c) => {
        const call = await api<{ transcript_id: string | null }>(c.target, 'GET', `/v1/calls/${encodeURIComponent(need(c, 'the call id'))}`);
        if (!call.transcript_id) throw new CliError('this call has no transcript (yet)');
        const tr = await api<{ turns: Array<{ speaker: string; text: string; interrupted?: boolean; startMs?: number }> }>(
          c.target,
          'GET',
          `/v1/transcripts/${encodeURIComponent(call.transcript_id)}`,
        );
        print(tr, c.json, () =>
          tr.turns
            .map((t) => `${(((t.startMs ?? 0) / 1000).toFixed(1) + 's').padStart(7)}  ${t.speaker === 'agent' ? 'Agent ' : 'Callee'}: ${t.text}${t.interrupted ? '  [interrupted]' : ''}`)
            .join('\n') || '(no turns)',
        );
        return 0;
      },
      watch: async (c) => {
        const id = need(c, 'the call id');
        let status = '';
        for await (const e of watchCall(c.target, id)) {
          if (c.json) console.log(JSON.stringify(e));
          else if (e.event === 'status') console.log(`${e.data.at}  ${e.data.to_status}`);
          else if (e.event === 'turn') console.log(`${e.data.speaker === 'agent' ? 'Agent ' : 'Callee'}: ${e.data.text}`);
          if (e.event === 'end') {
            status = e.data.status;
            if (!c.json) console.log(`result: ${e.data.status} (${e.data.end_reason ?? '-'})`);
          }
        }
        return status === 'completed' ? 0 : 1;
      },
      cancel: async (c) => {
        const id = need(c, 'the call id');
        const call = await api<{ agent_id: string }>(c.target, 'GET', `/v1/calls/${encodeURIComponent(id)}`);
        const r = await api<Record<string, unknown>>(c.target, 'POST', `/v1/agents/${encodeURIComponent(call.agent_id)}/outbound-calls/${encodeURIComponent(id)}/cancel`);
        print(r, c.json, () => `cancel requested for ${id} (status ${String(r.status)})`);
        return 0;
      },
    },
  },
  keys: {
    help: `outcall keys <list | create --name <name> | revoke <key_id>>`,
    actions: {
      list: async (c) => {
        const r = await api<{ data: Record<string, unknown>[] }>(c.target, 'GET', '/v1/api-keys');
        print(r, c.json, () => table(r.data, ['id', 'name', 'prefix', 'created_at', 'revoked_at']));
        return 0;
      },
      create: async (c) => {
        const name = str(c.flags.name);
        if (!name) throw new CliError('keys create needs --name <name>', 2);
        const r = await api<{ id: string; key: string }>(c.target, 'POST', '/v1/api-keys', { name });
        print(r, c.json, () => `created key ${r.id} (shown once, stored hashed):\n\n  ${r.key}\n`);
        return 0;
      },
      revoke: async (c) => {
        const id = need(c, 'the key id');
        await api(c.target, 'DELETE', `/v1/api-keys/${encodeURIComponent(id)}`);
        print({ revoked: id }, c.json, () => `revoked ${id}`);
        return 0;
      },
    },
  },
  webhooks: {
    help: `outcall webhooks <action>
  deliveries [--call <call_id>] [--status <status>]   webhook deliveries, newest first
  redeliver <delivery_id>                             send one again
  secrets                                             the signing secrets (whsec_...)
  rotate                                              a new signing secret (the old one keeps working for a while)`,
    actions: {
      deliveries: async (c) => {
        const r = await api<{ data: Record<string, unknown>[] }>(
          c.target,
          'GET',
          `/v1/webhook-deliveries${q({ call_id: str(c.flags.call), status: str(c.flags.status), limit: str(c.flags.limit) })}`,
        );
        print(r, c.json, () => table(r.data, ['id', 'call_id', 'type', 'status', 'attempts', 'last_status_code', 'created_at']));
        return 0;
      },
      redeliver: async (c) => {
        const id = need(c, 'the delivery id');
        const r = await api<Record<string, unknown>>(c.target, 'POST', `/v1/webhook-deliveries/${encodeURIComponent(id)}/redeliver`);
        print(r, c.json, () => `redelivery queued: ${String(r.id ?? id)}`);
        return 0;
      },
      secrets: async (c) => {
        const r = await api<{ data: Record<string, unknown>[] }>(c.target, 'GET', '/v1/webhook-secrets');
        print(r, c.json, () => table(r.data, ['id', 'secret', 'created_at', 'expires_at']));
        return 0;
      },
      rotate: async (c) => {
        const r = await api<Record<string, unknown>>(c.target, 'POST', '/v1/webhook-secrets/rotate');
        print(r, c.json, () => `new signing secret ${String(r.secret)}`);
        return 0;
      },
    },
  },
};

export async function resourceCommand(name: string, argv: string[]): Promise<number> {
  const resource = RESOURCES[name];
  if (!resource) throw new CliError(`unknown command "${name}"`, 2);
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      url: { type: 'string' },
      key: { type: 'string' },
      data: { type: 'string' },
      file: { type: 'string' },
      agent: { type: 'string' },
      status: { type: 'string' },
      limit: { type: 'string' },
      call: { type: 'string' },
      name: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [actionName, ...args] = positionals;
  if (values.help || !actionName || actionName === 'help') {
    console.log(resource.help);
    return values.help || actionName === 'help' ? 0 : 2;
  }
  const action = resource.actions[actionName];
  if (!action) throw new CliError(`unknown action "${actionName}" for ${name}\n\n${resource.help}`, 2);
  return action({ target: apiTarget(values), json: values.json === true, args, flags: values });
}
