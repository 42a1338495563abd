/**
 * The quickstart's first call: on the first start of the embedded mode, `outcall serve` places a
 * call from the sandbox demo agent to the sandbox's human persona and shows it in the terminal as it
 * happens (status changes, each line of the conversation), then the result webhook's payload, the
 * dashboard address and ready-to-paste commands for the next call.
 */
import { spawnSync } from 'node:child_process';
import { relative } from 'node:path';
import type { AppContext } from '../app-context.js';
import { CallActivityHub } from '../calls/activity-hub.js';
import { watchCallActivity, type CallWatchItem } from '../calls/call-watch.js';
import { createOutboundCall } from '../calls/create-call.js';
import { getCall } from '../calls/call-queries.js';
import { sql } from '../store/sql.js';
import type { CallRow } from '../calls/call-object.js';
import { resultData } from '../calls/outbox.js';
import { demoTtsProvider } from '../sandbox/seed.js';

/** How long the printed result waits for the call's summary (the result webhook itself waits up to 15 s). */
const SUMMARY_WAIT_MS = 15_000;

export interface DemoCallOptions {
  orgId: string;
  agentId: string;
  to: string;
  /** The API's address, for the printed commands. */
  address: string;
  /** The key to put in the printed commands (first start only; otherwise $OUTCALL_API_KEY). */
  apiKey?: string;
  out?: (line: string) => void;
  /** Give up watching after this long (the call itself is bounded by its own limits). */
  timeoutMs?: number;
  /** The TTS provider the demo speaks with (default: the demo agent's, demoTtsProvider()). */
  tts?: string;
}

/** Whether this start should place the demo call: the first start (the demo agent was just made) or OUTCALL_DEMO_CALL=1; never with OUTCALL_DEMO_CALL=0. */
export function wantDemoCall(firstStart: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OUTCALL_DEMO_CALL === '0') return false;
  return firstStart || env.OUTCALL_DEMO_CALL === '1';
}

/**
 * The programs the demo's voices need on this machine (Debian packages), by the TTS provider the
 * demo agent and the sandbox personas speak with. A voice from npm (flite-wasm: WASM, in-process)
 * needs none. Hearing needs none either: without Debian's pocketsphinx, the sandbox and a flow
 * agent hear with soundswallower from npm (src/providers/stt/local-default.ts), so the demo runs on a
 * machine where only `npm ci` was run. This is the one place that knows which voice the demo uses.
 */
export function demoVoiceNeeds(tts: string = demoTtsProvider()): Array<{ bin: string; pkg: string }> {
  if (tts === 'espeak-ng') return [{ bin: 'espeak-ng', pkg: 'espeak-ng' }];
  if (tts === 'flite') return [{ bin: 'flite', pkg: 'flite' }];
  return [];
}

/** The demo's speech programs that are not installed (their Debian packages), so it can say so instead of failing a call. */
export function missingDemoEngines(tts?: string): string[] {
  return demoVoiceNeeds(tts)
    .filter((e) => spawnSync('/bin/sh', ['-c', `command -v ${e.bin}`]).status !== 0)
    .map((e) => e.pkg);
}

export async function runDemoCall(ctx: AppContext, o: DemoCallOptions): Promise<{ callId: string; status: string } | undefined> {
  const out = o.out ?? ((l: string) => console.log(l));
  const tts = o.tts ?? demoTtsProvider();
  const missing = missingDemoEngines(tts);
  if (missing.length > 0) {
    out(`No demo call: the demo's voice (${tts}) needs ${missing.join(', ')}, which this machine lacks.`);
    out(`Install it (Debian/Ubuntu): sudo apt-get install ${missing.join(' ')}   then start again with OUTCALL_DEMO_CALL=1\n`);
    return undefined;
  }
  const { call } = await createOutboundCall(
    ctx,
    o.orgId,
    o.agentId,
    { to: o.to, metadata: { source: 'quickstart' }, record: { enabled: true, channels: 'dual' }, max_duration_s: 120 },
    undefined,
  );
  out(`Demo call ${call.id}: the sandbox agent calls the sandbox's human persona at ${o.to} (real SIP and RTP on 127.0.0.1)\n`);
  const t0 = Date.now();
  const stamp = () => `+${((Date.now() - t0) / 1000).toFixed(1)}s`.padStart(7);
  const hub = new CallActivityHub(ctx.db);
  try {
    const ended = await new Promise<CallWatchItem & { kind: 'end' }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the demo call did not end in time')), o.timeoutMs ?? 180_000);
      void watchCallActivity(ctx, hub, o.orgId, call.id, 0, (item) => {
        switch (item.kind) {
          case 'status':
            out(`${stamp()}  ${item.event.to_status}`);
            return;
          case 'ringing':
            out(`${stamp()}  ringing`);
            return;
          case 'turn':
            out(`${stamp()}  ${item.turn.speaker === 'agent' ? 'Agent ' : 'Callee'}: ${item.turn.text.trim()}${item.turn.interrupted ? '  [interrupted]' : ''}`);
            return;
          case 'latency':
            return;
          case 'end':
            clearTimeout(timer);
            resolve(item);
            return;
          case 'error':
            clearTimeout(timer);
            reject(item.error instanceof Error ? item.error : new Error(String(item.error)));
        }
      }).catch(reject);
    });
    const c = ended.call;
    out(`\nResult: ${c.status}  end_reason=${c.end_reason ?? '-'}  sip_status_code=${c.sip_status_code ?? '-'}  duration=${c.duration_s ?? '-'}s`);
    // The result webhook goes with the call's summary (made just after the end): show it as it will be sent.
    const readRow = async () => (await ctx.db.query<CallRow>(sql`select * from calls where org_id = ${o.orgId} and id = ${call.id}`)).rows[0];
    let row = await readRow();
    for (const until = Date.now() + SUMMARY_WAIT_MS; row && row.transcript_id !== null && row.analyzed_at === null && Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 200));
      row = await readRow();
    }
    if (row) {
      out('\nThe result webhook a callback_url would receive (signed with your whsec_ secret; see the README, "Webhooks"):');
      out(JSON.stringify({ type: 'call.result', created_at: c.ended_at, data: resultData(row) }, null, 2));
    }
    const key = o.apiKey ?? '$OUTCALL_API_KEY';
    out(`\nDashboard: ${o.address}/dashboard/`);
    const cli = cliCommand();
    out(`Transcript: OUTCALL_URL=${o.address} OUTCALL_API_KEY=${key} ${cli} calls transcript ${call.id}`);
    out('\nPlace the next call (paste):');
    out(`  curl -X POST ${o.address}/v1/agents/${o.agentId}/outbound-calls \\`);
    out(`    -H "Authorization: Bearer ${key}" -H 'Content-Type: application/json' \\`);
    out(`    -d '{"to": "${o.to}", "metadata": {"try": 2}}'`);
    out(`  or: OUTCALL_URL=${o.address} OUTCALL_API_KEY=${key} ${cli} call ${o.to} --agent ${o.agentId}\n`);
    return { callId: call.id, status: (await getCall(ctx, o.orgId, call.id)).status };
  } finally {
    await hub.stop();
  }
}

/** How this very program was started, so the printed commands work from the same folder. */
function cliCommand(): string {
  const script = process.argv[1] ? relative(process.cwd(), process.argv[1]) : 'dist/cli/main.js';
  return script.endsWith('.ts') ? `node --import tsx ${script}` : `node ${script}`;
}
