// What the providers share about tools and structured output: the forced tool that carries structured
// output on vendors without a response_format (Anthropic, Bedrock), and the check on the tool calls an
// upstream answers with.
import { z } from 'zod';
import { providerFailure } from './errors';
import type { ProviderId, ResponseFormat, ToolCall, ToolDefinition } from './types';

// The name of the forced tool when the response format's own name is not a valid tool name.
export const STRUCTURED_TOOL_NAME = 'structured_output';
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

export interface StructuredTool {
  tool: ToolDefinition;
  // A schema that is not an object's is wrapped as {value: schema} (tool inputs must be objects).
  wrapped: boolean;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function isObjectSchema(schema: Record<string, unknown>): boolean {
  if (schema.type === 'object') return true;
  return schema.type === undefined && isRecord(schema.properties) && schema.anyOf === undefined;
}

// Structured output as a tool the model is forced to call: its input is the answer.
export function structuredTool(format: ResponseFormat): StructuredTool {
  const schema: Record<string, unknown> = format.type === 'json_schema' ? format.schema : { type: 'object' };
  const name = format.type === 'json_schema' && TOOL_NAME.test(format.name) ? format.name : STRUCTURED_TOOL_NAME;
  const description = 'Give the answer as this tool call; its input is the whole answer.';
  if (isObjectSchema(schema)) return { tool: { name, description, parameters: schema }, wrapped: false };
  // $defs stay at the root, where the schema's `#/$defs/...` references point.
  const { $defs, definitions, ...inner } = schema;
  return {
    tool: {
      name,
      description,
      parameters: {
        type: 'object',
        properties: { value: inner },
        required: ['value'],
        ...($defs !== undefined ? { $defs } : {}),
        ...(definitions !== undefined ? { definitions } : {}),
      },
    },
    wrapped: true,
  };
}

// The answer text of a structured tool's input: the input itself, or its `value` when wrapped.
export function structuredAnswer(input: unknown, wrapped: boolean): string {
  const value = wrapped && isRecord(input) ? input.value : input;
  return JSON.stringify(value ?? null);
}

// Same, from the input's JSON text as streamed: text that does not parse is passed on as it is (the
// caller validates structured output; a vendor does not guarantee it).
export function structuredAnswerOfText(text: string, wrapped: boolean): string {
  try {
    return structuredAnswer(JSON.parse(text === '' ? '{}' : text), wrapped);
  } catch {
    return text;
  }
}

export const ToolCallSchema = z.object({ id: z.string().min(1), name: z.string().min(1), arguments: z.string() });

// Tool calls must carry an id and a name; anything else from upstream is a malformed answer (502).
export function checkedToolCalls(provider: ProviderId, calls: ToolCall[]): ToolCall[] {
  for (const c of calls)
    if (!ToolCallSchema.safeParse(c).success) throw providerFailure(provider, 'malformed-tool-call');
  return calls;
}
