import type { IncomingMessage, ServerResponse } from 'node:http';

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
