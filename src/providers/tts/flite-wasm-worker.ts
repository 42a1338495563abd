/**
 * The thread FliteWasmTts synthesizes on (a WASI `_start` runs synchronously for 30-600 ms per
 * sentence and must not stall a media thread's 20 ms RTP pacing). It compiles flite once, keeps the
 * next instance ready between jobs (instantiating costs ~50-80 ms), and answers each job with the
 * sentence's PCM16 samples and rate, or with an error message.
 */
import { parentPort } from 'node:worker_threads';
import { FliteInstance, fliteModule } from './flite-wasi.js';
import { WavStreamParser } from './wav-stream.js';

export interface FliteJob {
  id: number;
  text: string;
  voice: string;
}

export type FliteJobResult = { id: number; samples: Int16Array; rate: number } | { id: number; error: string };

const port = parentPort;
if (port) {
  let next: FliteInstance | undefined;
  const prepare = (): void => {
    try {
      next ??= new FliteInstance(fliteModule());
    } catch {
      // Reported by the next job, which tries again.
    }
  };
  port.on('message', (job: FliteJob) => {
    let reply: FliteJobResult;
    try {
      const inst = next ?? new FliteInstance(fliteModule());
      next = undefined;
      const run = inst.synthesize(job.text, job.voice);
      if (run.exitCode !== 0 || !run.wav) {
        reply = { id: job.id, error: `flite (WASI) exited with ${run.exitCode}${run.wav ? '' : ', writing no wave'}: ${run.stderr.trim()}` };
      } else {
        const parser = new WavStreamParser();
        const samples = parser.push(Buffer.from(run.wav.buffer, run.wav.byteOffset, run.wav.byteLength));
        reply = { id: job.id, samples, rate: parser.format?.sampleRate ?? 16000 };
      }
    } catch (err) {
      reply = { id: job.id, error: (err as Error).message };
    }
    port.postMessage(reply, 'samples' in reply && reply.samples.byteOffset === 0 ? [reply.samples.buffer as ArrayBuffer] : []);
    // Ready the next instance once the answer is on its way, not before it.
    setImmediate(prepare);
  });
  setImmediate(prepare);
}
