import type { Config } from '../../config';
import { ApiError } from '../../lib/errors';
import { estimateTokens } from '../../lib/tokens';
import { providerFailure, providerTimeout, type Provider } from '../providers';
import { hashEmbed, LOCAL_DIMENSIONS } from './hashing';

// Who embeds: a provider and the model it is asked for (a routing Target fits).
export interface EmbeddingTarget {
  provider: Provider;
  model: string;
}

export interface EmbedOptions {
  config: Config;
  // The caller's own signal (the client went away); the deadline below is added to it.
  signal: AbortSignal;
  timeoutMs: number;
  // Wanted length of every vector; absent: the model's own.
  dimensions?: number;
}

export interface Embedded {
  // One per text, in input order, all of one length.
  vectors: Float32Array[];
  // Input tokens as estimated here: Provider.embed does not hand back the vendor's count.
  promptTokens: number;
}

// The semantic index scores by dot product, which is the cosine only for unit vectors; providers do not
// promise unit length (self-hosted models often return raw vectors). Undefined for a zero or non-finite
// vector, which points nowhere.
export function normalize(values: ArrayLike<number>): Float32Array | undefined {
  const v = Float32Array.from(values);
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  if (!Number.isFinite(norm) || norm === 0) return undefined;
  for (let i = 0; i < v.length; i++) v[i] = (v[i] ?? 0) / norm;
  return v;
}

// A hung body read may not notice its signal on its own; the deadline must hold regardless.
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export const promptTokensOf = (texts: readonly string[]) => texts.reduce((n, t) => n + estimateTokens(t), 0);

// A vector longer than asked is shortened the way OpenAI documents for its text-embedding-3 models
// (keep the first `dimensions` values, then scale back to unit length): until Provider.embed can pass
// `dimensions` upstream, this is how an upstream model answers at the asked size. Shorter than asked
// cannot be made up: the upstream answered something else.
function sized(provider: Provider, raw: number[], dimensions: number | undefined): Float32Array {
  if (!raw.every(Number.isFinite)) throw providerFailure(provider.id, 'non-finite-embedding');
  if (dimensions === undefined || raw.length === dimensions) return Float32Array.from(raw);
  if (raw.length < dimensions) throw providerFailure(provider.id, 'dimensions-mismatch');
  const head = raw.slice(0, dimensions);
  return normalize(head) ?? Float32Array.from(head);
}

async function embedUpstream(target: EmbeddingTarget, texts: string[], opts: EmbedOptions): Promise<Float32Array[]> {
  const { provider, model } = target;
  if (!provider.embed) throw new ApiError('SERVICE_UNAVAILABLE', `Provider '${provider.id}' cannot embed`);
  const deadline = AbortSignal.timeout(opts.timeoutMs);
  const combined = AbortSignal.any([opts.signal, deadline]);
  let raw: number[][];
  try {
    raw = await untilAborted(provider.embed(texts, model, { config: opts.config, signal: combined }), combined);
  } catch (err) {
    if (deadline.aborted && !opts.signal.aborted) throw providerTimeout(provider.id);
    if (opts.signal.aborted) throw providerFailure(provider.id, 'client-closed');
    throw err instanceof ApiError ? err : providerFailure(provider.id, 'unexpected');
  }
  // Provider.embed already checks one vector per text, all of one length; this is the rest of the contract.
  if (raw.length !== texts.length) throw providerFailure(provider.id, 'malformed-response');
  return raw.map((v) => sized(provider, v, opts.dimensions));
}

/**
 * One embeddings call, the one path every caller takes: POST /v1/embeddings and the semantic cache's
 * provider embedder. The local provider embeds by hashing (no network); the others through their
 * Provider.embed, under `timeoutMs` and the caller's signal, failures as the gateway's provider errors
 * (502 PROVIDER_ERROR, 504 PROVIDER_TIMEOUT, 503 when the vendor has no embeddings API).
 */
export async function embedTexts(target: EmbeddingTarget, texts: string[], opts: EmbedOptions): Promise<Embedded> {
  const vectors =
    target.provider.id === 'local'
      ? texts.map((t) => hashEmbed(t, opts.dimensions ?? LOCAL_DIMENSIONS))
      : await embedUpstream(target, texts, opts);
  return { vectors, promptTokens: promptTokensOf(texts) };
}
