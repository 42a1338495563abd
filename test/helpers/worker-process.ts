import { spawn, type ChildProcess } from 'node:child_process';
import { REPO } from './cli.js';

export interface WorkerProcess {
  child: ChildProcess;
  workerId: string;
  output(): string;
  /** SIGTERM and wait (graceful), or SIGKILL when hard. */
  stop(hard?: boolean): Promise<void>;
}

/** Starts `outcall worker` (from source), in network namespace `netns` if given, and resolves once it reports its worker id. */
export function startWorker(env: Record<string, string>, netns?: string): Promise<WorkerProcess> {
  return new Promise((resolve, reject) => {
    const argv = [process.execPath, '--import', 'tsx', 'src/cli/main.ts', 'worker'];
    const [cmd, ...args] = netns ? ['ip', 'netns', 'exec', netns, ...argv] : argv;
    const child = spawn(cmd as string, args, {
      cwd: REPO,
      env: { ...process.env, OUTCALL_LOG_LEVEL: 'warn', OUTCALL_SIP_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`worker did not start:\n${out}`));
    }, 60_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /outcall worker (wrk_\S+) is running/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({
          child,
          workerId: m[1] as string,
          output: () => out,
          async stop(hard = false) {
            if (child.exitCode === null && child.signalCode === null) child.kill(hard ? 'SIGKILL' : 'SIGTERM');
            await exited;
          },
        });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code}:\n${out}`));
    });
  });
}
