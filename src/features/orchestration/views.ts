import { z } from '@hono/zod-openapi';
import type { OperationRow, PhaseRow, RunRow } from './run-store';

// Seed 003's run, phase and integration-operation shapes (§2.4).

export const RunSchema = z
  .object({
    id: z.string(),
    project_id: z.string(),
    topic: z.string(),
    status: z.string(),
    total_phases: z.number().int(),
    completed_phases: z.number().int(),
    success_rate: z.number().nullable(),
    integration_enabled: z.boolean(),
    execution_time_ms: z.number().int().nullable(),
    template_id: z.string().nullable(),
    error: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    completed_at: z.string().nullable(),
  })
  .openapi('OrchestrationRun');

export const PhaseSchema = z
  .object({
    id: z.string(),
    phase_code: z.string(),
    phase_name: z.string(),
    status: z.string(),
    response_text: z.string().nullable(),
    model: z.string().nullable(),
    execution_time_ms: z.number().int().nullable(),
    token_usage: z
      .object({ prompt_tokens: z.number().int(), completion_tokens: z.number().int(), total_tokens: z.number().int() })
      .nullable(),
    attempts: z.number().int(),
    error: z.string().nullable(),
    started_at: z.string().nullable(),
    completed_at: z.string().nullable(),
  })
  .openapi('OrchestrationPhase');

export const OperationSchema = z
  .object({
    id: z.string(),
    phase_id: z.string().nullable(),
    operation_type: z.string(),
    status: z.string(),
    result: z.record(z.string(), z.unknown()),
    execution_time_ms: z.number().int().nullable(),
    // Where the written file is served (file_system operations that succeeded).
    file_url: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi('IntegrationOperation');

export function runView(r: RunRow): z.infer<typeof RunSchema> {
  return {
    id: r.id,
    project_id: r.projectId,
    topic: r.topic,
    status: r.status,
    total_phases: r.totalPhases,
    completed_phases: r.completedPhases,
    success_rate: r.successRate,
    integration_enabled: r.integrationEnabled,
    execution_time_ms: r.executionTimeMs,
    template_id: r.templateId,
    error: r.error,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
    completed_at: r.completedAt,
  };
}

export function phaseView(p: PhaseRow): z.infer<typeof PhaseSchema> {
  const used = p.promptTokens !== null || p.completionTokens !== null;
  const prompt = p.promptTokens ?? 0;
  const completion = p.completionTokens ?? 0;
  return {
    id: p.id,
    phase_code: p.phaseCode,
    phase_name: p.phaseName,
    status: p.status,
    response_text: p.responseText,
    model: p.model,
    execution_time_ms: p.executionTimeMs,
    token_usage: used
      ? { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion }
      : null,
    attempts: p.attempts,
    error: p.error,
    started_at: p.startedAt,
    completed_at: p.completedAt,
  };
}

export function operationView(o: OperationRow): z.infer<typeof OperationSchema> {
  return {
    id: o.id,
    phase_id: o.phaseId,
    operation_type: o.operationType,
    status: o.status,
    result: o.result,
    execution_time_ms: o.executionTimeMs,
    file_url: o.objectKey ? `/api/v1/orchestration/${o.runId}/operations/${o.id}/file` : null,
    created_at: o.createdAt,
  };
}

// "5 minutes", "1 minute", "45 seconds": seed 003's estimated_duration.
export function humanDuration(seconds: number): string {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} seconds`;
  const minutes = Math.round(seconds / 60);
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}
