import type { Config } from '../../config';
import { ApiError } from '../../lib/errors';
import { hasImages, isUpstreamFailure, providerFailure, providerTimeout } from '../providers';
import type { ChatRequest, ChatResult, StreamEvent } from '../providers';
import type { Target } from '../models';

export type RouteRequest = Omit<ChatRequest, 'model'>;

export interface RouteDeps {
  config: Config;
  // Aborted when the client goes away: no retry, no fallback, the upstream call is cancelled.
  signal: AbortSignal;
}

export interface RouteOutcome {
  target: Target;
  attempts: number;
}

export type RoutedEvent = ({ type: 'start' } & RouteOutcome) | StreamEvent;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true });
  });

// Full jitter (AWS architecture blog) keeps retries from many isolates from arriving in lockstep;
// a server's Retry-After is a floor, and one longer than our cap means "go elsewhere".
export function retryDelay(config: Config, retry: number, retryAfterMs: number | undefined): number | undefined {
  if (retryAfterMs !== undefined && retryAfterMs > config.RETRY_MAX_DELAY_MS) return undefined;
  const ceiling = Math.min(config.RETRY_MAX_DELAY_MS, config.RETRY_BASE_DELAY_MS * 2 ** retry);
  return Math.max(retryAfterMs ?? 0, Math.random() * ceiling);
}

// An attempt's deadline that can be pushed back: for streams it is an idle timeout between events.
function deadline(ms: number, parent: AbortSignal) {
  const controller = new AbortController();
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      // The default reason (an AbortError): workerd may surface an aborted body read's internal promise
      // as an unhandled rejection carrying the reason (cloudflare/workerd#501), and that one is known.
      // Whether it was the deadline is told by timedOut(), not by the reason.
      controller.abort();
    }, ms);
  };
  const onParent = () => controller.abort(parent.reason);
  parent.addEventListener('abort', onParent, { once: true });
  arm();
  return {
    signal: controller.signal,
    arm,
    timedOut: () => timedOut,
    dispose: () => (clearTimeout(timer), parent.removeEventListener('abort', onParent)),
  };
}

function classify(err: unknown, target: Target, timedOut: boolean): ApiError {
  if (timedOut) return providerTimeout(target.provider.id);
  if (err instanceof ApiError) return err;
  return providerFailure(target.provider.id, 'unexpected');
}

type Attempt = ReturnType<typeof deadline>;

// Whether a model takes image input: the catalogue marks it 'vision' for the provider that serves it
// (the same id on another provider, e.g. a self-hosted server, is not assumed to see).
export function seesImages(entry: Target['entry'], providerId: string): boolean {
  return entry !== undefined && entry.provider === providerId && entry.capabilities.includes('vision');
}

// Tries each target in order (primary, then fallbacks), retrying retryable failures on the same
// target with backoff. `run` performs one attempt and owns its deadline once it succeeds; the loop
// decides what happens after a failure. A call with images skips targets that cannot see them, as it
// skips unconfigured ones: a fallback must not answer a question about a picture it was never shown.
async function withFailover<T>(
  targets: readonly Target[],
  deps: RouteDeps,
  run: (target: Target, attempt: Attempt, attempts: number) => Promise<T>,
  images = false,
): Promise<T> {
  let attempts = 0;
  let last: ApiError | undefined;
  let blind = 0;
  for (const target of targets) {
    if (!target.provider.isConfigured(deps.config)) continue;
    if (images && !seesImages(target.entry, target.provider.id)) {
      blind++;
      continue;
    }
    for (let retry = 0; retry <= deps.config.RETRY_MAX_RETRIES; retry++) {
      attempts++;
      const attempt = deadline(deps.config.PROVIDER_TIMEOUT_MS, deps.signal);
      try {
        return await run(target, attempt, attempts);
      } catch (err) {
        attempt.dispose();
        if (deps.signal.aborted) throw providerFailure(target.provider.id, 'client-closed');
        last = classify(err, target, attempt.timedOut());
        const failure = isUpstreamFailure(last.cause) ? last.cause : undefined;
        // A hung provider is not asked again (each try would cost a full timeout); fall back instead.
        if (!failure?.retryable || last.code === 'PROVIDER_TIMEOUT' || retry === deps.config.RETRY_MAX_RETRIES) break;
        const delay = retryDelay(deps.config, retry, failure.retryAfterMs);
        if (delay === undefined) break;
        await sleep(delay, deps.signal);
      }
    }
  }
  const none =
    blind > 0
      ? new ApiError('VALIDATION_ERROR', 'No configured model of this call takes image input', {
          details: [{ field: 'model', message: "Images need a model the catalogue marks 'vision'" }],
        })
      : new ApiError('SERVICE_UNAVAILABLE', 'No configured provider can serve this model');
  throw Object.assign(last ?? none, { attempts });
}

// The longest a routed call may take: every attempt of every target at its full deadline, with the
// longest backoff between attempts.
export function routeBudgetMs(config: Config, targets: number): number {
  const retries = config.RETRY_MAX_RETRIES;
  return targets * ((retries + 1) * config.PROVIDER_TIMEOUT_MS + retries * config.RETRY_MAX_DELAY_MS);
}

export function attemptsOf(err: unknown): number {
  return typeof err === 'object' && err !== null && 'attempts' in err && typeof err.attempts === 'number'
    ? err.attempts
    : 1;
}

export async function routeComplete(
  targets: readonly Target[],
  request: RouteRequest,
  deps: RouteDeps,
): Promise<{ result: ChatResult } & RouteOutcome> {
  return withFailover(
    targets,
    deps,
    async (target, attempt, attempts) => {
      const result = await target.provider.complete(
        { ...request, model: target.model },
        { config: deps.config, signal: attempt.signal },
      );
      attempt.dispose();
      return { result, target, attempts };
    },
    hasImages(request.messages),
  );
}

// Failover happens only until the first event arrives; after that the stream is committed to its
// provider and any failure is thrown to the consumer, which must end the stream with an error frame.
export async function* routeStream(
  targets: readonly Target[],
  request: RouteRequest,
  deps: RouteDeps,
): AsyncGenerator<RoutedEvent> {
  const opened = await withFailover(
    targets,
    deps,
    async (target, attempt, attempts) => {
      const events = target.provider.stream(
        { ...request, model: target.model },
        { config: deps.config, signal: attempt.signal },
      );
      const iterator = events[Symbol.asyncIterator]();
      const first = await iterator.next();
      return { iterator, first, target, attempts, attempt };
    },
    hasImages(request.messages),
  );
  // From here the attempt's deadline is an idle timeout: re-armed by every event.
  const { iterator, target, attempt } = opened;
  try {
    yield { type: 'start', target, attempts: opened.attempts };
    if (opened.first.done) throw providerFailure(target.provider.id, 'empty-stream');
    attempt.arm();
    yield opened.first.value;
    for (;;) {
      const next = await iterator.next();
      attempt.arm();
      if (next.done) return;
      yield next.value;
    }
  } catch (err) {
    throw classify(err, target, attempt.timedOut());
  } finally {
    attempt.dispose();
    await iterator.return?.();
  }
}
