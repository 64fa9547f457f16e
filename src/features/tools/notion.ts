import { z } from 'zod';
import type { Config } from '../../config';
import { defineTool, type ToolContext } from './types';
import { callUpstream } from './upstream';

// Notion's REST API: search (POST /v1/search) and a new page in the configured database (POST /v1/pages).
// On only with an integration token; page creation also needs the database.

export const NOTION_BASE_URL = 'https://api.notion.com/v1';
export const NOTION_VERSION = '2022-06-28';
const SERVICE = 'Notion';
// Notion's limits: 2000 characters per rich-text object, 100 blocks per request.
const TEXT_CHUNK = 2_000;
const MAX_CONTENT = 20_000;

const RichText = z.object({ plain_text: z.string().optional() });
const Property = z.object({ type: z.string().optional(), title: z.array(RichText).optional() });
const Page = z.object({
  object: z.string(),
  id: z.string(),
  url: z.string().optional(),
  last_edited_time: z.string().optional(),
  // Pages: the property whose type is 'title'; databases: a `title` rich-text array.
  properties: z.record(z.string(), Property).optional(),
  title: z.array(RichText).optional(),
});
type Page = z.infer<typeof Page>;
const SearchAnswer = z.object({ results: z.array(Page), has_more: z.boolean().optional() });

function titleOf(p: Page): string {
  const rich = p.title ?? Object.values(p.properties ?? {}).find((prop) => prop.type === 'title')?.title ?? [];
  return rich.map((t) => t.plain_text ?? '').join('');
}

const pageView = (p: Page) => ({
  id: p.id,
  object: p.object,
  title: titleOf(p),
  url: p.url ?? null,
  lastEdited: p.last_edited_time ?? null,
});

function notionFetch<T>(ctx: ToolContext, path: string, body: unknown, schema: z.ZodType<T>): Promise<T> {
  const base = (ctx.config.NOTION_BASE_URL ?? NOTION_BASE_URL).replace(/\/+$/, '');
  return callUpstream(
    {
      service: SERVICE,
      url: `${base}${path}`,
      init: {
        method: 'POST',
        headers: {
          authorization: `Bearer ${ctx.config.NOTION_API_KEY ?? ''}`,
          'notion-version': NOTION_VERSION,
          'content-type': 'application/json',
        },
        body: JSON.stringify(body),
      },
      signal: ctx.signal,
    },
    schema,
  );
}

export const notionSearch = defineTool({
  name: 'notion_search',
  description: 'Searches the Notion pages and databases shared with the integration, by title.',
  parameters: {
    type: 'object',
    properties: {
      query: { type: 'string', maxLength: 200 },
      limit: { type: 'integer', minimum: 1, maximum: 25 },
    },
    required: ['query'],
    additionalProperties: false,
  },
  args: z.object({ query: z.string().max(200), limit: z.number().int().min(1).max(25).optional() }),
  enabled: (config: Config) => config.NOTION_API_KEY !== undefined,
  run: async ({ query, limit }, ctx) => {
    const answer = await notionFetch(ctx, '/search', { query, page_size: limit ?? 10 }, SearchAnswer);
    return { results: answer.results.map(pageView), hasMore: answer.has_more ?? false };
  },
});

function paragraphs(content: string) {
  const blocks = [];
  for (let i = 0; i < content.length; i += TEXT_CHUNK) {
    const piece = content.slice(i, i + TEXT_CHUNK);
    blocks.push({
      object: 'block',
      type: 'paragraph',
      paragraph: { rich_text: [{ type: 'text', text: { content: piece } }] },
    });
  }
  return blocks;
}

export const notionCreatePage = defineTool({
  name: 'notion_create_page',
  description: 'Creates a page in the configured Notion database, with a title and optional text content.',
  parameters: {
    type: 'object',
    properties: {
      title: { type: 'string', maxLength: TEXT_CHUNK },
      content: { type: 'string', maxLength: MAX_CONTENT },
    },
    required: ['title'],
    additionalProperties: false,
  },
  args: z.object({ title: z.string().trim().min(1).max(TEXT_CHUNK), content: z.string().max(MAX_CONTENT).optional() }),
  enabled: (config: Config) => config.NOTION_API_KEY !== undefined && config.NOTION_DATABASE_ID !== undefined,
  run: async ({ title, content }, ctx) => {
    // A database's title property always has the id `title`, whatever its name, and ids work as keys.
    const page = await notionFetch(
      ctx,
      '/pages',
      {
        parent: { database_id: ctx.config.NOTION_DATABASE_ID },
        properties: { title: { title: [{ type: 'text', text: { content: title } }] } },
        ...(content ? { children: paragraphs(content) } : {}),
      },
      Page,
    );
    return { created: { ...pageView(page), title: titleOf(page) || title } };
  },
});
