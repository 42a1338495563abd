// A node:test reporter that records the run's totals (the runner's closing "tests/pass/fail/skipped"
// diagnostics) with synchronous writes to the file named by OUTCALL_TEST_TOTALS, so they survive
// --test-force-exit, which ends the process before an asynchronous reporter stream is flushed.
import { appendFileSync } from 'node:fs';

const out = process.env.OUTCALL_TEST_TOTALS;

export default async function* totals(source) {
  for await (const event of source) {
    if (out && event.type === 'test:diagnostic' && event.data.nesting === 0) {
      const m = /^(tests|pass|fail|skipped|cancelled|todo) (\d+)$/.exec(event.data.message);
      if (m) appendFileSync(out, `${m[1]} ${m[2]}\n`);
    }
  }
  yield '';
}
