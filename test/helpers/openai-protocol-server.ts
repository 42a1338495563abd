/**
 * A local server speaking OpenAI's documented chat-completions streaming protocol
 * (POST /v1/chat/completions, `stream: true`): a `text/event-stream` of `data: {chunk}` events
 * ending with `data: [DONE]`. The first chunk carries the role, then content pieces, then a chunk
 * with finish_reason, then (with stream_options.include_usage) a chunk with empty choices and the
 * usage. Tool calls stream with id, type and function name in the call's first chunk and the
 * arguments split across later chunks, several calls told apart by `index`. Errors are
 * `{"error": {"message", "type", "param", "code"}}` with the HTTP status.
 *
 * Each test scripts the replies, in order, one per request; every request is recorded.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SUMMARY_SYSTEM_PROMPT } from '../../src/analysis/llm-summary.js';

export interface ScriptedToolCall {
  id: string;
  name: string;
  /** The arguments JSON text, cut in pieces as a model streams it. */
  argumentPieces: string[];
}

export type Reply =
  | { kind: 'text'; pieces: string[]; finishReason?: string; usage?: { prompt_tokens: number; completion_tokens: number } }
  | { kind: 'tool_calls'; calls: ScriptedToolCall[]; textBefore?: string[]; finishReason?: string }
  | { kind: 'error'; status: number; body?: unknown; headers?: Record<string, string> }
  /** Sends the pieces as content, then destroys the socket without finish_reason or [DONE]. */
  | { kind: 'drop'; pieces: string[] }
  /** Sends the response headers, then nothing, until the client goes away. */
  | { kind: 'hang' }
  /** Writes these strings to the body as they are (malformed streams, comments, odd line endings). */
  | { kind: 'raw'; chunks: string[] }
  /** Ignores stream: true and answers with one whole chat.completion JSON object. */
  | { kind: 'json'; content: string | null; toolCalls?: Array<{ id: string; name: string; arguments: string }>; finishReason?: string }
  /** Sends the pieces one per `every` ms and never ends (abort tests). */
  | { kind: 'endless'; every: number };

export interface ReplyTiming {
  /** Wait this long before sending anything, headers included (a slow first byte). */
  firstByteDelayMs?: number;
  /** Wait this long between chunks. */
  chunkDelayMs?: number;
  /** Wait this long after the last chunk ([DONE]) before ending the response. */
  endDelayMs?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  /** Resolves when the connection closed before the reply was complete (the client hung up). */
  closedEarly: Promise<void>;
  /** The client's socket port: equal across requests when a kept-alive connection is reused. */
  remotePort: number;
  /** From the request fully read to the reply ended: the server's own share of a turn (bench). */
  serverMs?: number;
  /** From the request fully read to the first content piece written (bench). */
  firstContentMs?: number;
}

const MODEL = 'gpt-4o-mini-2024-07-18';

export class OpenAiProtocolServer {
  readonly requests: RecordedRequest[] = [];
  /** With `answerSummaries`: the platform's post-call summary requests, kept out of `requests` and the script. */
  readonly summaryRequests: RecordedRequest[] = [];
  private answerSummaries = false;
  private readonly script: Array<{ reply: Reply; timing: ReplyTiming }> = [];
  private readonly summaryScript: Array<{ reply: Reply; timing: ReplyTiming }> = [];
  private fallback: { reply: Reply; timing: ReplyTiming } | undefined;
  private readonly server: Server;
  private seq = 0;

  private constructor() {
    this.server = createServer((req, res) => {
      this.serve(req, res).catch((err: unknown) => {
        res.destroy(err instanceof Error ? err : new Error(String(err)));
      });
    });
  }

  /**
   * `answerSummaries`: a live call's post-call summary (src/analysis, asked after the call ended,
   * possibly while the next test already scripted its replies) gets a fixed text reply (or the one
   * replySummary queued) and never takes a scripted one.
   */
  static async start(o: { answerSummaries?: boolean } = {}): Promise<OpenAiProtocolServer> {
    const s = new OpenAiProtocolServer();
    s.answerSummaries = o.answerSummaries === true;
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    return s;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  /** Queues the reply to the next request. */
  reply(reply: Reply, timing: ReplyTiming = {}): this {
    this.script.push({ reply, timing });
    return this;
  }

  /** With `answerSummaries`: the reply to the next summary request (then the fixed text again). */
  replySummary(reply: Reply, timing: ReplyTiming = {}): this {
    this.summaryScript.push({ reply, timing });
    return this;
  }

  /** The reply to every request once the queue is empty (benchmarks). */
  always(reply: Reply, timing: ReplyTiming = {}): this {
    this.fallback = { reply, timing };
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    const started = performance.now();
    let closedEarly!: () => void;
    const rec: RecordedRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>,
      closedEarly: new Promise<void>((resolve) => (closedEarly = resolve)),
      remotePort: req.socket.remotePort ?? 0,
    };
    const messages = rec.body.messages as Array<{ role?: string; content?: unknown }> | undefined;
    const isSummary = this.answerSummaries && messages?.[0]?.role === 'system' && messages[0].content === SUMMARY_SYSTEM_PROMPT;
    (isSummary ? this.summaryRequests : this.requests).push(rec);
    res.on('close', () => {
      if (!res.writableFinished) closedEarly();
    });
    const next = isSummary
      ? (this.summaryScript.shift() ?? { reply: { kind: 'text', pieces: ['The callee was called.'] } as Reply, timing: {} })
      : (this.script.shift() ?? this.fallback);
    if (!next) {
      sendError(res, 500, { error: { message: 'no scripted reply', type: 'server_error', param: null, code: null } });
      return;
    }
    const { reply, timing } = next;
    if (timing.firstByteDelayMs) await sleep(timing.firstByteDelayMs);
    if (res.destroyed) return;
    if (reply.kind === 'error') {
      sendError(res, reply.status, reply.body ?? { error: { message: 'error', type: null, param: null, code: null } }, reply.headers);
      return;
    }
    if (reply.kind === 'json') {
      const message = {
        role: 'assistant',
        content: reply.content,
        refusal: null,
        ...(reply.toolCalls ? { tool_calls: reply.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })) } : {}),
      };
      const body = {
        id: `chatcmpl-${++this.seq}`,
        object: 'chat.completion',
        created: 1_700_000_000,
        model: MODEL,
        choices: [{ index: 0, message, logprobs: null, finish_reason: reply.finishReason ?? (reply.toolCalls ? 'tool_calls' : 'stop') }],
        usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
      };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.flushHeaders();
    const id = `chatcmpl-${++this.seq}`;
    const includeUsage = (rec.body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
      `data: ${JSON.stringify({
        id,
        object: 'chat.completion.chunk',
        created: 1_700_000_000,
        model: MODEL,
        system_fingerprint: 'fp_local',
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
        ...(includeUsage ? { usage: null } : {}),
      })}\n\n`;
    const send = async (text: string) => {
      if (res.destroyed) return;
      res.write(text);
      if (timing.chunkDelayMs) await sleep(timing.chunkDelayMs);
    };
    switch (reply.kind) {
      case 'text':
        await send(chunk({ role: 'assistant', content: '', refusal: null }));
        for (const p of reply.pieces) {
          rec.firstContentMs ??= performance.now() - started;
          await send(chunk({ content: p }));
        }
        await send(chunk({}, reply.finishReason ?? 'stop'));
        if (includeUsage) {
          const usage = reply.usage ?? { prompt_tokens: 10, completion_tokens: reply.pieces.length };
          await send(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1_700_000_000, model: MODEL, choices: [], usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } })}\n\n`);
        }
        await send('data: [DONE]\n\n');
        break;
      case 'tool_calls': {
        await send(chunk({ role: 'assistant', content: reply.textBefore ? '' : null, refusal: null }));
        for (const p of reply.textBefore ?? []) await send(chunk({ content: p }));
        for (const [index, c] of reply.calls.entries()) {
          await send(chunk({ tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }] }));
          for (const a of c.argumentPieces) await send(chunk({ tool_calls: [{ index, function: { arguments: a } }] }));
        }
        await send(chunk({}, reply.finishReason ?? 'tool_calls'));
        await send('data: [DONE]\n\n');
        break;
      }
      case 'drop':
        await send(chunk({ role: 'assistant', content: '' }));
        for (const p of reply.pieces) await send(chunk({ content: p }));
        await sleep(5); // let the pieces leave before the reset
        res.socket?.resetAndDestroy();
        return;
      case 'hang':
        await new Promise<void>((resolve) => res.on('close', resolve));
        return;
      case 'raw':
        for (const c of reply.chunks) await send(c);
        break;
      case 'endless':
        await send(chunk({ role: 'assistant', content: '' }));
        for (let i = 0; !res.destroyed; i++) {
          res.write(chunk({ content: `word${i} ` }));
          await sleep(reply.every);
        }
        return;
    }
    if (timing.endDelayMs) await sleep(timing.endDelayMs);
    rec.serverMs = performance.now() - started;
    res.end();
  }
}

function sendError(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

/** Unref'd: a scripted delay still pending when a test ends must not hold the test process open. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
