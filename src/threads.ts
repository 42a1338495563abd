/**
 * Starting one of our worker threads: the compiled .js next to the caller, or, when running from
 * source (tests, `node --import tsx`), the .ts file through tsx. Module loader hooks are per thread,
 * so a thread started from source registers tsx itself before importing its entry.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** `from`: the caller's import.meta.url; `entry`: the entry's path relative to it, without extension ('./x-worker'). */
export function startThread(from: string, entry: string, options: WorkerOptions = {}): Worker {
  if (from.endsWith('.ts')) {
    const url = new URL(`${entry}.ts`, from).href;
    const boot = `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(url)}); })`;
    return new Worker(boot, { ...options, eval: true });
  }
  return new Worker(new URL(`${entry}.js`, from), options);
}
