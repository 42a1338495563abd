/**
 * The demo from npm alone: `outcall serve`'s first start with the Debian speech packages hidden
 * (PATH holds every program of this machine's PATH but espeak-ng, pocketsphinx and flite) places the
 * demo call, the sandbox's human persona answers, and the agent hears its "yes" with the grammar
 * recognizer (soundswallower) and takes the flow's yes branch ("Great!"). Nothing is skipped: the
 * point is that no system package is needed.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { startServe, waitExit } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const HIDDEN = /^(espeak|pocketsphinx|flite|sphinx)/;
const dir = mkdtempSync(join(tmpdir(), 'outcall-npm-only-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A directory of links to every program on PATH except the speech engines' (first one of a name wins, as PATH would). */
function strippedPath(): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const seen = new Set<string>();
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const n of names) {
      if (HIDDEN.test(n) || seen.has(n)) continue;
      seen.add(n);
      symlinkSync(join(d, n), join(bin, n));
    }
  }
  return bin;
}

test('with espeak-ng, pocketsphinx and flite hidden, the first start places the demo call and it takes the yes branch', async (t) => {
  const path = strippedPath();
  const serve = await startServe({ PATH: path, OUTCALL_DATA_DIR: join(dir, 'data'), OUTCALL_DEMO_CALL: '', OUTCALL_SANDBOX: '' });
  try {
    const out = await waitFor('the demo call result', async () => (/Place the next call|No demo call/.test(serve.output()) ? serve.output() : undefined), 150_000);
    // What was said and heard, in the log of every run: a misheard line is then visible in CI's output.
    t.diagnostic(out.split('\n').filter((l) => /\b(Agent |Callee|Result): /.test(l)).join(' | '));
    assert.doesNotMatch(out, /No demo call/, out);
    assert.match(out, /Agent : Hello, this is the Outcall demo/, out);
    assert.match(out, /Callee: .*\byes\b/i, `the human persona's answer was heard as a yes:\n${out}`);
    assert.match(out, /Agent : Great!/, `the flow took its keyword branch:\n${out}`);
    assert.match(out, /Result: completed {2}end_reason=agent_hangup {2}sip_status_code=200/, out);
  } finally {
    serve.child.kill('SIGTERM');
    assert.equal(await waitExit(serve.child), 0);
  }
});
