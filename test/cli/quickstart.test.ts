/**
 * The quickstart: the first start of `outcall serve` on embedded defaults places a real call from
 * the sandbox demo agent to the sandbox's human persona and shows it in the terminal: status changes,
 * both sides of the conversation, the result webhook payload, the dashboard address and the commands
 * for the next call. A second start places no call.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServe, waitExit } from '../helpers/cli.js';
import { toolAvailable } from '../helpers/require-tool.js';
import { waitFor } from '../helpers/wait.js';

const missing = ['espeak-ng', 'pocketsphinx_continuous'].filter((b) => !toolAvailable(b));
const skip = missing.length > 0 ? `${missing.join(', ')} not installed (scripts/setup-test-env.sh)` : false;
const dir = mkdtempSync(join(tmpdir(), 'outcall-quickstart-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('first start shows a completed sandbox call with both sides; the next start does not call again', { skip }, async () => {
  const first = await startServe({ OUTCALL_DATA_DIR: dir, OUTCALL_DEMO_CALL: '', OUTCALL_SANDBOX: '' });
  try {
    const out = await waitFor('the demo call result', async () => (/Place the next call/.test(first.output()) ? first.output() : undefined), 120_000);
    const lines = out.split('\n');
    const statuses = lines.map((l) => /^\s+\+[\d.]+s {2}(\w+)$/.exec(l)?.[1]).filter((s): s is string => s !== undefined);
    assert.deepEqual(statuses.filter((s) => s !== 'ringing'), ['queued', 'dispatching', 'dialing', 'in_progress', 'completed'], out);
    const agentLine = lines.findIndex((l) => /Agent : Hello, this is the Outcall demo/.test(l));
    // The persona's pickup "Hello?" may come before the greeting line (it is said over it); its answer comes after.
    const calleeLine = lines.findIndex((l, i) => i > agentLine && /Callee: \S+/.test(l));
    assert.ok(agentLine > 0 && calleeLine > agentLine, `the greeting, then the callee's words:\n${out}`);
    assert.ok(lines.slice(calleeLine + 1).some((l) => /Agent : \S+/.test(l)), 'the agent answered the callee');
    assert.match(out, /Result: completed {2}end_reason=agent_hangup {2}sip_status_code=200/);
    const payload = JSON.parse(/receive[^\n]*\n(\{[\s\S]*?\n\})\n/.exec(out)![1]!) as {
      type: string;
      data: { status: string; metadata: unknown; transcript_id: string | null; summary_text: string | null; summary_source: string | null };
    };
    assert.equal(payload.type, 'call.result');
    assert.ok(payload.data.summary_text && payload.data.summary_source, 'the printed result carries the summary, as the webhook does');
    assert.deepEqual(payload.data.metadata, { source: 'quickstart' });
    assert.ok(payload.data.transcript_id);
    assert.match(out, /Dashboard: http:\/\/127\.0\.0\.1:\d+\/dashboard\//);
    assert.match(out, /curl -X POST http:\/\/127\.0\.0\.1:\d+\/v1\/agents\/agt_\w+\/outbound-calls/);
  } finally {
    first.child.kill('SIGTERM');
    assert.equal(await waitExit(first.child), 0);
  }
  const second = await startServe({ OUTCALL_DATA_DIR: dir, OUTCALL_DEMO_CALL: '', OUTCALL_SANDBOX: '' });
  try {
    await new Promise((r) => setTimeout(r, 1500));
    assert.doesNotMatch(second.output(), /Demo call/);
  } finally {
    second.child.kill('SIGTERM');
    assert.equal(await waitExit(second.child), 0);
  }
});
