// The shapes the orchestration pages read from the public API (docs/api.md "Projects", "Templates",
// "Orchestration runs"), typed only as far as the pages use them.
import type { Role } from '../../lib/api';

export interface Pagination {
  total: number;
  limit: number;
  offset: number;
  page: number;
  pages: number;
  has_next: boolean;
  has_prev: boolean;
}

export interface ListPage<T> {
  data: T[];
  pagination: Pagination;
}

export interface Creator {
  id: string;
  username: string;
  full_name: string | null;
}

export const PROJECT_STATUSES = ['active', 'completed', 'archived', 'failed'] as const;
export const PROJECT_PRIORITIES = ['low', 'medium', 'high', 'urgent'] as const;
export type ProjectStatus = (typeof PROJECT_STATUSES)[number];
export type ProjectPriority = (typeof PROJECT_PRIORITIES)[number];

export interface Project {
  id: string;
  name: string;
  description: string | null;
  topic: string;
  status: ProjectStatus;
  priority: ProjectPriority;
  created_by: Creator | null;
  created_at: string;
  updated_at: string;
}

export interface TemplateSettings {
  ai_model?: string;
  max_tokens?: number;
  temperature?: number;
  integration_enabled?: boolean;
}

export interface TemplateData {
  phases: string[];
  integrations?: string[];
  settings?: TemplateSettings;
}

export interface Template {
  id: string;
  name: string;
  description: string | null;
  category: string;
  is_public: boolean;
  usage_count: number;
  created_by: Creator | null;
  template_data: TemplateData;
  created_at: string;
  updated_at: string;
}

export const RUN_STATUSES = ['started', 'running', 'completed', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const TERMINAL: readonly string[] = ['completed', 'failed', 'cancelled'];

export interface RunListItem {
  id: string;
  project: { id: string; name: string };
  topic: string;
  status: string;
  success_rate: number | null;
  execution_time_ms: number | null;
  created_at: string;
}

export interface Run {
  id: string;
  project_id: string;
  topic: string;
  status: string;
  total_phases: number;
  completed_phases: number;
  success_rate: number | null;
  integration_enabled: boolean;
  execution_time_ms: number | null;
  template_id: string | null;
  error: string | null;
  created_at: string;
  completed_at: string | null;
}

export interface Phase {
  id: string;
  phase_code: string;
  phase_name: string;
  status: string;
  response_text: string | null;
  model: string | null;
  execution_time_ms: number | null;
  token_usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
  attempts: number;
  error: string | null;
  started_at: string | null;
  completed_at: string | null;
}

export interface Operation {
  id: string;
  phase_id: string | null;
  operation_type: string;
  status: string;
  result: Record<string, unknown>;
  file_url: string | null;
  created_at: string;
}

export interface RunDetail {
  run: Run;
  phases: Phase[];
  integration_operations: Operation[];
}

export interface Started {
  run_id: string;
  status: 'started';
  phases: { code: string; name: string; status: string; estimated_duration: string }[];
  estimated_completion: string;
}

const RANK: Record<Role, number> = { viewer: 0, member: 1, manager: 2, admin: 3 };

export const atLeast = (role: Role | undefined, min: Role): boolean => role !== undefined && RANK[role] >= RANK[min];
