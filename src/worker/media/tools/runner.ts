/**
 * A call's ToolRunner: the agent's tools by the name the model and the flow use (agentToolName),
 * each run by its kind. end_call never reaches here (the brains handle it: the flow's end node, the
 * LLM brain's own end_call), so a declared end_call tool is only a description for the model.
 */
import type { Tool } from '../../../contract/agent.js';
import { OutcallError } from '../../../errors.js';
import type { ToolRunner } from '../../../voice/brain.js';
import { runSendDtmf } from './dtmf-tool.js';
import { runHttpTool } from './http-tool.js';
import { runTransfer } from './transfer-tool.js';
import type { ToolRunnerDeps } from './types.js';

/** The name a tool is called by: its own name, else its type (built-ins). */
export function toolName(t: Tool): string {
  return t.name ?? t.type;
}

export function createToolRunner(d: ToolRunnerDeps): ToolRunner {
  const byName = new Map<string, Tool>();
  // A disabled end_call is nobody's: its name may be another tool's.
  for (const t of d.tools) if (t.type !== 'end_call' || t.enabled !== false) byName.set(toolName(t), t);
  return async (name, args, signal) => {
    const tool = byName.get(name);
    if (!tool) throw new OutcallError('tool_unknown', `the agent has no tool named "${name}"`);
    switch (tool.type) {
      case 'http':
        return runHttpTool({ ...tool, name }, args, d.context, { signal, now: () => Date.now(), ...(d.maxResponseBytes ? { maxResponseBytes: d.maxResponseBytes } : {}) });
      case 'transfer_call':
        return runTransfer(tool, d.context, d.control(), {
          signal,
          clock: d.clock,
          ...(d.transferNotifyWaitMs !== undefined ? { notifyWaitMs: d.transferNotifyWaitMs } : {}),
        });
      case 'send_dtmf':
        return runSendDtmf(args, d.control(), signal);
      case 'end_call':
        throw new OutcallError('tool_unavailable', 'end_call is handled by the agent itself (a flow end node, or the model hanging up)');
    }
  };
}
