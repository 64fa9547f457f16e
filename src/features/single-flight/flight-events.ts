import { ApiError } from '../../lib/errors';
import type { ChatResult } from '../providers';
import { errorOf, type FlightLine } from './flight';
import { type Target, targetOf } from '../models';
import type { RoutedEvent } from '../gateway';

// Routed events and results as flight lines, and back: what crosses the CacheFlight object.

export interface Routed {
  result: ChatResult;
  target: Target;
  attempts: number;
}

export function resultLine(routed: Routed): FlightLine {
  const { target, attempts, result } = routed;
  return { t: 'result', provider: target.provider.id, model: target.model, attempts, result };
}

export function eventLine(event: RoutedEvent): FlightLine {
  if (event.type === 'start') {
    return { t: 'start', provider: event.target.provider.id, model: event.target.model, attempts: event.attempts };
  }
  if (event.type === 'delta') return { t: 'delta', text: event.text };
  if (event.type === 'tool_call') {
    return {
      t: 'tool',
      index: event.index,
      ...(event.id !== undefined ? { id: event.id } : {}),
      ...(event.name !== undefined ? { name: event.name } : {}),
      args: event.argumentsDelta,
    };
  }
  return { t: 'done', model: event.model, finishReason: event.finishReason, usage: event.usage };
}

// The leader's result (undefined: the flight ended without one, its leader is gone), or its failure.
export function followComplete(line: FlightLine | undefined, primary: Target): Routed | undefined {
  if (line?.t === 'result') return { result: line.result, target: targetOf(line, primary), attempts: line.attempts };
  if (line?.t === 'error') throw errorOf(line);
  return undefined;
}

// The leader's stream, told as this follower's own. A flight that ends before its first event is
// taken over by `alone`; one that ends mid-answer is a failure the dialect reports in-band.
export async function* followStream(
  lines: AsyncGenerator<FlightLine>,
  primary: Target,
  alone: () => AsyncIterable<RoutedEvent>,
): AsyncGenerator<RoutedEvent> {
  let started = false;
  for await (const line of lines) {
    switch (line.t) {
      case 'start':
        started = true;
        // The upstream attempts were the leader's, recorded on its row.
        yield { type: 'start', target: targetOf(line, primary), attempts: 0 };
        break;
      case 'delta':
        yield { type: 'delta', text: line.text };
        break;
      case 'tool':
        yield {
          type: 'tool_call',
          index: line.index,
          ...(line.id !== undefined ? { id: line.id } : {}),
          ...(line.name !== undefined ? { name: line.name } : {}),
          argumentsDelta: line.args,
        };
        break;
      case 'done':
        yield { type: 'done', model: line.model, finishReason: line.finishReason, usage: line.usage };
        return;
      case 'error':
        throw errorOf(line);
      case 'result':
        break;
    }
  }
  if (!started) {
    yield* alone();
    return;
  }
  throw new ApiError('PROVIDER_ERROR', 'The shared upstream answer stopped before its end');
}
