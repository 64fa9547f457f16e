import type { Validator } from '@cfworker/json-schema';
import type { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Config } from '../../config';
import type { AppEnv } from '../../env';
import { ApiError, type ErrorDetail } from '../../lib/errors';
import { type CachePolicy, promptOf, store } from '../cache';
import { beginCall, type ChatCall, pipelineDeps, runChat } from '../gateway';
import { parseTarget } from '../models';
import type { ChatMessage, ResponseFormat } from '../providers';
import { detailsOf } from './json-schema';
import { LIMITS } from './limits';

// What a structured call asks for: the JSON Schema of the answer (sent to the provider as its
// structured-output format and checked here with @cfworker/json-schema) and the zod envelope that
// types it and adds the checks a schema cannot say (an enum's values of the field's type…).
export interface StructuredSpec<T> {
  dialect: string;
  name: string;
  schema: Record<string, unknown>;
  validator: Validator;
  envelope: z.ZodType<T>;
  system: string;
  user: string;
  // Stored as the request's text: the caller's own prompt.
  text: string;
  model: string | undefined;
}

export interface AnsweredBy {
  provider: string;
  model: string;
}

export interface StructuredAnswer<T> {
  value: T;
  model: AnsweredBy;
  // Model calls made: 1, or 2 after a retry.
  calls: number;
  cache: 'HIT' | 'MISS' | 'BYPASS';
}

/**
 * The model that answers: the one the prompt is compiled for when its provider is configured here, else
 * the deployment's default (the local provider without keys). An unknown model id is still a 400.
 */
export function answeringModel(spec: string | undefined, config: Config): string | undefined {
  if (spec === undefined) return undefined;
  const target = parseTarget(spec, config, 'modelid');
  return target.provider.isConfigured(config) ? spec : undefined;
}

// Models often fence JSON in Markdown even when asked not to; the fence is not part of the answer.
function unfenced(text: string): string {
  const m = /^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/.exec(text);
  return (m?.[1] ?? text).trim();
}

type Checked<T> = { ok: true; value: T } | { ok: false; problems: string[] };

function check<T>(text: string, spec: StructuredSpec<T>): Checked<T> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(unfenced(text));
  } catch (err) {
    const shown = text.length > LIMITS.shownAnswer ? `${text.slice(0, LIMITS.shownAnswer)}…` : text;
    return { ok: false, problems: [`not JSON (${(err as Error).message}): ${JSON.stringify(shown)}`] };
  }
  const result = spec.validator.validate(parsed);
  if (!result.valid) {
    return { ok: false, problems: detailsOf(result.errors, 'structured_output').map((d) => d.message) };
  }
  const typed = spec.envelope.safeParse(parsed);
  if (!typed.success) {
    return {
      ok: false,
      problems: typed.error.issues.slice(0, 5).map((i) => `/${i.path.join('/')}: ${i.message}`),
    };
  }
  return { ok: true, value: typed.data };
}

function correction(problems: string[], task: string): string {
  return [
    'Your previous answer was not valid:',
    ...problems.map((p) => `- ${p}`),
    'Answer again with only one JSON document that follows the schema exactly.',
    '',
    'The task again:',
    task,
  ].join('\n');
}

/**
 * One structured model call through the gateway pipeline (admitted, counted, limited, quota-charged and
 * logged like any AI call), retried once when the answer is not valid, the retry telling the model what
 * was wrong; a second invalid answer is a 502 listing both attempts' problems.
 *
 * Caching: the pipeline reads the cache as the caller allows but never writes; only an answer that
 * passed validation is stored (here), so an invalid answer is never served again, on the retry or later.
 */
export async function structuredCall<T>(c: Context<AppEnv>, spec: StructuredSpec<T>): Promise<StructuredAnswer<T>> {
  const deps = pipelineDeps(c);
  const responseFormat: ResponseFormat = { type: 'json_schema', name: spec.name, schema: spec.schema, strict: false };
  const first: ChatMessage[] = [
    { role: 'system', content: spec.system },
    { role: 'user', content: spec.user },
  ];
  const attempts: string[][] = [];
  let messages = first;
  for (let round = 1; round <= 2; round++) {
    const base = await beginCall(c, spec.dialect);
    const callerPolicy = base.cachePolicy;
    const policy: CachePolicy = {
      ...callerPolicy,
      read: callerPolicy.read && round === 1,
      write: false,
      semantic: false,
    };
    const call: ChatCall = {
      ...base,
      cachePolicy: policy,
      ...(spec.model !== undefined ? { model: spec.model } : {}),
      messages,
      temperature: 0,
      text: spec.text,
      responseFormat,
    };
    const outcome = await runChat(deps, call);
    const checked = check(outcome.result.text, spec);
    const model = { provider: outcome.target.provider.id, model: outcome.result.model || outcome.target.model };
    if (checked.ok) {
      if (callerPolicy.write && outcome.cache.status !== 'HIT') {
        deps.waitUntil(
          store(
            { env: deps.env, config: deps.config, tenant: call.tenant, waitUntil: deps.waitUntil, log: deps.log },
            outcome.target,
            call,
            outcome.cache,
            {
              text: outcome.result.text,
              model: model.model,
              provider: model.provider,
              finishReason: outcome.result.finishReason,
              usage: outcome.result.usage,
              prompt: promptOf(call),
              createdAt: new Date().toISOString(),
            },
          ),
        );
      }
      return { value: checked.value, model, calls: round, cache: outcome.cache.status };
    }
    attempts.push(checked.problems);
    messages = [
      ...first,
      { role: 'assistant', content: outcome.result.text },
      { role: 'user', content: correction(checked.problems, spec.user) },
    ];
  }
  const details: ErrorDetail[] = attempts.flatMap((problems, i) =>
    problems.map((message) => ({ field: `structured_output.attempt_${i + 1}`, message })),
  );
  throw new ApiError('PROVIDER_ERROR', 'The model answered invalid structured output twice', { details });
}
