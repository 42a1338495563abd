/**
 * `outcall call <number> --agent <id>`: places a call and follows it live (dialing, ringing, each
 * turn as it is spoken, the result). Exit status: 0 when the call completed, 1 otherwise, so
 * scripts can tell.
 */
import { parseArgs } from 'node:util';
import { watchCall } from '../../sdk/client.js';
import { api, apiTarget, CliError } from './api.js';

export const CALL_HELP = `outcall call <+E164 number> --agent <agent_id> [options]

Places an outbound call with the agent and streams it until it ends.

Options:
  --agent <id>        the agent that calls (required)
  --context <text>    call_context: facts for this call only, added to the agent's prompt
  --var k=v           a dynamic variable for {{k}} in the prompt and greeting (repeatable)
  --meta <json>       metadata echoed verbatim in the call and its webhooks
  --callback <url>    result webhook URL for this call
  --max-duration <s>  hang up after this many seconds
  --record            record the call (GET /v1/calls/{id}/recording)
  --no-wait           print the call id and return at once
  --json              print JSON lines (each stream event, then the call) instead of text
  --url <url>         API address (default OUTCALL_URL or http://127.0.0.1:8080)
  --key <key>         API key (default OUTCALL_API_KEY)`;

export async function callCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      agent: { type: 'string' },
      context: { type: 'string' },
      var: { type: 'string', multiple: true },
      meta: { type: 'string' },
      callback: { type: 'string' },
      'max-duration': { type: 'string' },
      record: { type: 'boolean' },
      'no-wait': { type: 'boolean' },
      json: { type: 'boolean' },
      url: { type: 'string' },
      key: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(CALL_HELP);
    return 0;
  }
  const to = positionals[0];
  if (!to || !values.agent) throw new CliError(`${!to ? 'the number to call is missing' : '--agent is required'}\n\n${CALL_HELP}`, 2);
  const body: Record<string, unknown> = { to };
  if (values.context !== undefined) body.call_context = values.context;
  if (values.var) body.dynamic_variables = Object.fromEntries(values.var.map(splitVar));
  if (values.meta !== undefined) {
    try {
      body.metadata = JSON.parse(values.meta);
    } catch {
      throw new CliError(`--meta must be JSON, e.g. --meta '{"crm_id": 42}'`, 2);
    }
  }
  if (values.callback !== undefined) body.callback_url = values.callback;
  if (values['max-duration'] !== undefined) body.max_duration_s = Number(values['max-duration']);
  if (values.record) body.record = { enabled: true, channels: 'dual' };

  const target = apiTarget(values);
  const json = values.json === true;
  const call = await api<{ id: string; status: string }>(target, 'POST', `/v1/agents/${encodeURIComponent(values.agent)}/outbound-calls`, body);
  if (values['no-wait']) {
    console.log(json ? JSON.stringify(call) : call.id);
    return 0;
  }
  if (!json) console.log(`call ${call.id} placed to ${to}`);
  const t0 = Date.now();
  const at = () => `+${((Date.now() - t0) / 1000).toFixed(1)}s`.padStart(7);
  let final: { status: string } | undefined;
  for await (const e of watchCall(target, call.id)) {
    if (json) {
      console.log(JSON.stringify(e));
      if (e.event === 'end') final = e.data;
      continue;
    }
    switch (e.event) {
      case 'status':
        console.log(`${at()}  ${e.data.to_status}${describeData(e.data.data)}`);
        break;
      case 'ringing':
        console.log(`${at()}  ringing${e.data.early_media ? ' (early media)' : ''}`);
        break;
      case 'turn':
        console.log(`${at()}  ${e.data.speaker === 'agent' ? 'Agent ' : 'Callee'}: ${e.data.text}${e.data.interrupted ? '  [interrupted]' : ''}`);
        break;
      case 'end': {
        final = e.data;
        const c = e.data as Record<string, unknown>;
        console.log(`\nresult: ${c.status}  end_reason=${c.end_reason ?? '-'}  sip=${c.sip_status_code ?? '-'}  duration=${c.duration_s ?? '-'}s`);
        if (c.transcript_id) console.log(`transcript: outcall calls transcript ${call.id}`);
        break;
      }
      default:
        break;
    }
  }
  return final?.status === 'completed' ? 0 : 1;
}

function splitVar(kv: string): [string, string] {
  const i = kv.indexOf('=');
  if (i <= 0) throw new CliError(`--var takes name=value, got "${kv}"`, 2);
  return [kv.slice(0, i), kv.slice(i + 1)];
}

function describeData(data: Record<string, unknown> | undefined): string {
  if (!data) return '';
  const parts = Object.entries(data)
    .filter(([, v]) => v !== null && v !== undefined && typeof v !== 'object')
    .map(([k, v]) => `${k}=${String(v)}`);
  return parts.length > 0 ? `  (${parts.join(', ')})` : '';
}
