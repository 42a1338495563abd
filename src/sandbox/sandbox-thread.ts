/**
 * The embedded sandbox on a thread of its own (sandbox-thread-main.ts), as `outcall serve` runs it:
 * the same Sandbox as startSandbox() gives, with its finished calls mirrored here as they end.
 */
import { startThread } from '../threads.js';
import { OutcallError, type ErrorCode } from '../errors.js';
import type { MagicNumber } from './numbers.js';
import type { Sandbox, SandboxCallRecord } from './service.js';

export interface SandboxThreadData {
  host: string;
  port: number;
  /** Folders of the user's own persona files, added to the bundled ones. */
  personaDirs?: string[];
}

export type SandboxThreadEvent =
  | { type: 'ready'; host: string; port: number; numbers: readonly MagicNumber[] }
  | { type: 'failed'; message: string; code?: ErrorCode }
  | { type: 'call'; record: SandboxCallRecord }
  | { type: 'stopped' };

/** Keeps the last 100 calls, as the sandbox itself does. */
const KEPT_CALLS = 100;

export async function startSandboxThread(data: SandboxThreadData): Promise<Sandbox> {
  const worker = startThread(import.meta.url, './sandbox-thread-main', { workerData: data });
  const calls: SandboxCallRecord[] = [];
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.on('message', (e: SandboxThreadEvent) => {
    if (e.type !== 'call') return;
    calls.push(e.record);
    if (calls.length > KEPT_CALLS) calls.shift();
  });
  const ready = await new Promise<Extract<SandboxThreadEvent, { type: 'ready' }>>((resolve, reject) => {
    worker.on('message', (e: SandboxThreadEvent) => {
      if (e.type === 'ready') resolve(e);
      else if (e.type === 'failed') reject(e.code ? new OutcallError(e.code, e.message) : new Error(e.message));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the sandbox thread exited with ${code} before it was ready`)));
  });
  let stopping: Promise<void> | undefined;
  return {
    host: ready.host,
    port: ready.port,
    numbers: ready.numbers,
    calls,
    stop() {
      stopping ??= (async () => {
        worker.postMessage({ type: 'stop' });
        // The sandbox hangs up its calls and closes its sockets; a thread that does not end soon is ended.
        const timer = setTimeout(() => void worker.terminate(), 5000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}
