import { z } from '@hono/zod-openapi';
import { PROJECT_PRIORITIES, PROJECT_STATUSES, RUN_STATUSES } from '../../db/schema';
import type { ProjectWithCreator, RunSummary } from './queries';

// Seed 003's project shapes (§2.3): the list item, and GET one's with its latest runs.
export const CreatorSchema = z
  .object({
    id: z.string(),
    username: z.string(),
    full_name: z.string().nullable(),
  })
  .openapi('ProjectCreator', { description: 'Who created it; null once their account is deleted' });

export const ProjectSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    topic: z.string(),
    status: z.enum(PROJECT_STATUSES),
    priority: z.enum(PROJECT_PRIORITIES),
    created_by: CreatorSchema.nullable(),
    metadata: z.record(z.string(), z.unknown()),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('Project');

export const ProjectRunSchema = z
  .object({
    id: z.string(),
    status: z.enum(RUN_STATUSES),
    success_rate: z.number().nullable().openapi({ description: 'Percent of the ended phases that completed' }),
    created_at: z.string(),
  })
  .openapi('ProjectRun');

export const ProjectDetailSchema = ProjectSchema.extend({
  orchestration_runs: z
    .array(ProjectRunSchema)
    .openapi({ description: 'The latest runs of the project, newest first (GET /orchestration lists them all)' }),
}).openapi('ProjectDetail');

export type ProjectView = z.infer<typeof ProjectSchema>;

export function projectView(r: ProjectWithCreator): ProjectView {
  const p = r.project;
  return {
    id: p.id,
    name: p.name,
    description: p.description,
    topic: p.topic,
    status: p.status,
    priority: p.priority,
    created_by:
      p.createdBy !== null && r.creatorUsername !== null
        ? { id: p.createdBy, username: r.creatorUsername, full_name: r.creatorFullName }
        : null,
    metadata: p.metadata,
    created_at: p.createdAt,
    updated_at: p.updatedAt,
  };
}

export function projectDetailView(r: ProjectWithCreator, runs: RunSummary[]): z.infer<typeof ProjectDetailSchema> {
  return {
    ...projectView(r),
    orchestration_runs: runs.map((run) => ({
      id: run.id,
      status: run.status,
      success_rate: run.successRate,
      created_at: run.createdAt,
    })),
  };
}
