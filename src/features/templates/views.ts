import { z } from '@hono/zod-openapi';
import type { TemplateWithCreator } from './queries';

// Seed 003's template shapes (§2.5) and what template_data may hold: the phases a run goes through, the
// integrations it names, and the AI settings it runs with.
export const TemplateSettingsSchema = z
  .object({
    ai_model: z.string().trim().min(1).max(200).optional().openapi({ example: 'gpt-4' }),
    max_tokens: z.number().int().min(1).max(1_000_000).optional(),
    temperature: z.number().min(0).max(2).optional(),
    integration_enabled: z.boolean().optional(),
  })
  .strict()
  .openapi('TemplateSettings');

export const TemplateDataSchema = z
  .object({
    phases: z
      .array(z.string().trim().min(1).max(100))
      .min(1)
      .max(20)
      .openapi({ example: ['research', 'design', 'implementation', 'testing'] }),
    integrations: z
      .array(z.string().trim().min(1).max(100))
      .max(20)
      .default([])
      .openapi({ example: ['github', 'docker'] }),
    settings: TemplateSettingsSchema.default({}),
  })
  .strict()
  .openapi('TemplateData');

export type TemplateData = z.infer<typeof TemplateDataSchema>;

export const TemplateCreatorSchema = z
  .object({
    id: z.string(),
    username: z.string(),
    full_name: z.string().nullable(),
  })
  .openapi('TemplateCreator', { description: 'Who created it; null once their account is deleted' });

export const TemplateSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    category: z.string(),
    is_public: z.boolean(),
    usage_count: z.number().int().openapi({ description: 'Orchestration runs started from this template' }),
    created_by: TemplateCreatorSchema.nullable(),
    template_data: TemplateDataSchema,
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('Template');

export function templateView(r: TemplateWithCreator): z.infer<typeof TemplateSchema> {
  const t = r.template;
  return {
    id: t.id,
    name: t.name,
    description: t.description,
    category: t.category,
    is_public: t.isPublic,
    usage_count: t.usageCount,
    created_by:
      t.createdBy !== null && r.creatorUsername !== null
        ? { id: t.createdBy, username: r.creatorUsername, full_name: r.creatorFullName }
        : null,
    // Stored only after TemplateDataSchema accepted it.
    template_data: t.templateData as TemplateData,
    created_at: t.createdAt,
    updated_at: t.updatedAt,
  };
}
