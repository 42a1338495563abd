/**
 * A local server speaking Anthropic's documented Messages API streaming protocol
 * (POST /v1/messages, `stream: true`; https://platform.claude.com/docs/en/build-with-claude/streaming):
 * `event: <type>` + `data: {"type": <type>, ...}` pairs: message_start, then per content block
 * content_block_start / content_block_delta (text_delta or input_json_delta) / content_block_stop,
 * then message_delta (stop_reason, usage) and message_stop, with `ping` events in between.
 * Errors are `{"type":"error","error":{"type","message"},"request_id"}` with the HTTP status
 * (https://platform.claude.com/docs/en/api/errors), or an `error` event after the 200.
 *
 * Like the real API it refuses what it would refuse: a missing x-api-key (401), a missing
 * anthropic-version, no model or max_tokens, turns that do not alternate or start with the
 * assistant, a tool_result not answering the previous turn's tool_use or placed after text, and
 * empty text blocks (400 invalid_request_error). Each test scripts the replies, one per request.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SUMMARY_SYSTEM_PROMPT } from '../../src/analysis/llm-summary.js';

export interface ScriptedToolUse {
  id: string;
  name: string;
  /** The input JSON text, cut in pieces as the model streams it (input_json_delta). */
  jsonPieces: string[];
}

export type AnthropicReply =
  | { kind: 'text'; pieces: string[]; stopReason?: string; usage?: { input_tokens: number; output_tokens: number; cache_read_input_tokens?: number; cache_creation_input_tokens?: number } }
  | { kind: 'tool_use'; calls: ScriptedToolUse[]; textBefore?: string[] }
  | { kind: 'error'; status: number; errorType?: string; message?: string; body?: string; headers?: Record<string, string> }
  /** Text pieces, then an `error` event in the 200 stream (e.g. overloaded_error). */
  | { kind: 'error_event'; pieces: string[]; errorType: string; message: string }
  /** Text pieces, then the socket is destroyed without message_delta or message_stop. */
  | { kind: 'drop'; pieces: string[] }
  /** Headers, then nothing until the client goes away. */
  | { kind: 'hang' }
  /** These strings written to the body as they are. */
  | { kind: 'raw'; chunks: string[] }
  /** A text block that never ends, one piece per `every` ms (abort tests). */
  | { kind: 'endless'; every: number };

export interface ReplyTiming {
  firstByteDelayMs?: number;
  chunkDelayMs?: number;
  endDelayMs?: number;
}

export interface RecordedRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  closedEarly: Promise<void>;
  /** Why the server refused the request as the real API would (undefined when it was valid). */
  invalid?: string;
}

const MODEL = 'claude-haiku-4-5-20251001';

export class AnthropicProtocolServer {
  readonly requests: RecordedRequest[] = [];
  /** With `answerSummaries`: the platform's post-call summary requests, kept out of `requests` and the script. */
  readonly summaryRequests: RecordedRequest[] = [];
  private answerSummaries = false;
  private readonly script: Array<{ reply: AnthropicReply; timing: ReplyTiming }> = [];
  private readonly server: Server;
  private seq = 0;

  private constructor() {
    this.server = createServer((req, res) => {
      this.serve(req, res).catch((err: unknown) => res.destroy(err instanceof Error ? err : new Error(String(err))));
    });
  }

  /**
   * `answerSummaries`: a live call's post-call summary (src/analysis asks the agent's first model
   * after the call ended, possibly while the next test already scripted its replies) gets a fixed
   * text reply and never takes a scripted one.
   */
  static async start(o: { answerSummaries?: boolean } = {}): Promise<AnthropicProtocolServer> {
    const s = new AnthropicProtocolServer();
    s.answerSummaries = o.answerSummaries === true;
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    return s;
  }

  /** Without /v1: the client appends /v1/messages, as with https://api.anthropic.com */
  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  reply(reply: AnthropicReply, timing: ReplyTiming = {}): this {
    this.script.push({ reply, timing });
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    let closedEarly!: () => void;
    let body: Record<string, unknown> = {};
    let parseError: string | undefined;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      parseError = 'request body is not valid JSON';
    }
    const rec: RecordedRequest = { path: req.url ?? '', headers: req.headers, body, closedEarly: new Promise<void>((resolve) => (closedEarly = resolve)) };
    const isSummary = this.answerSummaries && systemText(body.system).startsWith(SUMMARY_SYSTEM_PROMPT);
    (isSummary ? this.summaryRequests : this.requests).push(rec);
    res.on('close', () => {
      if (!res.writableFinished) closedEarly();
    });
    if (req.method !== 'POST' || req.url !== '/v1/messages') return sendError(res, 404, 'not_found_error', `${req.method} ${req.url} not found`);
    if (typeof req.headers['x-api-key'] !== 'string' || req.headers['x-api-key'] === '') {
      return sendError(res, 401, 'authentication_error', 'x-api-key header is required');
    }
    rec.invalid = parseError ?? validate(req.headers, body);
    if (rec.invalid) return sendError(res, 400, 'invalid_request_error', rec.invalid);
    const next = isSummary ? { reply: { kind: 'text', pieces: ['The callee was called.'] } as AnthropicReply, timing: {} } : this.script.shift();
    if (!next) return sendError(res, 500, 'api_error', 'no scripted reply');
    const { reply, timing } = next;
    if (timing.firstByteDelayMs) await sleep(timing.firstByteDelayMs);
    if (res.destroyed) return;
    if (reply.kind === 'error') {
      if (reply.body !== undefined) {
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
        res.end(reply.body);
        return;
      }
      return sendError(res, reply.status, reply.errorType ?? 'api_error', reply.message ?? 'error', reply.headers);
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': `req_${this.seq}` });
    res.flushHeaders();
    const send = async (type: string, data: Record<string, unknown>) => {
      if (res.destroyed) return;
      res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
      if (timing.chunkDelayMs) await sleep(timing.chunkDelayMs);
    };
    const usage = reply.kind === 'text' ? reply.usage : undefined;
    const start = async () => {
      const message = { id: `msg_${++this.seq}`, type: 'message', role: 'assistant', content: [], model: MODEL, stop_reason: null, stop_sequence: null };
      const u = { input_tokens: usage?.input_tokens ?? 12, cache_creation_input_tokens: usage?.cache_creation_input_tokens ?? 0, cache_read_input_tokens: usage?.cache_read_input_tokens ?? 0, output_tokens: 1 };
      await send('message_start', { message: { ...message, usage: u } });
    };
    const textBlock = async (index: number, pieces: string[]) => {
      await send('content_block_start', { index, content_block: { type: 'text', text: '' } });
      await send('ping', {});
      for (const p of pieces) await send('content_block_delta', { index, delta: { type: 'text_delta', text: p } });
    };
    const finish = async (stopReason: string, outputTokens: number) => {
      await send('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: outputTokens } });
      await send('message_stop', {});
    };
    switch (reply.kind) {
      case 'text':
        await start();
        await textBlock(0, reply.pieces);
        await send('content_block_stop', { index: 0 });
        await finish(reply.stopReason ?? 'end_turn', usage?.output_tokens ?? reply.pieces.length);
        break;
      case 'tool_use': {
        await start();
        let index = 0;
        if (reply.textBefore) {
          await textBlock(index, reply.textBefore);
          await send('content_block_stop', { index: index++ });
        }
        for (const c of reply.calls) {
          await send('content_block_start', { index, content_block: { type: 'tool_use', id: c.id, name: c.name, input: {} } });
          for (const j of c.jsonPieces) await send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: j } });
          await send('content_block_stop', { index: index++ });
        }
        await finish('tool_use', 20);
        break;
      }
      case 'error_event':
        await start();
        await textBlock(0, reply.pieces);
        await send('error', { error: { type: reply.errorType, message: reply.message } });
        break;
      case 'drop':
        await start();
        await textBlock(0, reply.pieces);
        await sleep(5); // let the pieces leave before the reset
        res.socket?.resetAndDestroy();
        return;
      case 'hang':
        await new Promise<void>((resolve) => res.on('close', resolve));
        return;
      case 'raw':
        for (const c of reply.chunks) {
          if (!res.destroyed) res.write(c);
          if (timing.chunkDelayMs) await sleep(timing.chunkDelayMs);
        }
        break;
      case 'endless':
        await start();
        await send('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
        for (let i = 0; !res.destroyed; i++) {
          res.write(`event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: `word${i} ` } })}\n\n`);
          await sleep(reply.every);
        }
        return;
    }
    if (timing.endDelayMs) await sleep(timing.endDelayMs);
    res.end();
  }
}

/** The request's top-level system prompt as text (a string, or text blocks joined). */
function systemText(system: unknown): string {
  if (typeof system === 'string') return system;
  if (!Array.isArray(system)) return '';
  return (system as Array<{ text?: unknown }>).map((b) => (typeof b.text === 'string' ? b.text : '')).join('\n');
}

type Block = { type?: unknown; text?: unknown; id?: unknown; tool_use_id?: unknown };

/** The request rules the real API enforces (400 invalid_request_error), as far as these tests touch them. */
function validate(headers: IncomingMessage['headers'], body: Record<string, unknown>): string | undefined {
  if (headers['anthropic-version'] !== '2023-06-01') return 'anthropic-version header must be 2023-06-01';
  if (!String(headers['content-type']).startsWith('application/json')) return 'content-type must be application/json';
  if (typeof body.model !== 'string' || body.model === '') return 'model: Field required';
  if (!Number.isInteger(body.max_tokens) || (body.max_tokens as number) < 1) return 'max_tokens: Field required';
  if (body.stream !== true) return 'this server only streams';
  if (body.system !== undefined && !Array.isArray(body.system) && typeof body.system !== 'string') return 'system: must be a string or text blocks';
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) return 'messages: at least one message is required';
  let prevToolUses: string[] = [];
  for (const [i, m] of (messages as Array<{ role?: unknown; content?: unknown }>).entries()) {
    if (m.role !== 'user' && m.role !== 'assistant') return `messages.${i}.role: must be user or assistant`;
    if (i === 0 && m.role !== 'user') return 'messages: first message must use the "user" role';
    if (i > 0 && (messages as Array<{ role: string }>)[i - 1]?.role === m.role) return 'messages: roles must alternate between "user" and "assistant"';
    const blocks: Block[] = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : Array.isArray(m.content) ? (m.content as Block[]) : [];
    if (blocks.length === 0) return `messages.${i}: content must be non-empty`;
    for (const b of blocks) if (b.type === 'text' && (typeof b.text !== 'string' || b.text === '')) return `messages.${i}: text content blocks must be non-empty`;
    if (m.role === 'user') {
      const results = blocks.filter((b) => b.type === 'tool_result').map((b) => String(b.tool_use_id));
      const firstOther = blocks.findIndex((b) => b.type !== 'tool_result');
      if (firstOther !== -1 && blocks.slice(firstOther).some((b) => b.type === 'tool_result')) return `messages.${i}: tool_result blocks must come first`;
      const missing = prevToolUses.filter((id) => !results.includes(id));
      if (missing.length > 0) return `messages.${i}: tool_use ids were found without tool_result blocks immediately after: ${missing.join(', ')}`;
      const unknown = results.filter((id) => !prevToolUses.includes(id));
      if (unknown.length > 0) return `messages.${i}: unexpected tool_use_id found in tool_result blocks: ${unknown.join(', ')}`;
      prevToolUses = [];
    } else {
      prevToolUses = blocks.filter((b) => b.type === 'tool_use').map((b) => String(b.id));
    }
  }
  for (const t of (body.tools as Array<Record<string, unknown>> | undefined) ?? []) {
    if (typeof t.name !== 'string' || typeof t.input_schema !== 'object') return 'tools: each tool needs name and input_schema';
  }
  return undefined;
}

function sendError(res: ServerResponse, status: number, type: string, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': 'req_err', ...headers });
  res.end(JSON.stringify({ type: 'error', error: { type, message }, request_id: 'req_err' }));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
