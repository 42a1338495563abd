// Runs the test suite with node's test runner (through tsx).
// Files named *.db.test.ts touch the store: they run once per driver (PGlite, then PostgreSQL),
// so the store-backed suite is proven on both (live-call files: see LIVE below). Everything else runs once.
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath, URL } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out.sort();
}

const filter = process.argv.slice(2);
const all = walk('test').filter((f) => filter.length === 0 || filter.some((s) => f.includes(s)));
const dbFiles = all.filter((f) => f.endsWith('.db.test.ts'));
const plainFiles = all.filter((f) => !f.endsWith('.db.test.ts'));
const pgUrl = process.env.OUTCALL_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const drivers = (process.env.OUTCALL_TEST_DRIVERS ?? 'pglite,postgres').split(',');

const TOTALS_REPORTER = fileURLToPath(new URL('./totals-reporter.mjs', import.meta.url));
const totalsDir = mkdtempSync(join(tmpdir(), 'outcall-tests-'));
const totals = { pass: 0, fail: 0, skipped: 0 };

function run(label, files, env) {
  if (files.length === 0) return 0;
  console.log(`\n=== ${label}: ${files.length} file(s) ===`);
  const totalsFile = join(totalsDir, `${label.replace(/\W+/g, '_')}.totals`);
  const r = spawnSync(
    process.execPath,
    // A file whose tests are done exits even if a failed before() left a socket open, and no single test
    // may hang the run: a stuck file would otherwise hold CI until its job limit.
    ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-force-exit', '--test-timeout=600000',
      '--test-reporter=spec', '--test-reporter-destination=stdout',
      `--test-reporter=${TOTALS_REPORTER}`, '--test-reporter-destination=stdout', ...files],
    { stdio: 'inherit', env: { ...process.env, ...env, OUTCALL_TEST_TOTALS: totalsFile } },
  );
  // Sum the runner's own totals so the closing line covers every run, not just the last one.
  const text = existsSync(totalsFile) ? readFileSync(totalsFile, 'utf8') : '';
  for (const key of Object.keys(totals)) {
    const m = text.match(new RegExp(`^${key} (\\d+)$`, 'm'));
    if (m) totals[key] += Number(m[1]);
  }
  return r.status ?? 1;
}

// Live calls to real SIP peers (and the browser) exercise the media path, not the store: they take most
// of the run, and their store code is proven on both drivers by the API and dispatcher tests. They run
// on PostgreSQL (the production store) only; live-calls, the core wiring, also runs on PGlite (the
// embedded default), as does the quickstart's live demo call. OUTCALL_TEST_LIVE_ALL_DRIVERS=1 runs
// every live file on every driver.
const LIVE = (f) => f.startsWith(join('test', 'e2e')) || f === join('test', 'dashboard', 'dashboard-e2e.db.test.ts');
const LIVE_ON_EVERY_DRIVER = [join('test', 'e2e', 'live-calls.db.test.ts')];
const liveOnAll = process.env.OUTCALL_TEST_LIVE_ALL_DRIVERS === '1';
const filesFor = (d) => dbFiles.filter((f) => liveOnAll || d === 'postgres' || !LIVE(f) || LIVE_ON_EVERY_DRIVER.includes(f));

let failed = 0;
failed |= run('unit, telephony and peers', plainFiles, {});
for (const d of drivers) {
  failed |= run(`store-backed on ${d}`, filesFor(d), { OUTCALL_TEST_DRIVER: d, OUTCALL_TEST_DATABASE_URL: pgUrl });
}
console.log(`\ntests: ${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped`);
process.exit(failed || totals.pass === 0 ? 1 : 0);
