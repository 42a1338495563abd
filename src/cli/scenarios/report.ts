/**
 * The results for people (a table, then each failure with expected vs actual) and for scripts
 * (--json).
 */
import { table } from '../client/render.js';
import type { ScenarioResult } from './run.js';

export function formatReport(results: readonly ScenarioResult[]): string {
  const rows = results.map((r) => ({
    scenario: r.name,
    result: r.passed ? 'PASS' : r.error ? 'ERROR' : 'FAIL',
    call: r.status ? `${r.status}/${r.end_reason ?? '-'}` : '-',
    sip: r.sip_status_code,
    duration: r.duration_s === null ? '-' : `${r.duration_s}s`,
    elapsed: `${r.elapsed_s}s`,
  }));
  const lines = [table(rows, ['scenario', 'result', 'call', 'sip', 'duration', 'elapsed'])];
  for (const r of results) {
    if (r.passed) continue;
    lines.push('', `${r.name} (${r.file})${r.call_id ? `  call ${r.call_id}` : ''}`);
    if (r.error) lines.push(`  error: ${r.error}`);
    for (const f of r.failures) lines.push(`  ✗ ${f.expectation}: expected ${f.expected}; got ${f.actual}`);
  }
  const passed = results.filter((r) => r.passed).length;
  lines.push('', `${passed}/${results.length} scenarios passed`);
  return lines.join('\n');
}

export function jsonReport(results: readonly ScenarioResult[]): string {
  return JSON.stringify({ passed: results.every((r) => r.passed), total: results.length, failed: results.filter((r) => !r.passed).length, results }, null, 2);
}
