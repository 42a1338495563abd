/**
 * Post-call analysis, off the dial path: once a call with a transcript has ended (its terminal
 * webhooks already written), a summary is made (the agent's LLM, else the extractive summary) and
 * stored with the `analyzed` status event, in one transaction.
 *
 * Durable without a queue table: the terminal transition sets calls.analysis_due_at; analyzing a call
 * first claims it by pushing analysis_due_at one lease ahead (compare-and-set, so two processes never
 * analyze one call at once), and the final transaction clears it and sets analyzed_at only if
 * analyzed_at is still null, so `analyzed` is written exactly once. A process that dies in between
 * leaves analysis_due_at behind: the next sweep (at start, then periodically, in any process) takes
 * the call over once the lease has run out.
 *
 * The runner also sends the result webhooks that wait for a summary (call-result.ts): the analysis
 * sends one with its summary, a timer at the call's result_due_at sends it with the extractive
 * summary when the analysis is late, and the sweep sends those past due that a dead process left.
 */
import type { AppContext } from '../app-context.js';
import type { CallRow } from '../calls/call-object.js';
import { createLlmProvider, type LlmProvider, type LlmSettings } from '../providers/llm/index.js';
import { sql } from '../store/sql.js';
import { RESULTS_DUE_CHANNEL } from '../store/channels.js';
import type { TranscriptTurn } from '../voice/events.js';
import { enqueueStatusEvent } from '../calls/outbox.js';
import { DEFAULT_RESULT_SUMMARY_WAIT_MS, dueResults, nextResultDue, releaseResult, sendDueResult, transcriptTurns } from './call-result.js';
import { extractiveSummary } from './extractive-summary.js';
import { llmSummary } from './llm-summary.js';
import { spokenLines } from './transcript-text.js';
import { findAgentRow, type AgentRow } from '../store/agent-rows.js';
import { readProviderSecrets, resolvedProvider } from '../agents/provider-secrets.js';

export interface PostCallOptions {
  /** How often due calls are looked for (a missed kick, a process that died). Default 30 s. */
  sweepMs?: number;
  /** How long one analysis may hold a call before another process may take it over. Default 120 s. */
  leaseMs?: number;
  /** Longest the LLM may take to summarize before the extractive summary is used. Default 30 s. */
  llmTimeoutMs?: number;
  /** Calls looked at per sweep. Default 20. */
  batchSize?: number;
  /**
   * Longest an answered call's result webhook waits for the LLM's summary after the call ended
   * before it goes with the extractive one (OUTCALL_RESULT_SUMMARY_WAIT_S). Default 15 s.
   */
  resultWaitMs?: number;
  /** Builds the LLM client from the agent's settings (tests inject a fetch; default createLlmProvider). */
  createLlm?: (settings: LlmSettings) => LlmProvider;
}

export type AnalysisOutcome = { kind: 'analyzed'; source: 'llm' | 'extractive'; summary: string | null } | { kind: 'not_due' };

/** The agent's LLM settings as the provider factory takes them, with the decrypted key. */
function llmSettingsOf(ctx: AppContext, agent: AgentRow): LlmSettings | undefined {
  if (!agent.llm) return undefined;
  // The summary asks the agent's first model only: a failure falls back to the extractive summary.
  const { fallbacks: _fallbacks, language: _language, voice: _voice, ...first } = agent.llm;
  return resolvedProvider(first, agent.llm.has_api_key ? readProviderSecrets(ctx, agent).llm : undefined);
}

async function summarize(
  ctx: AppContext,
  row: CallRow,
  turns: readonly TranscriptTurn[],
  opts: PostCallOptions,
): Promise<{ source: 'llm' | 'extractive'; summary: string }> {
  const agent = await findAgentRow(ctx.db, row.org_id, row.agent_id, true);
  if (agent?.llm && spokenLines(turns).length > 0) {
    try {
      const settings = llmSettingsOf(ctx, agent) as LlmSettings;
      const llm = (opts.createLlm ?? ((s: LlmSettings) => createLlmProvider(s)))(settings);
      const summary = await llmSummary(llm, turns, { signal: AbortSignal.timeout(opts.llmTimeoutMs ?? 30_000), callContext: row.call_context });
      return { source: 'llm', summary };
    } catch (err) {
      // The extractive summary below stands in; summary_source tells the client which one it got.
      ctx.logger?.warn({ callId: row.id, err: (err as Error).message }, 'LLM summary failed; using the extractive summary');
    }
  }
  return { source: 'extractive', summary: extractiveSummary(turns) };
}

/** Analyzes one call if it is due (and nobody else holds it). */
export async function analyzeCall(ctx: AppContext, orgId: string, callId: string, opts: PostCallOptions = {}): Promise<AnalysisOutcome> {
  const now = ctx.now();
  const claimed = await ctx.db.query<CallRow>(sql`update calls set analysis_due_at = ${new Date(now.getTime() + (opts.leaseMs ?? 120_000))}
    where org_id = ${orgId} and id = ${callId} and analysis_due_at <= ${now} and analyzed_at is null returning *`);
  const row = claimed.rows[0];
  if (!row) return { kind: 'not_due' };
  const turns = await transcriptTurns(ctx.db, row);
  const { source, summary } = await summarize(ctx, row, turns, opts);
  const text = summary === '' ? null : summary;
  await ctx.db.transaction(async (tx) => {
    const at = ctx.now();
    const done = await tx.query<CallRow>(sql`update calls set summary_text = ${text}, summary_source = ${source}, analyzed_at = ${at},
      analysis_due_at = null where org_id = ${orgId} and id = ${callId} and analyzed_at is null returning *`);
    const analyzed = done.rows[0];
    if (!analyzed) return;
    // The result webhook, if it still waits (the bound has not passed), goes with this summary.
    await releaseResult(tx, orgId, callId, at);
    await enqueueStatusEvent(tx, analyzed, 'analyzed', at);
  });
  return { kind: 'analyzed', source, summary: text };
}

/** Runs post-call analysis in the background for the calls this process ends, and sweeps for the rest. */
export class PostCallRunner {
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #resultTimers = new Set<NodeJS.Timeout>();
  #timer: NodeJS.Timeout | undefined;
  #unlisten: Promise<(() => Promise<void>) | undefined> | undefined;
  #sweeping = false;
  #stopped = false;

  constructor(
    private readonly ctx: AppContext,
    private readonly opts: PostCallOptions = {},
  ) {}

  /** How long a result waits for the LLM's summary (the dialer sets result_due_at with it). */
  get resultWaitMs(): number {
    return this.opts.resultWaitMs ?? DEFAULT_RESULT_SUMMARY_WAIT_MS;
  }

  /**
   * Sweeps now (calls left over by a process that died) and then every sweepMs, or sooner when a
   * waiting result falls due before that (the process that would have sent it may be gone): the
   * next due time is read after each sweep, and again when any process tells of a new one (NOTIFY).
   */
  start(): void {
    this.#tick();
    const listening = this.ctx.db.listen(RESULTS_DUE_CHANNEL, () => {
      if (this.#stopped || this.#sweeping) return;
      // The sweep under way (if one starts meanwhile) reads the due times itself when it ends.
      void this.#track(this.#untilNextSweep()).then((wait) => {
        if (wait !== undefined && !this.#sweeping) this.#schedule(wait);
      });
    });
    this.#unlisten = listening.catch((err: unknown) => {
      // Without it a dead process's result waits for the periodic sweep; the rest works.
      this.ctx.logger?.warn({ err }, 'post-call runner could not LISTEN for results due');
      return undefined;
    });
  }

  readonly #tick = (): void => {
    if (this.#stopped || this.#sweeping) return;
    this.#sweeping = true;
    // #track's promise never rejects (it logs a failed sweep), and the callback below cannot throw.
    void this.#track(this.sweep().then(() => this.#untilNextSweep())).then((wait) => {
      this.#sweeping = false;
      this.#schedule(wait ?? this.#sweepMs);
    });
  };

  /** The next sweep in `ms` (one timer: a new time replaces the old one). */
  #schedule(ms: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(this.#tick, ms);
    this.#timer.unref();
  }

  /**
   * A call just ended with a transcript: analyze it now, without making anyone wait, and send its
   * result at `resultDueAt` if the analysis has not sent it by then.
   */
  kick(orgId: string, callId: string, resultDueAt?: Date): void {
    if (this.#stopped) return;
    void this.#track(analyzeCall(this.ctx, orgId, callId, this.opts));
    if (resultDueAt) this.#sendResultAt(orgId, callId, resultDueAt);
  }

  #sendResultAt(orgId: string, callId: string, due: Date): void {
    const timer = setTimeout(() => {
      this.#resultTimers.delete(timer);
      if (this.#stopped) return;
      // A timer may fire a millisecond before the wall clock says it is due: then it waits the rest.
      if (this.ctx.now().getTime() < due.getTime()) return this.#sendResultAt(orgId, callId, due);
      void this.#track(sendDueResult(this.ctx, orgId, callId));
    }, Math.max(0, due.getTime() - this.ctx.now().getTime()));
    // Like the sweep's: a process on its way out is not held up by it (another process's sweep sends it).
    timer.unref();
    this.#resultTimers.add(timer);
  }

  /** Sends the results past due and analyzes the calls that are due; returns how many of each it did. */
  async sweep(): Promise<number> {
    const batch = this.opts.batchSize ?? 20;
    let n = 0;
    for (const c of await dueResults(this.ctx.db, this.ctx.now(), batch)) {
      if (this.#stopped) break;
      if (await sendDueResult(this.ctx, c.org_id, c.id)) n++;
    }
    const due = await this.ctx.db.query<{ org_id: string; id: string }>(sql`select org_id, id from calls
      where analysis_due_at <= ${this.ctx.now()} order by analysis_due_at limit ${batch}`);
    for (const c of due.rows) {
      if (this.#stopped) break;
      if ((await analyzeCall(this.ctx, c.org_id, c.id, this.opts)).kind === 'analyzed') n++;
    }
    return n;
  }

  /** Stops sweeping and waits for the work under way (a stopped one is picked up by a later sweep). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    for (const t of this.#resultTimers) clearTimeout(t);
    this.#resultTimers.clear();
    await (await this.#unlisten)?.();
    await Promise.allSettled([...this.#inflight]);
  }

  get #sweepMs(): number {
    return this.opts.sweepMs ?? 30_000;
  }

  /**
   * Until the next sweep: sweepMs, or until a second after the next waiting result falls due (the
   * process that ended the call sends it on time with its own timer; the sweeps of all the others
   * are there for when that process is gone), never less than a second.
   */
  async #untilNextSweep(): Promise<number> {
    const due = await nextResultDue(this.ctx.db);
    if (!due) return this.#sweepMs;
    return Math.min(this.#sweepMs, Math.max(1000, due.getTime() + 1000 - this.ctx.now().getTime()));
  }

  /** Keeps the promise until it settles; its failure is logged (the call stays due for a later sweep). */
  #track<T>(p: Promise<T>): Promise<T | undefined> {
    const guarded = p.catch((err: unknown) => {
      this.ctx.logger?.error({ err }, 'post-call work failed; it will be retried by a sweep');
      return undefined;
    });
    this.#inflight.add(guarded);
    void guarded.finally(() => this.#inflight.delete(guarded));
    return guarded;
  }
}
