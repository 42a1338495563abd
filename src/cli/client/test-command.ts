/**
 * `outcall test <dir|file...>`: regression tests for an agent. Each scenario file places a real
 * call and states what must be true when it ends; see src/cli/scenarios/schema.ts for the fields.
 * Exit status: 0 all passed, 1 any failed (or could not run), 2 bad input (files, flags).
 */
import { parseArgs } from 'node:util';
import { loadScenarios } from '../scenarios/load.js';
import { formatReport, jsonReport } from '../scenarios/report.js';
import { runScenarios } from '../scenarios/run.js';
import { apiTarget, CliError } from './api.js';

export const TEST_HELP = `outcall test <dir|file.json...> [options]

Places one real call per scenario file (*.json in each directory), waits for it to end and checks
its result and transcript against the scenario's "expect". Prints a pass/fail table.

Scenario file:
  { "name": "busy line", "agent_name": "sandbox-demo", "to": "+12025550101",
    "expect": { "status": "busy", "end_reason": "busy", "sip_status_code": 486 } }
  Also: "agent" (an id), "dynamic_variables", "call_context", "max_duration_s", "ring_timeout_s".
  expect: status, end_reason, sip_status_code, transcript_includes / transcript_excludes
  ([{ "speaker": "agent"|"callee"|"any", "text": "whole words, any case" }]), tool_called ([names]),
  max_answer_to_greeting_ms, max_turn_latency_ms, min_turns, max_duration_s.

Options:
  --agent <id>         call with this agent, whatever the scenarios name
  --concurrency <n>    scenarios in flight at once (default 2)
  --json               print the results as JSON
  --url <url>          API address (default OUTCALL_URL or http://127.0.0.1:8080)
  --key <key>          API key (default OUTCALL_API_KEY)

Exit status: 0 when every scenario passed, 1 when any failed, 2 for bad input.`;

export async function testCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      agent: { type: 'string' },
      concurrency: { type: 'string' },
      json: { type: 'boolean' },
      url: { type: 'string' },
      key: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(TEST_HELP);
    return 0;
  }
  if (positionals.length === 0) throw new CliError(`give a scenario directory or files\n\n${TEST_HELP}`, 2);
  const concurrency = values.concurrency === undefined ? 2 : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 50) throw new CliError(`--concurrency must be an integer from 1 to 50, got "${values.concurrency}"`, 2);
  const loaded = await loadScenarios(positionals);
  if (!loaded.ok) throw new CliError(`invalid scenarios:\n  ${loaded.errors.join('\n  ')}`, 2);
  const target = apiTarget(values);
  const json = values.json === true;
  if (!json) console.log(`running ${loaded.scenarios.length} scenario${loaded.scenarios.length === 1 ? '' : 's'} against ${target.baseUrl} (${concurrency} at a time)`);
  const results = await runScenarios(target, loaded.scenarios, {
    concurrency,
    ...(values.agent !== undefined ? { agent: values.agent } : {}),
    ...(json ? {} : { onResult: (r) => console.log(`  ${r.passed ? 'PASS' : r.error ? 'ERROR' : 'FAIL'}  ${r.name}  (${r.elapsed_s}s)`) }),
  });
  console.log(json ? jsonReport(results) : `\n${formatReport(results)}`);
  return results.every((r) => r.passed) ? 0 : 1;
}
