import { TIMED_OUT, withDeadline } from './deadline';
import { ApiError } from './errors';

export interface SseEncoder<E> {
  event(event: E): string;
  // The in-band terminal frame for a failure after the response has started.
  error(err: ApiError): string;
  // Frames after the last event of a successful stream (e.g. OpenAI's `data: [DONE]`).
  end(): string;
}

export interface SseOptions {
  // How long to wait for the first event before committing to a 200 and sending keep-alives.
  // A failure inside this window still gets a proper HTTP error status.
  holdMs: number;
  keepAliveMs: number;
  // Called when the client goes away; must abort the upstream work (a pending iterator cannot be
  // `return()`ed until its current step settles).
  onCancel(): void;
  headers?: Record<string, string>;
}

export const KEEP_ALIVE_FRAME = ': keep-alive\n\n';
const encoder = new TextEncoder();

type Step<E> = { result: IteratorResult<E> } | { error: unknown };

function settle<E>(p: Promise<IteratorResult<E>>): Promise<Step<E>> {
  return p.then(
    (result) => ({ result }),
    (error: unknown) => ({ error }),
  );
}

function toApiError(err: unknown): ApiError {
  return err instanceof ApiError ? err : new ApiError('INTERNAL_ERROR');
}

// Streams `events` as SSE, relaying each event the moment it arrives (pull-driven, no buffering).
// Every stream ends with a terminal frame: the encoder's end() on success, its error() on failure.
export async function sseResponse<E>(
  events: AsyncIterator<E>,
  enc: SseEncoder<E>,
  opts: SseOptions,
): Promise<Response> {
  let pending: Promise<Step<E>> | undefined = settle(events.next());
  const first = await withDeadline(pending, opts.holdMs);
  if (first !== TIMED_OUT && 'error' in first) throw first.error;

  let closed = false;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (closed) return;
      pending ??= settle(events.next());
      const step = await withDeadline(pending, opts.keepAliveMs);
      if (closed) return;
      if (step === TIMED_OUT) {
        controller.enqueue(encoder.encode(KEEP_ALIVE_FRAME));
        return;
      }
      pending = undefined;
      if ('error' in step) {
        closed = true;
        controller.enqueue(encoder.encode(enc.error(toApiError(step.error))));
        controller.close();
        return;
      }
      if (step.result.done) {
        closed = true;
        controller.enqueue(encoder.encode(enc.end()));
        controller.close();
        return;
      }
      controller.enqueue(encoder.encode(enc.event(step.result.value)));
    },
    cancel() {
      closed = true;
      opts.onCancel();
      void events.return?.(undefined);
    },
  });
  return new Response(stream, {
    status: 200,
    headers: {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
      ...opts.headers,
    },
  });
}

export function sseData(data: unknown, event?: string): string {
  return `${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`;
}
