// The playground's request as code to copy: curl against the platform endpoint, the `openai` SDK against
// /v1 and the `@anthropic-ai/sdk` against the origin. The API key is always the $EDGEWAY_API_KEY
// placeholder (an environment variable): a snippet never carries the session's token.
export interface PlaygroundRequest {
  message: string;
  model: string;
  system_prompt?: string;
  temperature?: number;
  max_tokens?: number;
}

// The body the page itself sends, and the curl snippet sends too.
export function platformBody(r: PlaygroundRequest): Record<string, unknown> {
  return {
    message: r.message,
    model: r.model,
    ...(r.system_prompt ? { system_prompt: r.system_prompt } : {}),
    ...(r.temperature !== undefined ? { temperature: r.temperature } : {}),
    ...(r.max_tokens !== undefined ? { max_tokens: r.max_tokens } : {}),
    stream: true,
  };
}

// Single-quoted for a POSIX shell: a quote inside closes, escapes and reopens.
const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export function curlSnippet(origin: string, r: PlaygroundRequest): string {
  return [
    `curl -N ${shellQuote(`${origin}/api/v1/chat/completion`)} \\`,
    `  -H "Authorization: Bearer $EDGEWAY_API_KEY" \\`,
    `  -H 'Content-Type: application/json' \\`,
    `  -d ${shellQuote(JSON.stringify(platformBody(r)))}`,
  ].join('\n');
}

// JSON is valid TypeScript for strings and numbers; indented under the call it belongs to.
const ts = (v: unknown, indent: string): string => JSON.stringify(v, null, 2).replace(/\n/g, `\n${indent}`);

export function openaiSnippet(origin: string, r: PlaygroundRequest): string {
  const messages = [
    ...(r.system_prompt ? [{ role: 'system', content: r.system_prompt }] : []),
    { role: 'user', content: r.message },
  ];
  return [
    `import OpenAI from 'openai';`,
    ``,
    `const client = new OpenAI({ baseURL: ${ts(`${origin}/v1`, '')}, apiKey: process.env.EDGEWAY_API_KEY });`,
    ``,
    `const stream = await client.chat.completions.create({`,
    `  model: ${ts(r.model, '  ')},`,
    `  messages: ${ts(messages, '  ')},`,
    ...(r.temperature !== undefined ? [`  temperature: ${r.temperature},`] : []),
    ...(r.max_tokens !== undefined ? [`  max_tokens: ${r.max_tokens},`] : []),
    `  stream: true,`,
    `});`,
    `for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta?.content ?? '');`,
  ].join('\n');
}

// The Messages API requires max_tokens: the playground's, else 1024.
export function anthropicSnippet(origin: string, r: PlaygroundRequest): string {
  return [
    `import Anthropic from '@anthropic-ai/sdk';`,
    ``,
    `const client = new Anthropic({ baseURL: ${ts(origin, '')}, apiKey: process.env.EDGEWAY_API_KEY });`,
    ``,
    `const stream = client.messages.stream({`,
    `  model: ${ts(r.model, '  ')},`,
    `  max_tokens: ${r.max_tokens ?? 1024},`,
    ...(r.system_prompt ? [`  system: ${ts(r.system_prompt, '  ')},`] : []),
    ...(r.temperature !== undefined ? [`  temperature: ${r.temperature},`] : []),
    `  messages: ${ts([{ role: 'user', content: r.message }], '  ')},`,
    `});`,
    `stream.on('text', (text) => process.stdout.write(text));`,
    `await stream.finalMessage();`,
  ].join('\n');
}
