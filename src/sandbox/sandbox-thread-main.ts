/**
 * Entry of the embedded sandbox's thread (sandbox-thread.ts): the personas' SIP and RTP run here,
 * away from the thread that runs the API and the embedded database. A callee is another party: its
 * audio must not wait while PGlite runs a query on the main thread (a 100-200 ms stall there delayed
 * the persona's words, and the agent heard them late or clipped).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { OutcallError } from '../errors.js';
import { BUNDLED_PERSONA_DIR, loadPersonaDirs } from './persona.js';
import { startSandbox, type Sandbox } from './service.js';
import type { SandboxThreadData, SandboxThreadEvent } from './sandbox-thread.js';

const port = parentPort;
if (!port) throw new Error('sandbox-thread-main must run in a worker thread');
const data = workerData as SandboxThreadData;
const post = (e: SandboxThreadEvent) => port.postMessage(e);

let sandbox: Sandbox | undefined;
try {
  sandbox = await startSandbox({
    host: data.host,
    port: data.port,
    ...(data.personaDirs ? { personas: loadPersonaDirs([BUNDLED_PERSONA_DIR, ...data.personaDirs]) } : {}),
    onCall: (record) => post({ type: 'call', record }),
  });
  post({ type: 'ready', host: sandbox.host, port: sandbox.port, numbers: sandbox.numbers });
} catch (err) {
  post({ type: 'failed', message: (err as Error).message, ...(err instanceof OutcallError ? { code: err.code } : {}) });
  port.close();
}

port.on('message', (m: { type: 'stop' }) => {
  if (m.type !== 'stop') return;
  void (sandbox?.stop() ?? Promise.resolve()).finally(() => {
    post({ type: 'stopped' });
    port.close();
  });
});
