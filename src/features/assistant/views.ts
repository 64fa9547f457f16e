import { z } from '@hono/zod-openapi';
import type { RunRow } from './store';

const ToolCallSchema = z
  .object({
    id: z.string(),
    round: z.number().int(),
    name: z.string(),
    arguments: z.string().openapi({ description: 'The JSON text the model wrote' }),
    result: z.unknown().openapi({ description: "The tool's result as given back to the model" }),
    error: z.string().nullable(),
    duration_ms: z.number(),
  })
  .openapi('AssistantToolCall');

export const RunSchema = z
  .object({
    id: z.string().openapi({ example: '3d6f0a7e-1c5b-4f5e-9a0e-2b8f9b1d7c41' }),
    status: z.enum(['completed', 'failed']),
    answer_mode: z.enum(['text', 'audio']),
    model: z.string().openapi({ example: 'openai:gpt-4o' }),
    chat_id: z.string().nullable(),
    request_id: z.string(),
    input: z.object({
      prompt: z.string(),
      transcript: z.string().nullable().openapi({ description: 'What the audio inputs said, when there were any' }),
      media: z.array(
        z.object({
          kind: z.enum(['image', 'audio', 'video']),
          media_type: z.string(),
          bytes: z.number().int(),
          source: z.enum(['inline', 'file']),
          file_id: z.string().optional(),
        }),
      ),
    }),
    answer: z.string().nullable(),
    tool_calls: z.array(ToolCallSchema),
    rounds: z.number().int(),
    stopped_by: z.string().nullable().openapi({ description: "'answer', 'max_rounds' or 'deadline' (tool loop)" }),
    error_code: z.string().nullable(),
    usage: z.object({
      prompt_tokens: z.number().int(),
      completion_tokens: z.number().int(),
      total_tokens: z.number().int(),
    }),
    created_at: z.string(),
    completed_at: z.string().nullable(),
  })
  .openapi('AssistantRun');

export type RunView = z.infer<typeof RunSchema>;

export function runView(row: RunRow): RunView {
  return {
    id: row.id,
    status: row.status,
    answer_mode: row.answerMode,
    model: row.model,
    chat_id: row.chatId,
    request_id: row.requestId,
    input: { prompt: row.prompt, transcript: row.transcript, media: row.inputs },
    answer: row.answer,
    tool_calls: row.toolCalls,
    rounds: row.rounds,
    stopped_by: row.stoppedBy,
    error_code: row.errorCode,
    usage: {
      prompt_tokens: row.promptTokens,
      completion_tokens: row.completionTokens,
      total_tokens: row.totalTokens,
    },
    created_at: row.createdAt,
    completed_at: row.completedAt,
  };
}
