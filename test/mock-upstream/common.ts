import type { IncomingMessage, ServerResponse } from 'node:http';
import { jsonSchemaInstance } from '../../src/lib/json-schema-instance';

// Faults are chosen by a marker in the last user message, e.g. "hello [[fault:500]]":
//   400 | 500 | 429 (with Retry-After: 1) | hang | slow (first token after SLOW_FIRST_TOKEN_MS) |
//   malformed (bad JSON / bad event) | cut (stream stops mid-answer, no terminal event) |
//   redirect (302 to another host) | flaky (OpenAI only: 503 twice, then an answer) |
//   delay (OpenAI only: the answer after DELAY_MS)
// Embeddings only (chat ignores them): embed500 | embedhang | embedmalformed | embeddims | embedinf.
export const FAULT_MARKER = /\[\[fault:([a-z0-9]+)\]\]/;
export const SLOW_FIRST_TOKEN_MS = 1500;
export const DELAY_MS = 4000;

export type VendorHandler = (req: IncomingMessage, url: URL, body: string, res: ServerResponse) => Promise<void>;

export function faultOf(prompt: string): string | undefined {
  return FAULT_MARKER.exec(prompt)?.[1];
}

// The mock's answer is derived from the prompt so tests can tell answers apart.
export function mockAnswer(prompt: string): string {
  return `Mock answer to: ${prompt.replace(/\[\[fault:[a-z0-9]+\]\]/g, '').trim()}`;
}

export function tokenCounts(prompt: string, answer: string): { input: number; output: number } {
  return { input: Math.max(1, Math.ceil(prompt.length / 4)), output: Math.max(1, Math.ceil(answer.length / 4)) };
}

export function lastUserText(messages: unknown): string {
  const list = Array.isArray(messages) ? (messages as { role?: unknown; content?: unknown }[]) : [];
  for (let i = list.length - 1; i >= 0; i--) {
    const m = list[i];
    if (!m || m.role !== 'user') continue;
    if (typeof m.content === 'string') return m.content;
    if (Array.isArray(m.content)) {
      // A turn of tool results only (Anthropic tool_result, Bedrock toolResult) is not the user's words.
      const blocks = m.content as { type?: unknown; toolResult?: unknown; text?: unknown }[];
      if (blocks.length > 0 && blocks.every((b) => b?.type === 'tool_result' || b?.toolResult !== undefined)) continue;
      // Anthropic blocks ({type:'text', text}) and Bedrock blocks ({text}) both carry `text`.
      return (m.content as { text?: unknown }[]).map((b) => (typeof b.text === 'string' ? b.text : '')).join('');
    }
    return JSON.stringify(m.content);
  }
  return '';
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function redirect(res: ServerResponse, path: string): void {
  res.writeHead(302, { location: `http://evil.example${path}` });
  res.end();
}

// Never answers; the connection stays open until the client gives up.
export function hang(): Promise<void> {
  return new Promise(() => undefined);
}

// ---- Tools and structured output (the conventions of /work/tools/issue14-plan.md) ----
// Markers, read from the last user message that has text (a turn of tool results only is skipped):
//   [[tool:NAME {json}]] / [[tool:NAME]]: with tools defined and the last turn not tool results, one call
//     to NAME with those arguments; several markers, several parallel calls.
//   [[fault:toolloop]]: with tools defined, always a call to the first tool with {} (a loop without end).
//   [[fault:badtool]]: a tool-call answer in the vendor's shape but malformed (no name, bad types).
//   [[json:X]]: structured output answers the raw text X (X ends at the first `]]`, may be invalid JSON).
//   [[jsononce:X]]: X only the first time this X is seen, then [[json:Y]] of the message, or the schema's
//     minimal instance.
// tool_choice required / a named tool without a marker: a call to that tool (or the first) with the
// minimal instance of its parameters' schema ({} when nothing is required).
export { jsonSchemaInstance };

export interface MockTool {
  name: string;
  schema: unknown;
}
export type MockToolChoice = 'auto' | 'none' | 'required' | { name: string } | undefined;
export interface MockToolCall {
  id: string;
  name: string;
  arguments: string;
}

const TOOL_MARKER = /\[\[tool:([a-zA-Z0-9_-]+)\s*(\{[\s\S]*?\})?\]\]/g;
const JSON_MARKER = /\[\[json:([\s\S]*?)\]\]/;
const JSONONCE_MARKER = /\[\[jsononce:([\s\S]*?)\]\]/;
const jsononceSeen = new Map<string, number>();

export const toolCallId = (prefix = 'call') => `${prefix}_${Math.random().toString(36).slice(2, 14)}`;

export function toolMarkers(prompt: string): { name: string; arguments: string }[] {
  return [...prompt.matchAll(TOOL_MARKER)].map((m) => ({ name: m[1] ?? '', arguments: m[2] ?? '{}' }));
}

// The calls the mock answers with, or undefined for a text answer. `toolResults` is set when the last
// turn carries tool results.
export function planToolCalls(
  prompt: string,
  tools: MockTool[],
  choice: MockToolChoice,
  toolResults: string[] | undefined,
  idPrefix = 'call',
): MockToolCall[] | undefined {
  if (tools.length === 0 || choice === 'none') return undefined;
  const first = tools[0] as MockTool;
  if (faultOf(prompt) === 'toolloop') return [{ id: toolCallId(idPrefix), name: first.name, arguments: '{}' }];
  if (toolResults !== undefined) return undefined;
  const markers = toolMarkers(prompt);
  if (markers.length > 0) return markers.map((m) => ({ id: toolCallId(idPrefix), ...m }));
  if (choice === 'required' || (typeof choice === 'object' && choice !== null)) {
    const tool = typeof choice === 'object' ? (tools.find((t) => t.name === choice.name) ?? first) : first;
    return [{ id: toolCallId(idPrefix), name: tool.name, arguments: JSON.stringify(jsonSchemaInstance(tool.schema)) }];
  }
  return undefined;
}

// The raw text of a structured answer: a marker's X, or the schema's minimal instance.
export function structuredText(prompt: string, schema: unknown): string {
  const once = JSONONCE_MARKER.exec(prompt)?.[1];
  if (once !== undefined) {
    const seen = (jsononceSeen.get(once) ?? 0) + 1;
    jsononceSeen.set(once, seen);
    if (seen === 1) return once;
  }
  const fixed = JSON_MARKER.exec(prompt)?.[1];
  if (fixed !== undefined) return fixed;
  return JSON.stringify(jsonSchemaInstance(schema ?? { type: 'object' }));
}

// True when the prompt asks for a given structured answer (so a forced tool is answered with it).
export const hasJsonMarker = (prompt: string) => JSON_MARKER.test(prompt) || JSONONCE_MARKER.test(prompt);

export const afterToolsAnswer = (results: string[]) => `Mock answer after tools: ${results.join(' | ')}`;

// A result's content as text: a string, or the text of its blocks (OpenAI parts, Anthropic blocks,
// Bedrock {text} / {json}).
export function resultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((b: unknown) => {
        if (typeof b !== 'object' || b === null) return '';
        const block = b as { text?: unknown; json?: unknown };
        if (typeof block.text === 'string') return block.text;
        if (block.json !== undefined) return JSON.stringify(block.json);
        return '';
      })
      .join('');
  }
  return content === undefined ? '' : JSON.stringify(content);
}

// Splits an arguments text into a few pieces, as vendors stream them.
export function argumentPieces(text: string): string[] {
  if (text.length <= 4) return [text];
  const third = Math.ceil(text.length / 3);
  return [text.slice(0, third), text.slice(third, 2 * third), text.slice(2 * third)].filter((p) => p !== '');
}
