import { and, count, desc, eq, sql } from 'drizzle-orm';
import type { Database } from '../../db/client';
import { orchestrationRuns, PROJECT_PRIORITIES, PROJECT_STATUSES, projects, users } from '../../db/schema';
import { defineList, type ListQuery, rankOf } from '../../lib/list-query';

export type ProjectRow = typeof projects.$inferSelect;

export interface ProjectWithCreator {
  project: ProjectRow;
  creatorUsername: string | null;
  creatorFullName: string | null;
}

export interface RunSummary {
  id: string;
  status: (typeof orchestrationRuns.$inferSelect)['status'];
  successRate: number | null;
  createdAt: string;
}

// GET one shows this many of the project's runs, newest first; GET /orchestration?project_id= has them all.
export const RUNS_SHOWN = 50;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const withCreator = {
  project: projects,
  creatorUsername: users.username,
  creatorFullName: users.fullName,
};

// GET /projects: seed 003 §2.3 and §6. Priority sorts by rank (low < medium < high < urgent), names without
// regard to ASCII case.
export const projectList = defineList<ProjectWithCreator>({
  sortable: {
    priority: {
      expr: rankOf(projects.priority, PROJECT_PRIORITIES),
      type: 'number',
      key: (r) => PROJECT_PRIORITIES.indexOf(r.project.priority),
    },
    status: { expr: projects.status, type: 'string', key: (r) => r.project.status },
    name: { expr: sql`${projects.name} COLLATE NOCASE`, type: 'string', key: (r) => r.project.name },
    created_at: { expr: projects.createdAt, type: 'string', key: (r) => r.project.createdAt },
    updated_at: { expr: projects.updatedAt, type: 'string', key: (r) => r.project.updatedAt },
  },
  defaultSort: '-created_at',
  id: { expr: projects.id, type: 'string', key: (r) => r.project.id },
  filters: {
    status: { kind: 'enum', column: projects.status, values: PROJECT_STATUSES },
    priority: { kind: 'enum', column: projects.priority, values: PROJECT_PRIORITIES },
  },
  search: [projects.name, projects.description],
  created: projects.createdAt,
});

export async function listProjects(db: Database, organizationId: string, q: ListQuery<ProjectWithCreator>) {
  const scope = and(eq(projects.organizationId, organizationId), q.where);
  // One batch: the page and its counts are read from the same state of the table.
  const [rows, counts] = await db.batch([
    db
      .select(withCreator)
      .from(projects)
      .leftJoin(users, eq(users.id, projects.createdBy))
      .where(and(scope, q.seek))
      .orderBy(...q.orderBy)
      .limit(q.fetch)
      .offset(q.offset),
    db.select({ total: count(), before: q.before }).from(projects).where(scope),
  ]);
  return q.finish(rows, counts[0] ?? { total: 0, before: 0 });
}

// The organization's project with this id; undefined for another organization's, or an id that is no UUID.
export async function findProject(
  db: Database,
  organizationId: string,
  projectId: string,
): Promise<ProjectWithCreator | undefined> {
  if (!UUID.test(projectId)) return undefined;
  return db
    .select(withCreator)
    .from(projects)
    .leftJoin(users, eq(users.id, projects.createdBy))
    .where(and(eq(projects.id, projectId), eq(projects.organizationId, organizationId)))
    .get();
}

export async function latestRuns(db: Database, organizationId: string, projectId: string): Promise<RunSummary[]> {
  return db
    .select({
      id: orchestrationRuns.id,
      status: orchestrationRuns.status,
      successRate: orchestrationRuns.successRate,
      createdAt: orchestrationRuns.createdAt,
    })
    .from(orchestrationRuns)
    .where(and(eq(orchestrationRuns.projectId, projectId), eq(orchestrationRuns.organizationId, organizationId)))
    .orderBy(desc(orchestrationRuns.createdAt), desc(orchestrationRuns.id))
    .limit(RUNS_SHOWN)
    .all();
}
