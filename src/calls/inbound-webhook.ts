/**
 * The inbound webhook of a phone number (`inbound_webhook_url`): before an inbound call is answered,
 * the platform POSTs who is calling, signed like every webhook (the organization's secrets), and
 * the answer may personalise the call: `dynamic_variables` (the prompt's and greeting's
 * {{variables}}), `call_context`, `metadata` (echoed verbatim in the call's webhooks, as an outbound
 * call's) or `agent_id` (another voice agent of the organization answers). The caller hears
 * ringing meanwhile. No answer within the number's deadline, a non-2xx, or an answer that is not
 * such an object: the call goes on with the number's agent and its defaults, and why is kept with
 * the call's first event (a lookup must never cost the caller their call).
 */
import { randomUUID } from 'node:crypto';
import type { AppContext } from '../app-context.js';
import { METADATA_MAX_BYTES } from '../contract/call-defaults.js';
import { JsonScanError, uniqueMembers } from '../contract/json-scan.js';
import { OutcallError } from '../errors.js';
import { httpCall } from '../http-client/http-call.js';
import { signatureHeaders } from '../http-client/signing.js';
import { signingSecrets } from '../webhooks/secrets.js';

export const INBOUND_WEBHOOK_TIMEOUT_MS = 3000;
const MAX_ANSWER_BYTES = 64 * 1024;
/** As an outbound call's call_context (contract/call.ts). */
const CALL_CONTEXT_MAX_CHARS = 32_768;

export interface InboundQuestion {
  callId: string;
  orgId: string;
  from: string;
  callerName?: string | undefined;
  to: string;
  phoneNumberId: string;
  agentId: string;
}

/** What the answer sets on the call; every field optional. metadataJson: the answer's own text for it. */
export interface InboundAnswer {
  agentId?: string;
  dynamicVariables?: Record<string, string>;
  callContext?: string;
  metadataJson?: string;
}

export type InboundLookup = { ok: true; answer: InboundAnswer; ms: number } | { ok: false; error: string; ms: number };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The answer's fields, checked; a string saying what is wrong otherwise. */
export function parseInboundAnswer(body: string): InboundAnswer | string {
  if (body.trim() === '') return {};
  let value: unknown;
  let members: Map<string, string>;
  try {
    value = JSON.parse(body);
    if (!isObject(value)) return 'the answer is not a JSON object';
    members = uniqueMembers(body);
  } catch (err) {
    if (err instanceof JsonScanError && err.duplicate !== undefined) return `the answer gives "${err.duplicate}" twice`;
    return `the answer is not JSON: ${(err as Error).message}`;
  }
  const out: InboundAnswer = {};
  const { agent_id, dynamic_variables, call_context } = value;
  if (agent_id !== undefined && agent_id !== null) {
    if (typeof agent_id !== 'string' || agent_id === '' || agent_id.length > 64) return 'agent_id must be an agent id';
    out.agentId = agent_id;
  }
  if (dynamic_variables !== undefined && dynamic_variables !== null) {
    if (!isObject(dynamic_variables)) return 'dynamic_variables must be an object of strings';
    const vars: Record<string, string> = {};
    for (const [k, v] of Object.entries(dynamic_variables)) {
      if (typeof v !== 'string') return `dynamic_variables.${k} must be a string`;
      vars[k] = v;
    }
    out.dynamicVariables = vars;
  }
  if (call_context !== undefined && call_context !== null) {
    if (typeof call_context !== 'string' || call_context.length > CALL_CONTEXT_MAX_CHARS) return `call_context must be a string of at most ${CALL_CONTEXT_MAX_CHARS} characters`;
    out.callContext = call_context;
  }
  const metadata = members.get('metadata');
  if (metadata !== undefined && metadata !== 'null') {
    if (Buffer.byteLength(metadata, 'utf8') > METADATA_MAX_BYTES) return 'metadata is over 16 KB';
    out.metadataJson = metadata;
  }
  return out;
}

/** Asks the number's inbound webhook; never throws (a failure is the call's defaults). */
export async function askInboundWebhook(ctx: AppContext, url: string, timeoutMs: number, q: InboundQuestion): Promise<InboundLookup> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  try {
    const body = JSON.stringify({
      type: 'call.inbound',
      created_at: ctx.now().toISOString(),
      data: { call_id: q.callId, from: q.from, caller_name: q.callerName ?? null, to: q.to, phone_number_id: q.phoneNumberId, agent_id: q.agentId },
    });
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-outcall-call-id': q.callId,
      ...signatureHeaders(await signingSecrets(ctx, q.orgId), `inb_${randomUUID()}`, Math.floor(ctx.now().getTime() / 1000), body),
    };
    const controller = new AbortController();
    const answer = await httpCall({ url, method: 'POST' }, headers, body, { timeoutMs, allowPrivate: ctx.allowPrivateUrls, maxBytes: MAX_ANSWER_BYTES, signal: controller.signal });
    if (answer.status < 200 || answer.status > 299) return { ok: false, error: `the inbound webhook answered ${answer.status}`, ms: ms() };
    const parsed = parseInboundAnswer(answer.body);
    if (typeof parsed === 'string') return { ok: false, error: parsed, ms: ms() };
    return { ok: true, answer: parsed, ms: ms() };
  } catch (err) {
    // httpCall speaks of "the tool" (its first user); the call's record names what was asked.
    const timedOut = err instanceof OutcallError && err.code === 'tool_timeout';
    return { ok: false, error: timedOut ? `the inbound webhook did not answer within ${timeoutMs} ms` : `could not ask the inbound webhook: ${(err as Error).message}`, ms: ms() };
  }
}
