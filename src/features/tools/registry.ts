import type { Config } from '../../config';
import { ApiError } from '../../lib/errors';
import type { ToolDefinition } from '../providers';
import { calculator } from './calculator';
import { calendarCreateEvent, calendarListEvents } from './google-calendar';
import { notionCreatePage, notionSearch } from './notion';
import { searchChatsTool } from './search-chats';
import { getTime } from './time';
import type { Tool } from './types';

// Every tool this deployment knows, built-ins first; adapters are offered only when configured.
const TOOLS: readonly Tool[] = [
  getTime,
  calculator,
  searchChatsTool,
  calendarListEvents,
  calendarCreateEvent,
  notionSearch,
  notionCreatePage,
];

export function findTool(name: string): Tool | undefined {
  return TOOLS.find((t) => t.name === name);
}

export function toolNames(config: Config): string[] {
  return TOOLS.filter((t) => t.enabled(config)).map((t) => t.name);
}

const definitionOf = (t: Tool): ToolDefinition => ({
  name: t.name,
  description: t.description,
  parameters: t.parameters,
});

// The definitions to offer the model: the named ones (each must exist and be enabled here: 400 naming it
// otherwise), or every enabled tool.
export function toolDefinitions(config: Config, names?: string[]): ToolDefinition[] {
  if (names === undefined) return TOOLS.filter((t) => t.enabled(config)).map(definitionOf);
  const details: { field: string; message: string }[] = [];
  const picked: Tool[] = [];
  names.forEach((name, i) => {
    const tool = findTool(name);
    if (!tool) details.push({ field: `tools.${i}`, message: `Unknown tool '${name}'` });
    else if (!tool.enabled(config)) {
      details.push({
        field: `tools.${i}`,
        message: `Tool '${name}' is not enabled: its credentials are not configured`,
      });
    } else if (!picked.includes(tool)) picked.push(tool);
  });
  if (details.length > 0) {
    throw new ApiError('VALIDATION_ERROR', details.map((d) => d.message).join('; '), { details });
  }
  return picked.map(definitionOf);
}
