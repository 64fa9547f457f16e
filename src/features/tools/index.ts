export { type ToolLoopCall, runToolLoop } from './loop';
export { toolDefinitions, toolNames } from './registry';
export type { ToolContext, ToolLoopResult, ToolRecord } from './types';
