/**
 * An agent's http tool: the call's facts and the arguments go to the customer's URL, signed like the
 * result webhooks (Standard Webhooks headers, every valid org secret), so one verifyWebhook() checks
 * both. The answer (JSON, else text) is the tool result the flow branches on or the model reads.
 *
 * POST sends {call_id, agent_id, tool, arguments, metadata}. GET puts the arguments in the query
 * (strings as they are, other values as JSON) and signs an empty body: the query is not covered by
 * the signature, so POST is the one to use for anything that matters.
 */
import { randomUUID } from 'node:crypto';
import type { Tool } from '../../../contract/agent.js';
import { OutcallError } from '../../../errors.js';
import { signatureHeaders } from '../../../http-client/signing.js';
import { httpCall } from '../../../http-client/http-call.js';
import { RawJson, stringifyJson } from '../../../contract/raw-json.js';
import type { ToolCallContext } from './types.js';

export const DEFAULT_TOOL_TIMEOUT_MS = 5000;
export const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export async function runHttpTool(
  tool: Tool & { name: string },
  args: unknown,
  ctx: ToolCallContext,
  o: { signal: AbortSignal; now: () => number; maxResponseBytes?: number },
): Promise<unknown> {
  if (!tool.url) throw new OutcallError('tool_url_refused', `http tool "${tool.name}" has no url`);
  const method = tool.method ?? 'POST';
  let url = tool.url;
  let body: string | undefined;
  if (method === 'GET') {
    if (args !== undefined && args !== null && !isObject(args)) throw new OutcallError('tool_bad_arguments', 'GET tool arguments must be an object');
    const u = new URL(url);
    for (const [k, v] of Object.entries(args ?? {})) u.searchParams.append(k, typeof v === 'string' ? v : JSON.stringify(v));
    url = u.toString();
  } else {
    // The metadata as the client sent it (big numbers, escapes), like the call object and webhooks.
    const metadata = typeof ctx.metadataJson === 'string' ? new RawJson(ctx.metadataJson) : (ctx.metadata ?? null);
    body = stringifyJson({ call_id: ctx.callId, agent_id: ctx.agentId, tool: tool.name, arguments: args ?? {}, metadata });
  }
  const headers: Record<string, string> = {
    accept: 'application/json, text/plain;q=0.9',
    'x-outcall-call-id': ctx.callId,
    'x-outcall-agent-id': ctx.agentId,
    ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
  };
  if (ctx.signingSecrets.length > 0) {
    Object.assign(headers, signatureHeaders(ctx.signingSecrets, `tool_${randomUUID()}`, Math.floor(o.now() / 1000), body ?? ''));
  }
  const answer = await httpCall({ url, method }, headers, body, {
    timeoutMs: tool.timeout_ms ?? DEFAULT_TOOL_TIMEOUT_MS,
    allowPrivate: ctx.allowPrivateUrls,
    maxBytes: o.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
    signal: o.signal,
  });
  if (answer.status < 200 || answer.status >= 300) {
    const excerpt = answer.body.slice(0, 200).trim();
    throw new OutcallError('tool_http_error', `the tool answered HTTP ${answer.status}${excerpt ? `: ${excerpt}` : ''}`);
  }
  return parseAnswer(answer.body, answer.contentType);
}

/** JSON when it parses (a JSON content type or a body that looks like JSON), else the text; null when empty. */
function parseAnswer(body: string, contentType: string): unknown {
  const text = body.trim();
  if (text === '') return null;
  if (/\bjson\b/i.test(contentType) || /^[[{"]/.test(text)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // Not JSON after all: the model can still read text.
    }
  }
  return text;
}
