/**
 * Runs scenarios against a live Outcall API: each places a real call, follows it to its end over the
 * call stream, then reads the call and its transcript and checks the expectations. A few at a time
 * (`concurrency`), so a suite does not flood the trunk or the agent's max_cps.
 */
import { watchCall } from '../../sdk/client.js';
import { api, type ApiTarget } from '../client/api.js';
import { checkExpectations, type Failure, type ObservedCall, type ObservedTurn } from './check.js';
import type { Scenario } from './schema.js';

export interface ScenarioResult {
  name: string;
  file: string;
  passed: boolean;
  call_id: string | null;
  status: string | null;
  end_reason: string | null;
  sip_status_code: number | null;
  duration_s: number | null;
  /** Wall time of the whole scenario (placing, ringing, talking), seconds. */
  elapsed_s: number;
  failures: Failure[];
  /** Set when the scenario could not run to a check (unknown agent, API refusal, stream lost). */
  error?: string;
}

export interface RunOptions {
  /** Overrides every scenario's agent / agent_name. */
  agent?: string;
  concurrency: number;
  onResult?: (r: ScenarioResult) => void;
}

/** Slack beyond the call's own limits for dispatch, stream and analysis before a scenario is declared stuck. */
const STUCK_SLACK_S = 120;

export async function runScenarios(target: ApiTarget, scenarios: readonly Scenario[], opts: RunOptions): Promise<ScenarioResult[]> {
  const agentIds = new AgentLookup(target);
  const results: ScenarioResult[] = new Array(scenarios.length);
  let next = 0;
  const lane = async () => {
    while (next < scenarios.length) {
      const i = next++;
      const r = await runOne(target, scenarios[i]!, opts.agent, agentIds);
      results[i] = r;
      opts.onResult?.(r);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, scenarios.length)) }, lane));
  return results;
}

async function runOne(target: ApiTarget, s: Scenario, agentOverride: string | undefined, agents: AgentLookup): Promise<ScenarioResult> {
  const t0 = Date.now();
  const result: ScenarioResult = {
    name: s.name,
    file: s.file,
    passed: false,
    call_id: null,
    status: null,
    end_reason: null,
    sip_status_code: null,
    duration_s: null,
    elapsed_s: 0,
    failures: [],
  };
  try {
    const agentId = agentOverride ?? s.agent ?? (s.agent_name !== undefined ? await agents.byName(s.agent_name) : undefined);
    if (!agentId) throw new Error('no agent: give "agent" or "agent_name" in the scenario, or --agent');
    const body: Record<string, unknown> = { to: s.to, metadata: { outcall_test: s.name } };
    if (s.dynamic_variables) body.dynamic_variables = s.dynamic_variables;
    if (s.call_context !== undefined) body.call_context = s.call_context;
    if (s.max_duration_s !== undefined) body.max_duration_s = s.max_duration_s;
    if (s.ring_timeout_s !== undefined) body.ring_timeout_s = s.ring_timeout_s;
    const placed = await api<{ id: string }>(target, 'POST', `/v1/agents/${encodeURIComponent(agentId)}/outbound-calls`, body);
    result.call_id = placed.id;

    const limitS = (s.max_duration_s ?? 3600) + (s.ring_timeout_s ?? 120) + STUCK_SLACK_S;
    for await (const e of watchCall({ ...target, signal: AbortSignal.timeout(limitS * 1000) }, placed.id)) {
      if (e.event === 'error') throw new Error(`call stream error: ${e.data.message} [${e.data.code}]`);
    }
    const call = await api<ObservedCall & { transcript_id: string | null }>(target, 'GET', `/v1/calls/${encodeURIComponent(placed.id)}`);
    Object.assign(result, { status: call.status, end_reason: call.end_reason, sip_status_code: call.sip_status_code, duration_s: call.duration_s });
    const turns = call.transcript_id
      ? (await api<{ turns: ObservedTurn[] }>(target, 'GET', `/v1/transcripts/${encodeURIComponent(call.transcript_id)}`)).turns
      : [];
    result.failures = checkExpectations(s.expect, call, turns);
    result.passed = result.failures.length === 0;
  } catch (err) {
    result.error = (err as Error).message;
  }
  result.elapsed_s = Math.round((Date.now() - t0) / 100) / 10;
  return result;
}

/** Agent ids by name from GET /v1/agents, listed once per run and shared by the scenarios. */
class AgentLookup {
  private all: Promise<Array<{ id: string; name: string }>> | undefined;
  constructor(private readonly target: ApiTarget) {}

  async byName(name: string): Promise<string> {
    this.all ??= this.list();
    const matches = (await this.all).filter((a) => a.name === name);
    if (matches.length === 0) throw new Error(`no agent named "${name}" (outcall agents list)`);
    if (matches.length > 1) throw new Error(`${matches.length} agents are named "${name}"; give "agent": "<id>" instead`);
    return matches[0]!.id;
  }

  private async list(): Promise<Array<{ id: string; name: string }>> {
    const out: Array<{ id: string; name: string }> = [];
    let cursor: string | null = null;
    do {
      const page: { data: Array<{ id: string; name: string }>; next_cursor: string | null } = await api(
        this.target,
        'GET',
        `/v1/agents?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      out.push(...page.data);
      cursor = page.next_cursor;
    } while (cursor);
    return out;
  }
}
