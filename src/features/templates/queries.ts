import { and, count, eq, or, sql } from 'drizzle-orm';
import type { Database } from '../../db/client';
import { templates, users } from '../../db/schema';
import { defineList, type ListQuery } from '../../lib/list-query';

export type TemplateRow = typeof templates.$inferSelect;

export interface TemplateWithCreator {
  template: TemplateRow;
  creatorUsername: string | null;
  creatorFullName: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const withCreator = {
  template: templates,
  creatorUsername: users.username,
  creatorFullName: users.fullName,
};

// What an organization sees: its own templates, and every organization's public ones.
const visibleTo = (organizationId: string) =>
  or(eq(templates.organizationId, organizationId), eq(templates.isPublic, true));

// GET /templates: seed 003 §2.5 and §6.
export const templateList = defineList<TemplateWithCreator>({
  sortable: {
    name: { expr: sql`${templates.name} COLLATE NOCASE`, type: 'string', key: (r) => r.template.name },
    category: { expr: templates.category, type: 'string', key: (r) => r.template.category },
    usage_count: { expr: templates.usageCount, type: 'number', key: (r) => r.template.usageCount },
    created_at: { expr: templates.createdAt, type: 'string', key: (r) => r.template.createdAt },
    updated_at: { expr: templates.updatedAt, type: 'string', key: (r) => r.template.updatedAt },
  },
  defaultSort: '-created_at',
  id: { expr: templates.id, type: 'string', key: (r) => r.template.id },
  filters: {
    category: { kind: 'exact', column: templates.category, max: 50 },
    is_public: { kind: 'boolean', column: templates.isPublic },
  },
  search: [templates.name, templates.description],
  created: templates.createdAt,
});

export async function listTemplates(db: Database, organizationId: string, q: ListQuery<TemplateWithCreator>) {
  const scope = and(visibleTo(organizationId), q.where);
  // One batch: the page and its counts are read from the same state of the table.
  const [rows, counts] = await db.batch([
    db
      .select(withCreator)
      .from(templates)
      .leftJoin(users, eq(users.id, templates.createdBy))
      .where(and(scope, q.seek))
      .orderBy(...q.orderBy)
      .limit(q.fetch)
      .offset(q.offset),
    db.select({ total: count(), before: q.before }).from(templates).where(scope),
  ]);
  return q.finish(rows, counts[0] ?? { total: 0, before: 0 });
}

// A template the organization may use: its own, or a public one; undefined otherwise (and for an id that
// is no UUID). A run started from a template checks it with this.
export async function findVisibleTemplate(
  db: Database,
  organizationId: string,
  templateId: string,
): Promise<TemplateWithCreator | undefined> {
  if (!UUID.test(templateId)) return undefined;
  return db
    .select(withCreator)
    .from(templates)
    .leftJoin(users, eq(users.id, templates.createdBy))
    .where(and(eq(templates.id, templateId), visibleTo(organizationId)))
    .get();
}
