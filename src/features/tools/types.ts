import type { z } from 'zod';
import type { Config } from '../../config';
import type { Database } from '../../db/client';
import type { ChatResult } from '../providers';

// What a tool may use: the caller (whose chats it may search), the deployment's configuration and
// bindings, and a signal that ends the tool's work (the loop's deadline, the caller gone, or the tool's
// own TOOL_TIMEOUT_MS).
export interface ToolContext {
  env: Env;
  config: Config;
  db: Database;
  userId: string;
  organizationId: string;
  signal: AbortSignal;
}

// One tool call of a loop, as it happened: `arguments` as the model wrote them, and either the result
// given back to the model or the error it was told instead.
export interface ToolRecord {
  id: string;
  round: number;
  name: string;
  arguments: string;
  result: unknown;
  error: string | null;
  durationMs: number;
}

export interface ToolLoopResult {
  // The final answer; its usage is the sum over every round.
  result: ChatResult;
  // Model calls made.
  rounds: number;
  toolCalls: ToolRecord[];
  stoppedBy: 'answer' | 'max_rounds' | 'deadline';
}

// A tool: its JSON Schema (what the model sees) and the zod schema that actually checks the arguments
// (the model's JSON is never trusted to follow the schema it was shown).
export interface Tool<A = unknown> {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
  args: z.ZodType<A>;
  // Built-ins are always on; an adapter only when its credentials are configured.
  enabled(config: Config): boolean;
  run(args: A, ctx: ToolContext): Promise<unknown>;
}

// A failure the model is told about in words (bad arguments, an upstream refusing): its message goes
// back as the tool's result, so it must never carry a secret. Anything else thrown by a tool is
// reported to the model as a generic failure and logged.
export class ToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolError';
  }
}

// Typed at the definition, erased in the registry (each tool checks its own arguments with `args`).
export function defineTool<A>(tool: Tool<A>): Tool {
  return tool as unknown as Tool;
}
