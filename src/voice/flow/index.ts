export { FlowBrain } from './brain.js';
export { FlowValidationError, validateFlow, type FlowProblem, type ValidateFlowOptions } from './validate.js';
export { containsKeyword, words } from './match.js';
export type { BranchCase, BranchNode, EndNode, Flow, FlowAction, FlowEndReason, FlowEvent, FlowNode, ListenNode, SayNode, ToolNode } from './types.js';
export { FLOW_END_REASONS } from './types.js';
