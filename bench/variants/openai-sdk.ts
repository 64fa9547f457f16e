// Profiling variant: the pass-through plus what Edgeway's provider layer adds — parse the JSON body,
// call the mock through the official openai SDK (same version, same client options as
// src/features/providers/openai-compatible/base.ts: maxRetries 0, a timeout, a fetch wrapper refusing
// redirects) and answer with the SDK's result as JSON. No Hono, no validation, no D1.
// The bench bundles it with esbuild at run time; it is not part of the worker.
import OpenAI from 'openai';

interface Env {
  OPENAI_API_KEY: string;
  OPENAI_BASE_URL: string;
}

let client: OpenAI | undefined;

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    client ??= new OpenAI({
      apiKey: env.OPENAI_API_KEY,
      baseURL: env.OPENAI_BASE_URL,
      timeout: 30_000,
      maxRetries: 0,
      fetch: (input, init) => fetch(input, { ...init, redirect: 'manual' }),
    });
    const body = (await request.json()) as { model: string; messages: { role: 'user' | 'system'; content: string }[] };
    const completion = await client.chat.completions.create({
      model: body.model,
      messages: body.messages,
      stream: false,
    });
    return Response.json(completion);
  },
};
