import {
  type FlightDeps,
  type FlightLine,
  type FlightRef,
  flightRef,
  flightUnavailable,
  type LeaderLink,
  parseLine,
} from './flight';

// Complete mode: plain RPCs. The leader claims and later settles with its result (or error) line;
// a follower's claim returns with that line. Its client leaving releases it at once.

export class CompleteLeader implements LeaderLink {
  private settled!: () => void;
  readonly closed = new Promise<void>((resolve) => (this.settled = resolve));

  constructor(
    private readonly flight: FlightRef,
    private readonly lease: string,
  ) {}

  // null: given up (followers take over). `linger`: late twins may be handed the answer briefly.
  settle(line: FlightLine | null, linger: boolean): Promise<void> {
    this.settled();
    const raw = line === null ? null : JSON.stringify(line);
    return this.flight.stub.settle(this.flight.key, this.lease, raw, linger).catch(() => undefined);
  }

  leaderLeft(): Promise<void> {
    return this.flight.stub.leaderLeft(this.flight.key, this.lease).catch(() => undefined);
  }
}

export type CompleteJoined =
  | { role: 'leader'; channel: CompleteLeader }
  // line undefined: the flight ended without an answer (its leader is gone).
  | { role: 'follower'; line: FlightLine | undefined }
  | { role: 'solo' };

// `leaseMs`: the longest the leader's routed call may take; past it, followers stop waiting.
export async function joinCompleteFlight(
  deps: FlightDeps,
  kvKey: string,
  signal: AbortSignal,
  leaseMs: number,
): Promise<CompleteJoined> {
  try {
    const flight = flightRef(deps.env, 'complete', kvKey);
    const ticket = crypto.randomUUID();
    const onAbort = () => void flight.stub.leave(flight.key, ticket).catch(() => undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const claim = await flight.stub.claimComplete(flight.key, ticket, leaseMs);
      if (claim.role === 'leader') return { role: 'leader', channel: new CompleteLeader(flight, claim.lease) };
      return { role: 'follower', line: claim.line === null ? undefined : parseLine(claim.line) };
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  } catch (err) {
    return flightUnavailable(deps, err);
  }
}
