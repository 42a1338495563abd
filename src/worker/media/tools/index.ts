export { createToolRunner, toolName } from './runner.js';
export { runHttpTool, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TOOL_TIMEOUT_MS } from './http-tool.js';
export { runTransfer, transferTarget, DEFAULT_TRANSFER_NOTIFY_WAIT_MS } from './transfer-tool.js';
export { runSendDtmf, dtmfDigits } from './dtmf-tool.js';
export { callControl } from './types.js';
export type { CallControl, ToolCallContext, ToolEndReason, ToolRunnerDeps } from './types.js';
