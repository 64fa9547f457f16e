import type { Config } from '../../config';
import { ApiError } from '../../lib/errors';
import { describeError, type Logger } from '../../lib/log';
import { microBatcher, type MicroBatcher } from '../../lib/micro-batch';
import { contentText, imagesOf, isUpstreamFailure, lastUserIndex } from '../providers';
import type { FinishReason, ToolCall, Usage } from '../providers';
import { cacheKey } from './cache-key';
import { type Embedder, embedderFor } from './embedders';
import { FLIGHT_MEMORY_MS } from '../single-flight';
import { forgetFlights } from '../single-flight';
import type { Target } from '../models';
import type { RouteRequest } from '../gateway';
import type { CacheIndex, LookupBatch } from './cache-index';

export type CacheStatus = 'HIT' | 'MISS' | 'BYPASS';

export interface CachePolicy {
  read: boolean;
  write: boolean;
  semantic: boolean;
  threshold: number;
}

export interface CachedAnswer {
  text: string;
  model: string;
  provider: string;
  finishReason: FinishReason;
  usage: Usage;
  // An answer that asked for tools is stored with its calls and replayed with them, never as text alone.
  toolCalls?: ToolCall[];
  prompt: string;
  createdAt: string;
}

export interface CacheLookup {
  status: CacheStatus;
  key: string;
  kvKey: string;
  answer: CachedAnswer | undefined;
  // Which step answered: the exact key, or a similar earlier prompt (whose score may still round to 1).
  hit: 'exact' | 'semantic' | null;
  similarity: number | null;
  // The prompt's vector from the semantic lookup, so store does not embed it again; null when the
  // embedder failed for this request (store then adds no vector), absent when no lookup embedded it.
  vector?: Float32Array | null;
  // The hash of the prompt's context (all but the last user message), when the lookup computed it.
  context?: string;
}

export interface CacheDeps {
  env: Env;
  config: Config;
  tenant: string;
  waitUntil(p: Promise<unknown>): void;
  log?: Logger;
}

export const THRESHOLD_HEADER = 'x-cache-similarity-threshold';

// Cache-Control on the request (no-cache: do not read, no-store: do not write) and the per-request
// similarity threshold (X-Cache-Similarity-Threshold, 0 to 1).
export function cachePolicy(headers: Headers, config: Config): CachePolicy {
  const cc = (headers.get('cache-control') ?? '').toLowerCase();
  const enabled = config.CACHE_ENABLED;
  const read = enabled && !/\bno-cache\b/.test(cc);
  const raw = headers.get(THRESHOLD_HEADER);
  const threshold = raw === null ? config.SEMANTIC_CACHE_THRESHOLD : Number(raw);
  if (!Number.isFinite(threshold) || threshold < 0 || threshold > 1) {
    throw new ApiError('VALIDATION_ERROR', undefined, {
      details: [{ field: `header.${THRESHOLD_HEADER}`, message: 'Must be a number from 0 to 1' }],
    });
  }
  return {
    read,
    write: enabled && !/\bno-store\b/.test(cc),
    semantic: read && config.SEMANTIC_CACHE_ENABLED,
    threshold,
  };
}

function lastUser(request: RouteRequest): { prompt: string; context: RouteRequest['messages'] } {
  const i = lastUserIndex(request.messages);
  if (i < 0) return { prompt: '', context: request.messages };
  return {
    prompt: contentText(request.messages[i]?.content ?? ''),
    context: [...request.messages.slice(0, i), ...request.messages.slice(i + 1)],
  };
}

const kvKeyOf = (tenant: string, key: string) => `rc:${tenant}:${key}`;
const cacheIndex = (deps: CacheDeps) => deps.env.CACHE_INDEX.get(deps.env.CACHE_INDEX.idFromName(deps.tenant));
// The embedder id is the last segment (ids hold no `|`): switching embedders starts a separate index.
const semanticIndex = (deps: CacheDeps, target: Target, embedder: Embedder) =>
  deps.env.SEMANTIC_INDEX.get(
    deps.env.SEMANTIC_INDEX.idFromName(`${deps.tenant}|${target.provider.id}:${target.model}|${embedder.id}`),
  );

// A failed embedding only costs the semantic step: the request goes on, exact caching included.
async function embedPrompt(
  deps: CacheDeps,
  embedder: Embedder,
  prompt: string,
  signal: AbortSignal,
): Promise<Float32Array | null> {
  try {
    return await embedder.embed(prompt, signal);
  } catch (err) {
    const failure = err instanceof ApiError && isUpstreamFailure(err.cause) ? err.cause : undefined;
    deps.log?.warn('semantic cache embedding failed; semantic step skipped', {
      embedder: embedder.id,
      ...(failure
        ? { error_code: (err as ApiError).code, reason: failure.reason, upstream_status: failure.upstreamStatus }
        : { error: describeError(err) }),
    });
    return null;
  }
}

// Whether the semantic step applies (lookup) and so whether a vector is worth keeping (store): above
// the temperature ceiling answers are meant to vary, so a similar prompt is not the same question; an
// empty prompt has nothing to compare; and a prompt with images is not its words alone (the vector sees
// only the words, so "what is in this picture?" would match whatever picture came before).
// A call with tools or a response format is not its words alone either: only its exact twin may answer it.
const wantsVector = (config: Config, request: RouteRequest, prompt: string) =>
  config.SEMANTIC_CACHE_ENABLED &&
  (request.tools === undefined || request.tools.length === 0) &&
  request.toolChoice === undefined &&
  request.responseFormat === undefined &&
  !request.messages.some((m) => m.role === 'tool' || (m.toolCalls !== undefined && m.toolCalls.length > 0)) &&
  (request.temperature ?? 0) <= config.SEMANTIC_CACHE_MAX_TEMPERATURE &&
  prompt.trim() !== '' &&
  imagesOf(request.messages[lastUserIndex(request.messages)]?.content ?? '').length === 0;

async function contextHash(deps: CacheDeps, target: Target, request: RouteRequest): Promise<string> {
  const { context } = lastUser(request);
  return cacheKey({
    ...request,
    messages: context,
    tenant: deps.tenant,
    provider: target.provider.id,
    model: target.model,
  });
}

type StoredAnswer = CachedAnswer & { expiresAt: number };

// KV deletes expired keys only eventually (and keeps at least 60 s); the answer carries its own
// deadline so the TTL holds to the second. Why: docs/design/cache.md#the-ttl-deadline
function parse(raw: string | null): CachedAnswer | undefined {
  if (raw === null) return undefined;
  try {
    const v = JSON.parse(raw) as StoredAnswer;
    if (typeof v.text !== 'string' || typeof v.model !== 'string') return undefined;
    return typeof v.expiresAt === 'number' && v.expiresAt <= Date.now() ? undefined : v;
  } catch {
    return undefined;
  }
}

interface LookupStat {
  hit: boolean;
  ms: number;
  key: string;
}

function summarize(stats: LookupStat[]): LookupBatch {
  const batch: LookupBatch = { hits: 0, misses: 0, responseMs: 0, touched: [] };
  const touched = new Set<string>();
  for (const s of stats) {
    if (s.hit) {
      batch.hits++;
      touched.add(s.key);
    } else batch.misses++;
    batch.responseMs += s.ms;
  }
  batch.touched = [...touched];
  return batch;
}

// Hit statistics leave an isolate in one CacheIndex call per tenant per 20 ms or 100 lookups, instead of
// one object call per lookup. One batcher per namespace binding, each keyed by tenant.
// Why: docs/design/cache.md#cacheindex-entries-counters-eviction
const lookupBatchers = new WeakMap<DurableObjectNamespace<CacheIndex>, MicroBatcher<string, LookupStat>>();

function lookupStats(ns: DurableObjectNamespace<CacheIndex>): MicroBatcher<string, LookupStat> {
  let batcher = lookupBatchers.get(ns);
  if (!batcher) {
    batcher = microBatcher<string, LookupStat>({
      flushAfterMs: 20,
      maxItems: 100,
      write: async (tenant, stats) => {
        await ns.get(ns.idFromName(tenant)).recordLookups(summarize(stats));
      },
    });
    lookupBatchers.set(ns, batcher);
  }
  return batcher;
}

// This isolate's lookups of the tenant not yet counted by its CacheIndex, sent now: whoever reads the
// counters (or the entries' last access) right after its own requests sees them.
const flushLookupStats = (deps: CacheDeps) => lookupStats(deps.env.CACHE_INDEX).flush(deps.tenant);

// Exact lookup first (KV), then the nearest earlier prompt of the same tenant, model and context.
export async function lookup(
  deps: CacheDeps,
  target: Target,
  request: RouteRequest & { signal?: AbortSignal },
  policy: CachePolicy,
): Promise<CacheLookup> {
  const started = performance.now();
  const key = await cacheKey({ ...request, tenant: deps.tenant, provider: target.provider.id, model: target.model });
  const kvKey = kvKeyOf(deps.tenant, key);
  if (!policy.read) return { status: 'BYPASS', key, kvKey, answer: undefined, hit: null, similarity: null };
  let answer = parse(await deps.env.CACHE.get(kvKey));
  let hit: CacheLookup['hit'] = answer ? 'exact' : null;
  let similarity: number | null = answer ? 1 : null;
  let hitKey = kvKey;
  const prompt = lastUser(request).prompt;
  let vector: Float32Array | null | undefined;
  let context: string | undefined;
  if (!answer && policy.semantic && wantsVector(deps.config, request, prompt)) {
    const embedder = embedderFor(deps.config);
    vector = await embedPrompt(deps, embedder, prompt, request.signal ?? new AbortController().signal);
    if (vector) context = await contextHash(deps, target, request);
    const match =
      vector && context !== undefined ? await semanticIndex(deps, target, embedder).nearest(context, vector) : null;
    if (match && match.score >= policy.threshold) {
      answer = parse(await deps.env.CACHE.get(match.key));
      if (answer) {
        hit = 'semantic';
        similarity = Math.round(match.score * 10_000) / 10_000;
        hitKey = match.key;
      }
    }
  }
  const ms = performance.now() - started;
  deps.waitUntil(
    lookupStats(deps.env.CACHE_INDEX)(deps.tenant, { hit: answer !== undefined, ms, key: hitKey }).catch(
      () => undefined,
    ),
  );
  return {
    status: answer ? 'HIT' : 'MISS',
    key,
    kvKey,
    answer,
    hit: answer ? hit : null,
    similarity: answer ? similarity : null,
    vector,
    context,
  };
}

// Written in the background: the caller already has its answer.
export function store(
  deps: CacheDeps,
  target: Target,
  request: RouteRequest,
  found: CacheLookup,
  answer: CachedAnswer,
): Promise<void> {
  const ttl = deps.config.CACHE_TTL_SECONDS;
  const expiresAt = Date.now() + ttl * 1000;
  const body = JSON.stringify({ ...answer, expiresAt } satisfies StoredAnswer);
  const stored = deps.env.CACHE.put(found.kvKey, body, { expirationTtl: ttl });
  const prompt = lastUser(request).prompt;
  const embedder = embedderFor(deps.config);
  const addVector = async () => {
    // Embedded here only when the lookup did not (a bypassed read); never retried after it failed.
    const vector =
      found.vector !== undefined
        ? found.vector
        : wantsVector(deps.config, request, prompt)
          ? await embedPrompt(deps, embedder, prompt, new AbortController().signal)
          : null;
    if (vector) {
      await semanticIndex(deps, target, embedder).add(
        found.kvKey,
        found.context ?? (await contextHash(deps, target, request)),
        vector,
        expiresAt,
      );
    }
  };
  deps.waitUntil(
    (async () => {
      await stored;
      await Promise.all([
        cacheIndex(deps).recordStore(
          {
            kvKey: found.kvKey,
            size: body.length + found.kvKey.length,
            prompt: answer.prompt,
            model: `${answer.provider}:${answer.model}`,
            expiresAt,
          },
          deps.config.CACHE_MAX_BYTES,
        ),
        addVector(),
      ]);
    })().catch(() => undefined),
  );
  return stored.then(
    () => undefined,
    () => undefined,
  );
}

export async function cacheStats(deps: CacheDeps) {
  await flushLookupStats(deps);
  return cacheIndex(deps).stats();
}

export async function clearCache(deps: CacheDeps, pattern: string): Promise<number> {
  // Keys touched by this isolate's pending hits count as recent (their flights are forgotten too).
  await flushLookupStats(deps);
  const { cleared, recent } = await cacheIndex(deps).clear(pattern, FLIGHT_MEMORY_MS);
  await forgetFlights(deps.env, recent);
  return cleared;
}

export function promptOf(request: RouteRequest): string {
  return lastUser(request).prompt;
}
