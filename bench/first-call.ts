// Command: node --import tsx bench/first-call.ts [--runs 3] [--cold]
//
// The first call after a fresh start, as a newcomer meets it: `outcall serve` on a new PGlite folder
// places the demo call to the sandbox's human persona. Measured from the call itself (GET
// /v1/calls): answer -> greeting and metrics.media (our media loop's stall, send lateness p99,
// packets late or concealed on receive), and what the agent heard. --cold drops the page cache
// before each start (root only), as on a machine that just installed.
import { execSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServe, waitExit } from '../test/helpers/cli.js';
import { httpApi } from '../test/helpers/http-api.js';
import { waitFor } from '../test/helpers/wait.js';

const i = process.argv.indexOf('--runs');
const RUNS = i >= 0 ? Number(process.argv[i + 1]) : 3;
const COLD = process.argv.includes('--cold');

console.log(`first call after a fresh start (${COLD ? 'page cache dropped' : 'warm cache'}), ${RUNS} runs`);
console.log('| run | answer -> greeting (ms) | send stalled (ms) | send lateness p99 (ms) | late packets | concealed (ms) | callee heard as |');
console.log('|---|---|---|---|---|---|---|');
for (let run = 1; run <= RUNS; run++) {
  const dir = mkdtempSync(join(tmpdir(), 'outcall-first-call-'));
  if (COLD) execSync('sync; echo 3 > /proc/sys/vm/drop_caches');
  const serve = await startServe({ OUTCALL_DATA_DIR: join(dir, 'data'), OUTCALL_DEMO_CALL: '', OUTCALL_SANDBOX: '' });
  try {
    await waitFor('the demo call', () => (/Place the next call|No demo call/.test(serve.output()) ? true : undefined), 150_000);
    const key = /^\s+(oc_\S+)\s*$/m.exec(serve.output())?.[1];
    if (!key) throw new Error(`no API key printed:\n${serve.output()}`);
    const req = httpApi(serve.url, key);
    const call = (await req('GET', '/v1/calls?limit=1')).body.data[0];
    const m = call.metrics;
    const lines = [...serve.output().matchAll(/^\s*\+[\d.]+s\s+Callee: (.*)$/gm)].map((x) => x[1]?.trim()).join(' / ');
    console.log(
      `| ${run} | ${m.answer_to_greeting_ms} | ${m.media.send_stalled_ms} | ${m.media.send_lateness_p99_ms} | ${m.media.late_packets} | ${m.media.concealed_ms} | ${lines} |`,
    );
  } finally {
    serve.child.kill('SIGTERM');
    await waitExit(serve.child);
    rmSync(dir, { recursive: true, force: true });
  }
}
process.exit(0);
