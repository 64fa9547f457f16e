import { and, eq } from 'drizzle-orm';
import { getDb } from '../../db/client';
import { integrationOperations } from '../../db/schema';
import type { PhaseRow, RunRow } from './run-store';

// With `integration_enabled`, each finished phase's output is written to R2 as a Markdown file: an
// `integration_operations` row (`operation_type: "file_system"`) records it, and the API serves it back.
// Idempotent per phase: a retried step finds the row and writes nothing twice.

export function phaseObjectKey(run: Pick<RunRow, 'organizationId' | 'id'>, phase: Pick<PhaseRow, 'position'>): string {
  // Our ids only: nothing the client sent goes into the key.
  return `orchestration/${run.organizationId}/${run.id}/phase-${phase.position}.md`;
}

export function phaseFileName(phase: Pick<PhaseRow, 'position' | 'phaseName'>): string {
  const slug =
    phase.phaseName
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'phase';
  return `phase-${phase.position}-${slug}.md`;
}

export async function writePhaseFile(env: Env, run: RunRow, phase: PhaseRow): Promise<void> {
  const db = getDb(env.DB);
  const existing = await db
    .select({ id: integrationOperations.id })
    .from(integrationOperations)
    .where(and(eq(integrationOperations.runId, run.id), eq(integrationOperations.phaseId, phase.id)))
    .get();
  if (existing) return;
  const started = performance.now();
  const key = phaseObjectKey(run, phase);
  const body = `# ${phase.phaseName}\n\n${phase.responseText ?? ''}\n`;
  let result: Record<string, unknown>;
  let status: 'completed' | 'failed';
  try {
    await env.FILES.put(key, body, {
      httpMetadata: { contentType: 'text/markdown; charset=utf-8' },
      customMetadata: { filename: phaseFileName(phase) },
    });
    status = 'completed';
    result = { success: true, message: 'File created successfully', filename: phaseFileName(phase), size: body.length };
  } catch (err) {
    status = 'failed';
    result = { success: false, message: `File not written: ${String(err)}` };
  }
  await db
    .insert(integrationOperations)
    .values({
      id: crypto.randomUUID(),
      runId: run.id,
      phaseId: phase.id,
      operationType: 'file_system',
      status,
      result,
      objectKey: status === 'completed' ? key : null,
      executionTimeMs: Math.round(performance.now() - started),
    })
    .run();
}
