// A mock of Notion's REST API (version 2022-06-28), the two endpoints the tools use:
//   POST /notion/v1/search {query, page_size, filter?} → {object:'list', results, has_more}: pages whose title
//        contains the query (case-insensitive), newest first
//   POST /notion/v1/pages  {parent: {database_id}, properties: {title|<name>: {title: [rich text]}}, children?}
//        → the page object; the title property must be given (by its id `title` or a name), as Notion requires
// Both need `Authorization: Bearer NOTION_MOCK_KEY` (401 unauthorized otherwise) and
// `Notion-Version: 2022-06-28` (400 missing_version otherwise). Pages live in memory.
// Fault: query=__hang__ on search never answers.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hang, json, type VendorHandler } from './common';

export const NOTION_MOCK_KEY = 'ntn_mock_integration_0123456789';
export const NOTION_MOCK_VERSION = '2022-06-28';

interface MockPage {
  object: 'page';
  id: string;
  created_time: string;
  last_edited_time: string;
  url: string;
  parent: { type: 'database_id'; database_id: string };
  properties: Record<
    string,
    { id: string; type: 'title'; title: { type: 'text'; text: { content: string }; plain_text: string }[] }
  >;
  children: unknown[];
}

const pages: MockPage[] = [];

const notionError = (res: ServerResponse, status: number, code: string, message: string) =>
  json(res, status, { object: 'error', status, code, message });

function parseJson(body: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(body);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const titleOf = (p: MockPage) => p.properties.Name?.title.map((t) => t.plain_text).join('') ?? '';

// The title property as the request gives it: under its id `title` or under any name, as rich text.
function requestedTitle(properties: unknown): string | undefined {
  if (!properties || typeof properties !== 'object') return undefined;
  for (const value of Object.values(properties as Record<string, unknown>)) {
    const rich = (value as { title?: unknown } | null)?.title;
    if (!Array.isArray(rich)) continue;
    return rich
      .map((r: { text?: { content?: unknown } }) => (typeof r?.text?.content === 'string' ? r.text.content : ''))
      .join('');
  }
  return undefined;
}

function search(body: Record<string, unknown>, res: ServerResponse): Promise<void> | void {
  const query = typeof body.query === 'string' ? body.query : '';
  if (query === '__hang__') return hang();
  const size = typeof body.page_size === 'number' ? body.page_size : 100;
  const found = pages
    .filter((p) => titleOf(p).toLowerCase().includes(query.toLowerCase()))
    .reverse()
    .map(({ children: _children, ...page }) => page);
  json(res, 200, { object: 'list', results: found.slice(0, size), next_cursor: null, has_more: found.length > size });
}

function createPage(body: Record<string, unknown>, res: ServerResponse): void {
  const databaseId = (body.parent as { database_id?: unknown } | undefined)?.database_id;
  if (typeof databaseId !== 'string' || databaseId === '') {
    return notionError(res, 400, 'validation_error', 'body.parent.database_id should be defined');
  }
  const title = requestedTitle(body.properties);
  if (title === undefined) return notionError(res, 400, 'validation_error', 'Title is not provided');
  const id = randomUUID();
  const now = new Date().toISOString();
  const page: MockPage = {
    object: 'page',
    id,
    created_time: now,
    last_edited_time: now,
    url: `https://www.notion.so/${id.replaceAll('-', '')}`,
    parent: { type: 'database_id', database_id: databaseId },
    properties: {
      Name: { id: 'title', type: 'title', title: [{ type: 'text', text: { content: title }, plain_text: title }] },
    },
    children: Array.isArray(body.children) ? body.children : [],
  };
  pages.push(page);
  const { children: _children, ...answer } = page;
  json(res, 200, answer);
}

export const notion: VendorHandler = async (req: IncomingMessage, url, body, res) => {
  if (req.headers.authorization !== `Bearer ${NOTION_MOCK_KEY}`) {
    return notionError(res, 401, 'unauthorized', 'API token is invalid.');
  }
  if (req.headers['notion-version'] !== NOTION_MOCK_VERSION) {
    return notionError(res, 400, 'missing_version', 'Notion-Version header failed validation.');
  }
  const b = parseJson(body);
  if (!b) return notionError(res, 400, 'invalid_json', 'Error parsing JSON body.');
  if (req.method === 'POST' && url.pathname === '/notion/v1/search') return search(b, res);
  if (req.method === 'POST' && url.pathname === '/notion/v1/pages') return createPage(b, res);
  return notionError(res, 404, 'object_not_found', `no notion mock for ${req.method} ${url.pathname}`);
};
