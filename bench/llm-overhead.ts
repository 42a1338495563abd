// LLM client overhead: what the OpenAI-compatible client adds to a turn, measured against the local
// chat-completions server (test/helpers/openai-protocol-server.ts) answering instantly over loopback.
//
//   node --import tsx bench/llm-overhead.ts                 # 2000 turns, 30 text pieces each
//   node --import tsx bench/llm-overhead.ts --turns 5000 --pieces 100
//
// Per turn: time to the first text_delta and to done, minus the server's own time (request read ->
// first piece written, request read -> reply ended). What remains is the client's work plus the
// loopback HTTP round trip (connection reuse, request serialisation, SSE parsing, event objects).
// A baseline row does the same turns with bare fetch + reading the body, no SSE parsing, so the
// difference is the client's own parsing and bookkeeping.
import { OpenAiCompatibleLlm } from '../src/providers/llm/openai-compatible.js';
import { OpenAiProtocolServer, type RecordedRequest } from '../test/helpers/openai-protocol-server.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const turns = opt('--turns', 2000);
const pieces = opt('--pieces', 30);
const warmup = Math.min(200, turns);

const server = await OpenAiProtocolServer.start();
server.always({ kind: 'text', pieces: Array.from({ length: pieces }, (_, i) => `w${i} `) });
const llm = new OpenAiCompatibleLlm({ baseUrl: server.baseUrl, model: 'bench', apiKey: 'sk-bench' });
const messages = [
  { role: 'system' as const, content: 'You are a phone agent.' },
  { role: 'user' as const, content: 'Hello, who is this?' },
];

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

async function clientTurn(): Promise<{ first: number; done: number; req: RecordedRequest }> {
  const t0 = performance.now();
  let first = NaN;
  for await (const ev of llm.chat({ messages })) {
    if (ev.type === 'text_delta' && Number.isNaN(first)) first = performance.now() - t0;
  }
  const done = performance.now() - t0;
  return { first, done, req: server.requests.at(-1) as RecordedRequest };
}

async function rawTurn(): Promise<{ first: number; done: number; req: RecordedRequest }> {
  const t0 = performance.now();
  const res = await fetch(`${server.baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' },
    body: JSON.stringify({ model: 'bench', messages, stream: true }),
  });
  let first = NaN;
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) if (Number.isNaN(first)) first = performance.now() - t0;
  const done = performance.now() - t0;
  return { first, done, req: server.requests.at(-1) as RecordedRequest };
}

async function measure(label: string, turn: typeof clientTurn): Promise<void> {
  for (let i = 0; i < warmup; i++) await turn();
  const first: number[] = [];
  const done: number[] = [];
  const serverFirst: number[] = [];
  const serverAll: number[] = [];
  for (let i = 0; i < turns; i++) {
    const r = await turn();
    first.push(r.first - (r.req.firstContentMs ?? 0));
    done.push(r.done - (r.req.serverMs ?? 0));
    serverFirst.push(r.req.firstContentMs ?? NaN);
    serverAll.push(r.req.serverMs ?? NaN);
  }
  const f = (x: number) => x.toFixed(3).padStart(8);
  console.log(
    `${label.padEnd(22)} first-delta overhead p50 ${f(pct(first, 50))} p99 ${f(pct(first, 99))} ms | done overhead p50 ${f(pct(done, 50))} p99 ${f(pct(done, 99))} ms | server own p50 ${f(pct(serverFirst, 50))} / ${f(pct(serverAll, 50))} ms`,
  );
}

console.log(`node ${process.version}, ${turns} turns (+${warmup} warm-up), ${pieces} text pieces per turn, sequential, keep-alive`);
// Interleaved runs, so JIT warm-up and GC drift do not favour whichever goes second.
for (let round = 0; round < 2; round++) {
  await measure('bare fetch (baseline)', rawTurn);
  await measure('OpenAiCompatibleLlm', clientTurn);
}
await server.close();
