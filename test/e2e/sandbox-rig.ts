/**
 * What the sandbox's live tests share: a test app, the sandbox on its own RTP ports, the seed in the
 * test organisation, a call plane on the next RTP range, and placing a call that waits for its end.
 */
import assert from 'node:assert/strict';
import { startSandbox, seedSandbox, type Sandbox, type SandboxOptions, type SandboxSeed } from '../../src/sandbox/index.js';
import type { CallPlane } from '../../src/worker/control/call-plane.js';
import { startTestCallPlane } from '../helpers/test-call-plane.js';
import { toolAvailable } from '../helpers/require-tool.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

const missing = ['espeak-ng', 'pocketsphinx_continuous'].filter((b) => !toolAvailable(b));
/** Why the sandbox's live tests cannot run here (CI=true fails instead, in toolAvailable). */
export const sandboxSkip = missing.length > 0 ? `${missing.join(', ')} not installed (scripts/setup-test-env.sh)` : false;
const TERMINAL = ['completed', 'failed', 'busy', 'no_answer', 'canceled'];

export interface SandboxRig {
  t: TestApp;
  sandbox: Sandbox;
  seed: SandboxSeed;
  plane: CallPlane;
  /** Calls `to` with the seeded demo agent and resolves with the ended call object. */
  call(to: string, extra?: Record<string, unknown>, timeoutMs?: number): Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  stop(): Promise<void>;
}

/** `rtpBase`: 400 ports from here are this file's (the sandbox's 200, then the call plane's 200). */
export async function startSandboxRig(rtpBase: number, sandboxOptions: Partial<SandboxOptions> = {}): Promise<SandboxRig> {
  const t = await startTestApp({ allowPrivateUrls: true });
  const sandbox = await startSandbox({ host: '127.0.0.1', port: 0, rtpPortMin: rtpBase, rtpPortMax: rtpBase + 198, ...sandboxOptions });
  const seed = await seedSandbox(t.ctx, t.org.id, { host: sandbox.host, port: sandbox.port });
  const plane = await startTestCallPlane(t.ctx, { rtpPortMin: rtpBase + 200, rtpPortMax: rtpBase + 398 });
  return {
    t,
    sandbox,
    seed,
    plane,
    async call(to, extra = {}, timeoutMs = 60_000) {
      const r = await t.org.req('POST', `/v1/agents/${seed.agentId}/outbound-calls`, { to, max_duration_s: 60, ...extra });
      assert.equal(r.status, 202, r.raw);
      const id = r.body.id as string;
      return waitFor(
        `call ${id} to ${to} to end`,
        async () => {
          const got = await t.org.req('GET', `/v1/calls/${id}`);
          return TERMINAL.includes(got.body.status) ? got.body : undefined;
        },
        timeoutMs,
      );
    },
    async stop() {
      await plane.stop();
      await sandbox.stop();
      await t.close();
    },
  };
}

/**
 * A flow that leaves a message on an answering machine: it says nothing until it hears the greeting
 * ask for a message ("... after the tone"), then speaks. The demo flow is no such agent: now that it
 * hears the voicemail greeting, it answers "Sorry, I did not catch that" and hangs up before the beep
 * (answering-machine detection is issue 17), so nothing would be recorded.
 */
export const LEAVE_MESSAGE_FLOW = {
  start: 'wait',
  nodes: {
    wait: { type: 'listen', timeout_ms: 15000, next: 'decide', on_timeout: 'message' },
    decide: { type: 'branch', cases: [{ keywords: ['tone', 'message', 'beep'], next: 'message' }], default: 'wait' },
    message: { type: 'say', text: 'Hi Sam, this is the Outcall demo calling about your appointment on Tuesday. Please call us back. Goodbye.', next: 'bye' },
    bye: { type: 'end' },
  },
} as const;
